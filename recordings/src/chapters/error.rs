//! What can go wrong when chapters are made or read.

use std::path::PathBuf;

/// Why chapters could not be made, written or read. Nothing is written when building
/// fails.
#[derive(Debug, thiserror::Error)]
pub enum ChapterError {
    /// A marker has an empty key or label.
    #[error("marker at index {index} has an empty {field}")]
    EmptyField {
        /// The marker's position in the list given.
        index: usize,
        /// `key` or `label`.
        field: &'static str,
    },
    /// A closing marker without an open span of that key.
    #[error("closing marker {key:?} has no matching opening marker")]
    EndWithoutStart {
        /// The marker's key.
        key: String,
    },
    /// An opening marker whose key is already open.
    #[error("marker {key:?} opens a span that is already open")]
    DuplicateStart {
        /// The marker's key.
        key: String,
    },
    /// A closing marker of another kind than the span it names (e.g. a vote closing an
    /// agenda item).
    #[error("marker {key:?} closes a span of another kind")]
    KindMismatch {
        /// The marker's key.
        key: String,
    },
    /// The recording's sidecars do not give its start or its length.
    #[error("the recording's timeline is unknown: {0}")]
    NoTimeline(String),
    /// A chapters or sidecar file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A chapters or sidecar file is not the JSON expected.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The TTML could not be written.
    #[error("TTML: {0}")]
    Xml(String),
}

impl ChapterError {
    /// A stable code for the error, for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyField { .. } => "chapters.empty_field",
            Self::EndWithoutStart { .. } => "chapters.end_without_start",
            Self::DuplicateStart { .. } => "chapters.duplicate_start",
            Self::KindMismatch { .. } => "chapters.kind_mismatch",
            Self::NoTimeline(_) => "chapters.no_timeline",
            Self::Io { .. } => "chapters.io",
            Self::Json { .. } => "chapters.json",
            Self::Xml(_) => "chapters.xml",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
