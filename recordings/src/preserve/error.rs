//! What can go wrong with the preservation job.

use std::path::PathBuf;

/// Why the preservation job did not make its copy. Each has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
pub enum PreserveError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the job (state, register) is not what it should be.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// ffmpeg or ffprobe could not be started.
    #[error("{tool} could not be started (install Debian's ffmpeg package): {source}")]
    ToolMissing {
        /// `ffmpeg` or `ffprobe`.
        tool: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// ffmpeg or ffprobe failed.
    #[error("{tool} failed: {message}")]
    Tool {
        /// `ffmpeg` or `ffprobe`.
        tool: String,
        /// Its exit status and last messages.
        message: String,
    },
    /// There is no preservation job in the folder.
    #[error("no preservation job in {0}")]
    NoJob(PathBuf),
    /// The job is being run by another thread or process.
    #[error("the preservation job in {0} is already running")]
    Busy(PathBuf),
    /// The job is already queued or running, or done (a new one is not queued).
    #[error("the preservation job in {0} already exists ({1})")]
    AlreadyExists(PathBuf, &'static str),
    /// The job is done: its copy exists and is in the register.
    #[error("the preservation job in {0} is done")]
    AlreadyDone(PathBuf),
    /// The job failed before (it is not retried by itself: queue it again).
    #[error("the preservation job in {0} failed before; queue it again to retry")]
    PreviouslyFailed(PathBuf),
    /// The job was interrupted too many times (it may be what brings the service down).
    #[error("the preservation job was interrupted {0} times; not retried")]
    TooManyAttempts(u32),
    /// The settings asked for cannot make a conformant copy.
    #[error("invalid preservation request: {0}")]
    InvalidRequest(String),
    /// The session's mix is missing or cannot be decoded: there is no audio to preserve.
    #[error("the session's audio mix is missing or undecodable: {0}")]
    NoMix(String),
    /// The target already exists although the job is not done: never overwritten.
    #[error("{0} exists but the job is not done: it is not overwritten")]
    TargetExists(PathBuf),
    /// The register exists but is not a well-formed list of entries: it is not touched.
    #[error("the migration register {path} is damaged ({reason}): it is not touched")]
    RegisterDamaged {
        /// The register.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The copy did not pass verification (it is not kept).
    #[error("the preservation copy failed verification: {0}")]
    Verification(String),
}

impl PreserveError {
    /// A stable code for the error, for APIs, the job's state file and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "preserve.io",
            Self::Json { .. } => "preserve.json",
            Self::ToolMissing { .. } => "preserve.tool_missing",
            Self::Tool { .. } => "preserve.tool_failed",
            Self::NoJob(_) => "preserve.no_job",
            Self::Busy(_) => "preserve.busy",
            Self::AlreadyExists(..) => "preserve.already_exists",
            Self::AlreadyDone(_) => "preserve.already_done",
            Self::PreviouslyFailed(_) => "preserve.previously_failed",
            Self::TooManyAttempts(_) => "preserve.too_many_attempts",
            Self::InvalidRequest(_) => "preserve.invalid_request",
            Self::NoMix(_) => "preserve.no_mix",
            Self::TargetExists(_) => "preserve.target_exists",
            Self::RegisterDamaged { .. } => "preserve.register_damaged",
            Self::Verification(_) => "preserve.verification_failed",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Self::Json {
            path: path.into(),
            source,
        }
    }
}
