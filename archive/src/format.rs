//! File formats as the manifest and the SInCRO index declare them.

use serde::{Deserialize, Serialize};

/// A file's format: its media type and the name AgID's Allegato 2 uses for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFormat {
    /// Media type (`video/mp4`).
    pub mime: String,
    /// Format name (`MP4 (H.264 High, FLAC)`), as declared by who made the file.
    pub name: String,
}

impl FileFormat {
    /// A format with the given media type and name.
    pub fn new(mime: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            mime: mime.into(),
            name: name.into(),
        }
    }

    /// MP4 container (the preservation copy).
    pub fn mp4() -> Self {
        Self::new("video/mp4", "MP4")
    }

    /// FLAC audio.
    pub fn flac() -> Self {
        Self::new("audio/flac", "FLAC")
    }

    /// WebM working master (not fit for preservation; kept as the source of the migration).
    pub fn webm() -> Self {
        Self::new("video/webm", "WebM")
    }

    /// TTML timed text.
    pub fn ttml() -> Self {
        Self::new("application/ttml+xml", "TTML")
    }

    /// JSON.
    pub fn json() -> Self {
        Self::new("application/json", "JSON")
    }

    /// JSON Lines.
    pub fn jsonl() -> Self {
        Self::new("application/jsonl", "JSON Lines")
    }

    /// CSV.
    pub fn csv() -> Self {
        Self::new("text/csv", "CSV")
    }

    /// XML.
    pub fn xml() -> Self {
        Self::new("application/xml", "XML")
    }

    /// PDF/A-2b.
    pub fn pdf_a2b() -> Self {
        Self::new("application/pdf", "PDF/A-2b")
    }
}
