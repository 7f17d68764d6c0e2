//! The draft verbale: the record's facts in Italian, as a PDF/A-2b document with
//! embedded DejaVu fonts, ready for the segretario to complete and for both
//! signatures.

mod content;
mod layout;
mod pdf;

pub use content::{Block, blocks};
pub use pdf::render_blocks;

use thiserror::Error;

use crate::record::SessionRecord;

/// Why the verbale could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerbaleError {
    /// The bundled font could not be read (a build problem, not an input problem).
    #[error("the bundled font cannot be read")]
    Font,
    /// The PDF writer refused the document (for example a PDF/A rule it checks).
    #[error("PDF/A: {0}")]
    Pdf(String),
}

impl VerbaleError {
    /// A stable code for the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            VerbaleError::Font => "verbale_font",
            VerbaleError::Pdf(_) => "verbale_pdf",
        }
    }
}

/// The draft verbale of `record` as PDF/A-2b bytes; `created_at` (RFC 3339) is
/// the document's creation date in its metadata.
pub fn render(record: &SessionRecord, created_at: &str) -> Result<Vec<u8>, VerbaleError> {
    let title = format!(
        "Verbale della seduta della {} del {} (bozza)",
        record.organ.name, record.date
    );
    render_blocks(&blocks(record), &title, created_at)
}
