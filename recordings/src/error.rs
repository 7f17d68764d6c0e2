//! The errors of the recordings crate.

use std::path::PathBuf;

/// What went wrong while recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// GStreamer could not be initialised (its libraries or plugins are missing).
    #[error("GStreamer could not start: {0}")]
    GstInit(String),
    /// A GStreamer element needed for recording is not installed.
    #[error("GStreamer element {0} is missing (install gstreamer1.0-plugins-good and -bad)")]
    MissingElement(&'static str),
    /// A media pipeline failed while writing a file.
    #[error("media pipeline writing {file}: {message}")]
    Pipeline {
        /// The file the pipeline writes.
        file: String,
        /// GStreamer's message.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A recording file already exists: recordings are never overwritten.
    #[error("{0} already exists: recordings are never overwritten")]
    AlreadyExists(PathBuf),
    /// A track name that cannot be used as a file name.
    #[error(
        "track name {0:?} is not usable as a file name (letters, digits, '-', '_', '.'; 1 to 100 characters)"
    )]
    InvalidTrackName(String),
    /// The Opus codec refused a packet or a setting.
    #[error("Opus: {0}")]
    Opus(#[from] opus::Error),
    /// The sidecar JSON could not be written.
    #[error("sidecar JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The recordings' disk has less free room than the recording needs to start.
    #[error(
        "the recordings' disk has {free_bytes} bytes free, less than the {min_free_bytes} a recording needs"
    )]
    StorageLow {
        /// Free bytes on the disk.
        free_bytes: u64,
        /// The minimum configured.
        min_free_bytes: u64,
    },
    /// The recorder's thread ended abnormally.
    #[error("the recorder's thread panicked")]
    ThreadPanicked,
}

impl RecordingError {
    /// Whether this error means the recordings' disk (or quota) is full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::Io { source, .. } => crate::storage::is_storage_full(source),
            // GStreamer reports a message only ("No space left on the resource.").
            Self::Pipeline { message, .. } => message.contains("No space left"),
            Self::StorageLow { .. } => true,
            _ => false,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why the recorder did not take a frame or a command (the caller never blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The recorder's queue is full: the writer is behind, and this item was dropped.
    #[error("the recorder's queue is full: item dropped")]
    Full,
    /// The recorder has stopped.
    #[error("the recorder has stopped")]
    Stopped,
}
