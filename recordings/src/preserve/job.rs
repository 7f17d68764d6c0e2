//! The job itself: queue, run (check the sources, compose, verify, put in place,
//! register), recover after a restart.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::WORK_DIR;
use super::compose::compose;
use super::error::PreserveError;
use super::hash::sha256_file;
use super::register::{
    MigrationResult, RegisterEntry, SourceRecord, append_entry, read_register, sync_dir,
};
use super::settings::PreservationRequest;
use super::sources::inventory;
use super::state::{JobError, JobLock, JobState, JobStatus, Stage, TARGET_FILE, Verified};
use super::tool::{ToolVersion, ffmpeg_version, run_ffmpeg, x264_signature};
use super::verify::verify;
use crate::clock::rfc3339;

/// A job interrupted this many times is not started again.
pub const MAX_ATTEMPTS: u32 = 3;

/// How often the progress is written to the state file.
const PROGRESS_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Each stage's share of the whole job (the rest is finishing).
const WEIGHT_CHECK: f64 = 0.05;
const WEIGHT_COMPOSE: f64 = 0.80;
const WEIGHT_VERIFY: f64 = 0.14;

/// Each job's folder and what became of it, as [`resume_pending`] answers.
pub type JobResults = Vec<(PathBuf, Result<PreservationOutcome, PreserveError>)>;

/// How far a job has come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The current stage.
    pub stage: Stage,
    /// The fraction of the whole job done, 0 to 1 (from ffmpeg's position reports).
    pub fraction: f64,
}

/// What a finished job made.
#[derive(Debug, Clone, PartialEq)]
pub struct PreservationOutcome {
    /// The preservation copy (`<session>/preservation.mp4`).
    pub target: PathBuf,
    /// Its SHA-256 (lowercase hex), as in the register.
    pub sha256: String,
    /// `Ok`, or `OkWithErrors` when sources were missing or damaged.
    pub result: MigrationResult,
    /// The errors the register records for this migration.
    pub errors: Vec<String>,
}

fn now() -> String {
    rfc3339(SystemTime::now())
}

/// Queues the preservation job of the session recorded in `dir` (writes
/// `preservation.job.json`). A job that failed is queued again; one that is queued,
/// running or done is left as it is (an error says which).
pub fn enqueue(dir: &Path, request: PreservationRequest) -> Result<JobStatus, PreserveError> {
    request.settings.validate()?;
    let _lock = JobLock::try_take(dir)?;
    match JobStatus::read(dir)?.map(|s| s.state) {
        None | Some(JobState::Failed) => {}
        Some(JobState::Queued) => {
            return Err(PreserveError::AlreadyExists(dir.to_path_buf(), "queued"));
        }
        Some(JobState::Running) => {
            return Err(PreserveError::AlreadyExists(
                dir.to_path_buf(),
                "interrupted",
            ));
        }
        Some(JobState::Done) => return Err(PreserveError::AlreadyDone(dir.to_path_buf())),
    }
    let status = JobStatus::queued(request, now());
    status.save(dir, true)?;
    Ok(status)
}

/// The job's state in `dir`, if there is a job (for a progress display: `progress` is
/// kept up to date in the file while the job runs).
pub fn status(dir: &Path) -> Result<Option<JobStatus>, PreserveError> {
    JobStatus::read(dir)
}

/// The session folders under `recordings_root` whose job is queued or was interrupted.
pub fn pending_jobs(recordings_root: &Path) -> Result<Vec<PathBuf>, PreserveError> {
    let mut dirs = Vec::new();
    let entries =
        fs::read_dir(recordings_root).map_err(|e| PreserveError::io(recordings_root, e))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        if let Ok(Some(status)) = JobStatus::read(&dir)
            && matches!(status.state, JobState::Queued | JobState::Running)
        {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// At startup: runs, one after the other, every job under `recordings_root` that is
/// queued or was interrupted (an interrupted job is entered in the register as such and
/// restarts from the beginning). Blocking: call it from a thread of its own. Returns each
/// job's folder and result; a job another process is running answers
/// [`PreserveError::Busy`].
pub fn resume_pending(
    recordings_root: &Path,
    on_progress: &mut dyn FnMut(&Path, Progress),
) -> Result<JobResults, PreserveError> {
    let mut results = Vec::new();
    for dir in pending_jobs(recordings_root)? {
        let result = run(&dir, &mut |p| on_progress(&dir, p));
        results.push((dir, result));
    }
    Ok(results)
}

/// Runs the queued (or interrupted) job in `dir` to the end: blocking, for minutes on a
/// long session; call it from a thread of its own. `on_progress` hears every position
/// ffmpeg reports.
pub fn run(
    dir: &Path,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<PreservationOutcome, PreserveError> {
    if JobStatus::read(dir)?.is_none() {
        return Err(PreserveError::NoJob(dir.to_path_buf()));
    }
    let _lock = JobLock::try_take(dir)?;
    let mut status =
        JobStatus::read(dir)?.ok_or_else(|| PreserveError::NoJob(dir.to_path_buf()))?;
    match status.state {
        JobState::Done => return Err(PreserveError::AlreadyDone(dir.to_path_buf())),
        JobState::Failed => return Err(PreserveError::PreviouslyFailed(dir.to_path_buf())),
        JobState::Queued => {}
        JobState::Running => {
            // Nobody holds the lock: the process that ran it died.
            if let Some(outcome) = finish_verified(dir, &mut status)? {
                return Ok(outcome);
            }
            register_interruption(dir, &status)?;
            remove_leftovers(dir, &status);
            if status.attempts >= MAX_ATTEMPTS {
                let error = PreserveError::TooManyAttempts(status.attempts);
                mark_failed(dir, &mut status, &error)?;
                return Err(error);
            }
        }
    }
    status.attempts += 1;
    status.state = JobState::Running;
    status.started = Some(now());
    status.finished = None;
    status.stage = Some(Stage::CheckingSources);
    status.progress = 0.0;
    status.partial = Some(format!(
        ".preservation.attempt-{}.mp4.partial",
        status.attempts
    ));
    status.verified = None;
    status.error = None;
    status.save(dir, true)?;

    // The folder's name is the session's id: no personal data.
    let session = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    tracing::info!(
        ?session,
        attempt = status.attempts,
        "preservation job started"
    );
    let mut log = AttemptLog::default();
    match attempt(dir, &mut status, &mut log, on_progress) {
        Ok(outcome) => {
            tracing::info!(?session, result = ?outcome.result, "preservation copy made and verified");
            Ok(outcome)
        }
        Err(error) => {
            tracing::warn!(?session, code = error.code(), "preservation job failed");
            let entry = RegisterEntry {
                time: now(),
                started: status.started.clone().unwrap_or_default(),
                attempt: status.attempts,
                operation: OPERATION.into(),
                system: system(),
                tool: log.tool.clone(),
                encoder_settings: log.encoder_settings.clone(),
                sources: log.sources.clone(),
                target: None,
                result: MigrationResult::Failed,
                errors: vec![format!("{}: {error}", error.code())],
            };
            remove_leftovers(dir, &status);
            // The failure is recorded even if the register cannot take it; the state
            // file then says why.
            let registered = append_entry(dir, &entry);
            mark_failed(dir, &mut status, &error)?;
            registered?;
            Err(error)
        }
    }
}

const OPERATION: &str = "migration (riversamento) of the working masters to the \
                         preservation copy: grid composite of the video tracks, the audio \
                         mix, the chapters; MP4, H.264 High, FLAC";

fn system() -> String {
    format!("Seduta {} (seduta-recordings)", env!("CARGO_PKG_VERSION"))
}

/// What an attempt learnt, for the register entry if it fails.
#[derive(Debug, Default)]
struct AttemptLog {
    tool: Option<ToolVersion>,
    encoder_settings: String,
    sources: Vec<SourceRecord>,
}

fn attempt(
    dir: &Path,
    status: &mut JobStatus,
    log: &mut AttemptLog,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<PreservationOutcome, PreserveError> {
    let request = status.request.clone();
    let settings = &request.settings;
    settings.validate()?;
    log.tool = Some(ffmpeg_version(&settings.ffmpeg)?);
    let target = dir.join(TARGET_FILE);
    if target.exists() {
        return Err(PreserveError::TargetExists(target));
    }
    let work = dir.join(WORK_DIR);
    let _ = fs::remove_dir_all(&work);
    fs::create_dir(&work).map_err(|e| PreserveError::io(&work, e))?;
    let partial = status.partial.clone().unwrap_or_default();

    let mut reporter = Reporter::new(dir, on_progress);
    let inventory = inventory(dir, settings, &mut |f| {
        reporter.report(status, Stage::CheckingSources, f * WEIGHT_CHECK)
    })?;
    log.sources = inventory.records.clone();
    if let Some(error) = inventory.no_mix() {
        return Err(error);
    }

    let composition = compose(dir, &inventory, &request, &partial)?;
    log.encoder_settings = composition.encoder_settings.clone();
    let total = inventory.length.as_secs_f64().max(0.04);
    let out = run_ffmpeg(
        &settings.ffmpeg,
        dir,
        &composition.args,
        settings.nice,
        &mut |pos| {
            let f = (pos.as_secs_f64() / total).min(1.0);
            reporter.report(status, Stage::Composing, WEIGHT_CHECK + f * WEIGHT_COMPOSE)
        },
    )?;
    let mut errors: Vec<String> = inventory
        .records
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.name)))
        .collect();
    if !out.stderr.trim().is_empty() {
        errors.push(format!(
            "ffmpeg reported while composing: {}",
            out.stderr.trim()
        ));
    }

    let mut target_record = verify(dir, &partial, &inventory, settings, &mut |f| {
        reporter.report(
            status,
            Stage::Verifying,
            WEIGHT_CHECK + WEIGHT_COMPOSE + f * WEIGHT_VERIFY,
        )
    })?;
    reporter.report(
        status,
        Stage::Finishing,
        WEIGHT_CHECK + WEIGHT_COMPOSE + WEIGHT_VERIFY,
    );

    let partial_path = dir.join(&partial);
    if let Some(tool) = log.tool.as_mut() {
        tool.encoder = x264_signature(&partial_path);
    }
    fs::File::open(&partial_path)
        .and_then(|f| f.sync_all())
        .map_err(|e| PreserveError::io(&partial_path, e))?;
    let (sha256, size) =
        sha256_file(&partial_path).map_err(|e| PreserveError::io(&partial_path, e))?;
    target_record.name = TARGET_FILE.into();
    target_record.sha256 = sha256.clone();
    target_record.size = size;
    let result = if errors.is_empty() {
        MigrationResult::Ok
    } else {
        MigrationResult::OkWithErrors
    };
    let entry = RegisterEntry {
        time: String::new(),
        started: status.started.clone().unwrap_or_default(),
        attempt: status.attempts,
        operation: OPERATION.into(),
        system: system(),
        tool: log.tool.clone(),
        encoder_settings: composition.encoder_settings,
        sources: inventory.records,
        target: Some(target_record),
        result,
        errors,
    };
    status.verified = Some(Verified { sha256, entry });
    status.save(dir, true)?;
    finish_verified(dir, status)?.ok_or_else(|| {
        PreserveError::Verification(
            "the verified copy disappeared before it was put in place".into(),
        )
    })
}

/// Puts a verified copy in place, registers it and marks the job done; `Ok(None)` when
/// there is no verified copy to finish (then the job starts again).
fn finish_verified(
    dir: &Path,
    status: &mut JobStatus,
) -> Result<Option<PreservationOutcome>, PreserveError> {
    let Some(verified) = status.verified.clone() else {
        return Ok(None);
    };
    let target = dir.join(TARGET_FILE);
    let in_place = target.exists()
        && sha256_file(&target)
            .map(|(sha, _)| sha == verified.sha256)
            .unwrap_or(false);
    if !in_place {
        let Some(partial) = status.partial.as_deref().map(|p| dir.join(p)) else {
            return Ok(None);
        };
        let intact = sha256_file(&partial)
            .map(|(sha, _)| sha == verified.sha256)
            .unwrap_or(false);
        if !intact || target.exists() {
            return Ok(None);
        }
        fs::rename(&partial, &target).map_err(|e| PreserveError::io(&target, e))?;
        sync_dir(dir)?;
    }
    let already = read_register(dir)?.iter().any(|e| {
        e.attempt == verified.entry.attempt
            && e.target.as_ref().map(|t| t.sha256.as_str()) == Some(verified.sha256.as_str())
    });
    let mut entry = verified.entry.clone();
    if !already {
        entry.time = now();
        append_entry(dir, &entry)?;
    }
    status.state = JobState::Done;
    status.stage = None;
    status.progress = 1.0;
    status.finished = Some(now());
    status.save(dir, true)?;
    let _ = fs::remove_dir_all(dir.join(WORK_DIR));
    Ok(Some(PreservationOutcome {
        target,
        sha256: verified.sha256,
        result: entry.result,
        errors: entry.errors,
    }))
}

fn register_interruption(dir: &Path, status: &JobStatus) -> Result<(), PreserveError> {
    let entry = RegisterEntry {
        time: now(),
        started: status.started.clone().unwrap_or_default(),
        attempt: status.attempts,
        operation: OPERATION.into(),
        system: system(),
        tool: None,
        encoder_settings: String::new(),
        sources: Vec::new(),
        target: None,
        result: MigrationResult::Interrupted,
        errors: vec![format!(
            "attempt {} was interrupted at {:.0} % ({:?}): the service stopped; the job \
             restarts from the beginning and its partial output is deleted",
            status.attempts,
            status.progress * 100.0,
            status.stage
        )],
    };
    append_entry(dir, &entry).map(|_| ())
}

fn remove_leftovers(dir: &Path, status: &JobStatus) {
    if let Some(partial) = &status.partial {
        let _ = fs::remove_file(dir.join(partial));
    }
    let _ = fs::remove_dir_all(dir.join(WORK_DIR));
}

fn mark_failed(
    dir: &Path,
    status: &mut JobStatus,
    error: &PreserveError,
) -> Result<(), PreserveError> {
    status.state = JobState::Failed;
    status.stage = None;
    status.finished = Some(now());
    status.verified = None;
    status.error = Some(JobError {
        code: error.code().into(),
        message: error.to_string(),
    });
    status.save(dir, true).map(|_| ())
}

/// Hands progress to the caller and, twice a second, to the state file.
struct Reporter<'a> {
    dir: &'a Path,
    on_progress: &'a mut dyn FnMut(Progress),
    last_save: Option<Instant>,
}

impl<'a> Reporter<'a> {
    fn new(dir: &'a Path, on_progress: &'a mut dyn FnMut(Progress)) -> Self {
        Self {
            dir,
            on_progress,
            last_save: None,
        }
    }

    fn report(&mut self, status: &mut JobStatus, stage: Stage, fraction: f64) {
        let stage_changed = status.stage != Some(stage);
        status.stage = Some(stage);
        status.progress = fraction.clamp(0.0, 1.0);
        (self.on_progress)(Progress {
            stage,
            fraction: status.progress,
        });
        let due = self
            .last_save
            .is_none_or(|t| t.elapsed() >= PROGRESS_SAVE_INTERVAL);
        if stage_changed || due {
            // Progress is informative: a failed write does not stop the job.
            let _ = status.save(self.dir, false);
            self.last_save = Some(Instant::now());
        }
    }
}
