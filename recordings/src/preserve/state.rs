//! The job's state file (`preservation.job.json` in the session folder), so that a job
//! survives a restart of the service, and the lock that says whether it is running now.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::PreserveError;
use super::register::RegisterEntry;
use super::settings::PreservationRequest;

/// The job's state file.
pub const JOB_FILE: &str = "preservation.job.json";
/// The lock file: held (flock) by whoever runs the job; the OS lets go when it dies.
pub const LOCK_FILE: &str = "preservation.job.lock";
/// The preservation copy's file name.
pub const TARGET_FILE: &str = "preservation.mp4";

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting to run.
    Queued,
    /// Running — or, when nobody holds the lock, interrupted.
    Running,
    /// Done: the copy is in place and in the register.
    Done,
    /// Failed: no copy (see `error`); queue it again to retry.
    Failed,
}

/// The stage a running job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Hashing and probing the sources, decoding the mix.
    CheckingSources,
    /// ffmpeg composes and encodes the copy.
    Composing,
    /// The copy is probed and decoded end to end.
    Verifying,
    /// The copy is hashed, put in place and registered.
    Finishing,
}

/// The copy that passed verification, before it is put in place (so that a restart
/// between the two does not redo the work).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    /// SHA-256 of the verified file.
    pub sha256: String,
    /// The register entry to append once the file is in place.
    pub entry: RegisterEntry,
}

/// An error as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    /// The stable code ([`PreserveError::code`]).
    pub code: String,
    /// The message.
    pub message: String,
}

/// The content of `preservation.job.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The format's version.
    pub version: u32,
    /// Where the job is.
    pub state: JobState,
    /// What was asked.
    pub request: PreservationRequest,
    /// When it was queued (UTC).
    pub created: String,
    /// How many attempts were started.
    pub attempts: u32,
    /// When the current (or last) attempt started (UTC).
    pub started: Option<String>,
    /// When it ended (UTC).
    pub finished: Option<String>,
    /// The stage of the current attempt.
    pub stage: Option<Stage>,
    /// How much of the job is done, 0 to 1 (from ffmpeg's position reports).
    pub progress: f64,
    /// The current attempt's temporary output, in the session folder.
    pub partial: Option<String>,
    /// Set once the temporary output passed verification.
    pub verified: Option<Verified>,
    /// Why the job failed.
    pub error: Option<JobError>,
}

impl JobStatus {
    pub(crate) fn queued(request: PreservationRequest, now: String) -> Self {
        Self {
            version: 1,
            state: JobState::Queued,
            request,
            created: now,
            attempts: 0,
            started: None,
            finished: None,
            stage: None,
            progress: 0.0,
            partial: None,
            verified: None,
            error: None,
        }
    }

    /// Reads the job's state in `dir` (`Ok(None)` when there is no job).
    pub fn read(dir: &Path) -> Result<Option<Self>, PreserveError> {
        let path = dir.join(JOB_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PreserveError::json(path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PreserveError::io(path, e)),
        }
    }

    /// Writes the state atomically; `durable` also syncs it (state changes; progress
    /// updates need not be).
    pub(crate) fn save(&self, dir: &Path, durable: bool) -> Result<PathBuf, PreserveError> {
        let path = dir.join(JOB_FILE);
        let tmp = dir.join(format!(".{JOB_FILE}.partial"));
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| PreserveError::json(&path, e))?;
        let mut file = fs::File::create(&tmp).map_err(|e| PreserveError::io(&tmp, e))?;
        file.write_all(&bytes)
            .and_then(|()| if durable { file.sync_data() } else { Ok(()) })
            .map_err(|e| PreserveError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| PreserveError::io(&path, e))?;
        if durable {
            super::register::sync_dir(dir)?;
        }
        Ok(path)
    }
}

/// The lock on a job, held while it runs.
#[derive(Debug)]
pub(crate) struct JobLock {
    _file: fs::File,
}

impl JobLock {
    /// Takes the lock, or fails with [`PreserveError::Busy`] if someone holds it.
    pub(crate) fn try_take(dir: &Path) -> Result<Self, PreserveError> {
        let path = dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| PreserveError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(PreserveError::Busy(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => Err(PreserveError::io(path, e)),
        }
    }
}
