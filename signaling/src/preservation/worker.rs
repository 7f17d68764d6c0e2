//! The thread that makes the preservation copies: one session at a time (the encoder
//! takes every core it is given), in the order the sessions closed. At start it takes
//! up what a previous process left: jobs queued or interrupted, and closed sessions
//! whose recording was never handed over (a crash between the close and the queueing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use seduta_recordings::chapters::write_chapters;
use seduta_recordings::preserve::{self, PreservationRequest, PreservationSettings, PreserveError};
use tokio::runtime::Handle;
use tracing::{info, warn};

use super::markers::markers_from_log;
use super::session_folder;
use crate::service::{RecordingFinished, StoppedRecording};
use crate::store::{SessionStatus, Store};

/// Makes each closed session's chapters and preservation copy in the background.
/// Hand it to [`crate::SignalingConfig::on_recording_finished`].
#[derive(Debug, Clone)]
pub struct Preservation {
    jobs: mpsc::Sender<String>,
}

/// Called on the worker's thread with a session's id once its preservation copy is
/// done or has failed: where the session package is made.
pub type AfterCopy = Arc<dyn Fn(&str) + Send + Sync>;

impl Preservation {
    /// Starts the worker thread for the sessions recorded under `recordings_root`.
    /// Must be called from within a tokio runtime (the worker reads the store
    /// through it).
    pub fn start(
        store: Store,
        recordings_root: PathBuf,
        settings: PreservationSettings,
    ) -> std::io::Result<Self> {
        Self::start_then(store, recordings_root, settings, None)
    }

    /// Like [`Preservation::start`], calling `after` once each copy is done or failed.
    pub fn start_then(
        store: Store,
        recordings_root: PathBuf,
        settings: PreservationSettings,
        after: Option<AfterCopy>,
    ) -> std::io::Result<Self> {
        let runtime = Handle::try_current().map_err(std::io::Error::other)?;
        let (jobs, queue) = mpsc::channel();
        let worker = Worker {
            store,
            root: recordings_root,
            settings,
            runtime,
            after,
        };
        std::thread::Builder::new()
            .name("seduta-preservation".into())
            .spawn(move || worker.run(queue))?;
        Ok(Self { jobs })
    }
}

impl RecordingFinished for Preservation {
    fn finished(&self, stopped: StoppedRecording) {
        if self.jobs.send(stopped.session).is_err() {
            warn!("the preservation worker is gone; the copy will be made at the next start");
        }
    }
}

struct Worker {
    store: Store,
    root: PathBuf,
    settings: PreservationSettings,
    runtime: Handle,
    after: Option<AfterCopy>,
}

impl Worker {
    fn run(self, queue: mpsc::Receiver<String>) {
        self.take_up_leftovers();
        while let Ok(session) = queue.recv() {
            self.preserve(&session);
        }
    }

    /// Jobs queued or interrupted before this start run again; closed sessions with a
    /// recording and no job get one.
    fn take_up_leftovers(&self) {
        if !self.root.is_dir() {
            return;
        }
        match preserve::pending_jobs(&self.root) {
            Ok(dirs) => {
                for dir in dirs {
                    run_job(&dir);
                    if let Some(session) = dir.file_name().and_then(|n| n.to_str()) {
                        self.after_copy(session);
                    }
                }
            }
            Err(e) => warn!(
                code = e.code(),
                "the pending preservation jobs could not be listed"
            ),
        }
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut sessions: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        sessions.sort();
        for session in sessions {
            let Some(dir) = session_folder(&self.root, &session) else {
                continue;
            };
            if matches!(preserve::status(&dir), Ok(Some(_))) {
                continue;
            }
            let closed = self
                .runtime
                .block_on(self.store.session(&session))
                .ok()
                .flatten()
                .is_some_and(|s| s.status == SessionStatus::Closed);
            if closed {
                self.preserve(&session);
            }
        }
    }

    /// Writes the chapters, queues the job and runs it.
    fn preserve(&self, session: &str) {
        let Some(dir) = session_folder(&self.root, session) else {
            warn!(
                session,
                "a session id that cannot name a folder was not preserved"
            );
            return;
        };
        let request = match self.prepare(session, &dir) {
            Ok(request) => request,
            Err(e) => {
                warn!(session, error = %e, "the session's record could not be read for its preservation copy");
                return;
            }
        };
        match unless_busy(|| preserve::enqueue(&dir, request.clone())) {
            Ok(_) => {}
            Err(PreserveError::AlreadyDone(_)) => return self.after_copy(session),
            Err(e @ PreserveError::AlreadyExists(..)) => {
                info!(
                    session,
                    code = e.code(),
                    "the preservation job was already queued"
                );
            }
            Err(e) => {
                warn!(session, code = e.code(), error = %e, "the preservation job could not be queued");
                return;
            }
        }
        run_job(&dir);
        self.after_copy(session);
    }

    fn after_copy(&self, session: &str) {
        if let Some(after) = &self.after {
            after(session);
        }
    }

    /// The chapters (from the sealed log) and the request (tile labels from the
    /// participants' names).
    fn prepare(
        &self,
        session: &str,
        dir: &Path,
    ) -> Result<PreservationRequest, crate::store::StoreError> {
        let (log, agenda, participants) = self.runtime.block_on(async {
            Ok::<_, crate::store::StoreError>((
                self.store.log(session).await?,
                self.store.agenda(session).await?,
                self.store.participants(session).await?,
            ))
        })?;
        let markers = markers_from_log(&log, &agenda);
        if let Err(e) = write_chapters(dir, &markers) {
            // The copy is still made, without chapters; the register says which
            // sources it had.
            warn!(
                session,
                code = e.code(),
                "the session's chapters could not be written"
            );
        }
        let names: BTreeMap<String, String> =
            participants.into_iter().map(|p| (p.id, p.name)).collect();
        Ok(PreservationRequest {
            names,
            settings: self.settings.clone(),
        })
    }
}

/// How often, and how long apart, a job whose lock looks taken is tried again.
const BUSY_RETRIES: u32 = 50;
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs `f` again while the job's lock looks taken, for up to five seconds. The lock
/// file can look taken for an instant after this thread released it: a child process
/// forked meanwhile by another thread (ffmpeg, ffprobe) shares the open file until it
/// execs. Only a lock held for seconds is another process running the job.
fn unless_busy<T>(mut f: impl FnMut() -> Result<T, PreserveError>) -> Result<T, PreserveError> {
    let mut outcome = f();
    for _ in 0..BUSY_RETRIES {
        if !matches!(outcome, Err(PreserveError::Busy(_))) {
            break;
        }
        std::thread::sleep(BUSY_WAIT);
        outcome = f();
    }
    outcome
}

fn run_job(dir: &Path) {
    let session = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    info!(session, "the preservation copy is being made");
    match unless_busy(|| preserve::run(dir, &mut |_| {})) {
        Ok(outcome) => info!(
            session,
            result = ?outcome.result,
            errors = outcome.errors.len(),
            "the preservation copy is done"
        ),
        Err(e) => warn!(session, code = e.code(), "the preservation copy failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_taken_for_an_instant_is_waited_out_and_other_errors_are_not() {
        let mut calls = 0;
        let outcome = unless_busy(|| {
            calls += 1;
            if calls < 3 {
                Err(PreserveError::Busy(PathBuf::from("s")))
            } else {
                Ok(calls)
            }
        });
        assert!(matches!(outcome, Ok(3)));
        let mut calls = 0;
        let outcome: Result<(), _> = unless_busy(|| {
            calls += 1;
            Err(PreserveError::NoJob(PathBuf::from("s")))
        });
        assert!(matches!(outcome, Err(PreserveError::NoJob(_))));
        assert_eq!(calls, 1);
    }
}
