//! The file a Matroska muxer writes into: whole elements only, synced on request.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gstreamer as gst;
use gstreamer_app as gst_app;

use crate::ebml;
use crate::error::RecordingError;

/// A recording file fed by a muxer through an `appsink`. Each write(2) ends on a whole
/// EBML element, so a process killed at any instant leaves a file that ends cleanly.
#[derive(Clone)]
pub(crate) struct EbmlFile {
    state: Arc<Mutex<State>>,
}

struct State {
    file: File,
    path: PathBuf,
    pending: Vec<u8>,
    written: u64,
    error: Option<String>,
    /// A write failed because the disk is full.
    full: bool,
}

impl EbmlFile {
    /// Creates `path`, which must not exist yet.
    pub(crate) fn create(path: &Path) -> Result<Self, RecordingError> {
        let file = create_new(path)?;
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                file,
                path: path.to_owned(),
                pending: Vec::new(),
                written: 0,
                error: None,
                full: false,
            })),
        })
    }

    /// An `appsink` that writes what it receives into this file.
    pub(crate) fn appsink(&self) -> gst_app::AppSink {
        let state = Arc::clone(&self.state);
        let callbacks = gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                lock(&state)
                    .append(map.as_slice())
                    .map(|()| gst::FlowSuccess::Ok)
                    .map_err(|_| gst::FlowError::Error)
            })
            .build();
        gst_app::AppSink::builder()
            .sync(false)
            .callbacks(callbacks)
            .build()
    }

    /// Makes what has been written durable (fdatasync).
    pub(crate) fn sync(&self) -> Result<(), RecordingError> {
        let state = lock(&self.state);
        state
            .file
            .sync_data()
            .map_err(|e| RecordingError::io(&state.path, e))
    }

    /// Writes whatever is still held back (at the end of the stream) and syncs.
    pub(crate) fn finish(&self) -> Result<(), RecordingError> {
        let mut state = lock(&self.state);
        let rest = std::mem::take(&mut state.pending);
        if !rest.is_empty() {
            state.write(&rest)?;
        }
        state
            .file
            .sync_data()
            .map_err(|e| RecordingError::io(&state.path, e))
    }

    /// Bytes written to the file so far.
    pub(crate) fn written(&self) -> u64 {
        lock(&self.state).written
    }

    /// `error`, or the full disk behind it: the muxer only reports that its sink
    /// failed, which would hide why.
    pub(crate) fn explain(&self, error: RecordingError) -> RecordingError {
        let state = lock(&self.state);
        if state.full {
            let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
            return RecordingError::io(&state.path, full);
        }
        error
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }
}

impl State {
    fn append(&mut self, bytes: &[u8]) -> Result<(), RecordingError> {
        self.pending.extend_from_slice(bytes);
        let complete = ebml::complete_prefix(&self.pending);
        if complete == 0 {
            return Ok(());
        }
        let ready: Vec<u8> = self.pending.drain(..complete).collect();
        self.write(&ready)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), RecordingError> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.written += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // A part of the element may have been written (a full disk): cut it
                // off, so the file still ends on a whole element and decodes cleanly.
                let _ = self.file.set_len(self.written);
                let _ = self.file.seek(SeekFrom::Start(self.written));
                self.error.get_or_insert_with(|| e.to_string());
                self.full |= crate::storage::is_storage_full(&e);
                Err(RecordingError::io(&self.path, e))
            }
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creates a file that must not exist yet: a recording is never overwritten.
pub(crate) fn create_new(path: &Path) -> Result<File, RecordingError> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => RecordingError::AlreadyExists(path.to_owned()),
            _ => RecordingError::io(path, e),
        })
}
