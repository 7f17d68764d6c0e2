//! The preservation-grade copy of the mix: FLAC written live by libFLAC (GStreamer's
//! `flacenc`), one encoded frame per write.

use std::fs::File;
use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::RecordingError;
use crate::mixer::MIX_RATE;
use crate::pipeline::{self, Running};
use crate::sink;

/// Writes 48 kHz mono 16-bit PCM as FLAC, as it comes. Each FLAC frame reaches the
/// file in one write, so a crash leaves whole frames; at a clean close the encoder
/// rewrites the header with the total length and the MD5 of the audio.
pub(crate) struct FlacWriter {
    running: Running,
    /// A handle on the same file, to make it durable (fdatasync).
    file: File,
    path: PathBuf,
    samples: u64,
}

impl FlacWriter {
    /// Creates `path` (which must not exist yet) and starts the encoder.
    pub(crate) fn create(path: &Path) -> Result<Self, RecordingError> {
        pipeline::init()?;
        let file = sink::create_new(path)?;
        let caps = gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .field("rate", MIX_RATE as i32)
            .field("channels", 1i32)
            .field("layout", "interleaved")
            .build();
        let encoder = pipeline::element("flacenc")?;
        let filesink = pipeline::element("filesink")?;
        filesink.set_property("location", path.to_string_lossy().as_ref());
        filesink.set_property_from_str("buffer-mode", "unbuffered");
        filesink.set_property("sync", false);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let running = Running::start(name, pipeline::appsrc(&caps), vec![encoder], filesink)?;
        Ok(Self {
            running,
            file,
            path: path.to_owned(),
            samples: 0,
        })
    }

    /// Appends samples.
    pub(crate) fn write(&mut self, pcm: &[i16]) -> Result<(), RecordingError> {
        if pcm.is_empty() {
            return Ok(());
        }
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(samples_to_time(self.samples));
            buffer.set_duration(samples_to_time(pcm.len() as u64));
        }
        self.samples += pcm.len() as u64;
        self.running.push(buffer)
    }

    /// Makes what the encoder has written durable.
    pub(crate) fn sync(&mut self) -> Result<(), RecordingError> {
        self.running.check()?;
        self.file
            .sync_data()
            .map_err(|e| RecordingError::io(&self.path, e))
    }

    /// Ends the stream (the header gets the length and MD5) and syncs.
    pub(crate) fn finish(self) -> Result<u64, RecordingError> {
        self.running.finish()?;
        self.file
            .sync_data()
            .map_err(|e| RecordingError::io(&self.path, e))?;
        Ok(self.samples)
    }
}

fn samples_to_time(samples: u64) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(samples * 1_000_000_000 / u64::from(MIX_RATE))
}
