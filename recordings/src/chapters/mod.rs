//! Chapters: agenda items, votes, suspensions and (optionally) speaker turns as spans on
//! the recording's clock, written as `chapters.json` and `chapters.ttml` (TTML, IMSC1
//! text profile) in the session's recording folder.
//!
//! Signaling builds [`Marker`]s from its attendance log (each with the entry's UTC time
//! and an Italian label), and at close calls [`write_chapters`]: time zero is the mix's
//! wall-clock start (`mix.json`), so a chapter's time is a position in `mix.flac`,
//! `mix.webm` and the preservation MP4 (which embeds the chapters too).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use seduta_recordings::chapters::{ChapterList, Marker, MarkerKind, RecordingTimeline};
//!
//! let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_443_800);
//! let timeline = RecordingTimeline::new(start, Duration::from_secs(600));
//! let at = |s| start + Duration::from_secs(s);
//! let markers = vec![
//!     Marker::new(at(60), MarkerKind::AgendaItemStarted, "item-1", "Punto 1: Bilancio"),
//!     Marker::new(at(300), MarkerKind::VoteOpened, "vote-1", "Votazione sul punto 1"),
//!     Marker::new(at(330), MarkerKind::VoteClosed, "vote-1", "Approvato"),
//!     Marker::new(at(340), MarkerKind::AgendaItemEnded, "item-1", "Fine punto 1"),
//! ];
//! let chapters = ChapterList::build(&markers, &timeline)?;
//! assert_eq!(chapters.chapters[0].start_ms, 60_000);
//! assert_eq!(chapters.chapters[1].end_ms, 330_000);
//! assert!(chapters.to_ttml()?.contains(r#"begin="00:05:00.000""#));
//! # Ok::<(), seduta_recordings::chapters::ChapterError>(())
//! ```

mod error;
mod list;
mod marker;
mod timeline;
mod ttml;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use error::ChapterError;
pub use list::{CHAPTERS_FORMAT_VERSION, Chapter, ChapterList, NavigationPoint};
pub use marker::{ChapterKind, Marker, MarkerKind};
pub use timeline::RecordingTimeline;
pub use ttml::{
    IMSC1_TEXT_PROFILE, TTML_METADATA_NS, TTML_NS, TTML_PARAMETER_NS, TTML_STYLING_NS, clock_time,
};

/// The chapters' JSON file in the session folder.
pub const CHAPTERS_JSON: &str = "chapters.json";
/// The chapters' TTML file in the session folder.
pub const CHAPTERS_TTML: &str = "chapters.ttml";

/// Builds the chapters of the recording in `dir` (timeline from its mix sidecars) and
/// writes `chapters.json` and `chapters.ttml` there. Nothing is written when the markers
/// are wrong. Returns the chapters.
pub fn write_chapters(dir: &Path, markers: &[Marker]) -> Result<ChapterList, ChapterError> {
    let timeline = RecordingTimeline::from_session_dir(dir)?;
    let chapters = ChapterList::build(markers, &timeline)?;
    chapters.write_files(dir)?;
    Ok(chapters)
}

impl ChapterList {
    /// Writes `chapters.json` and `chapters.ttml` into `dir`, each atomically
    /// (temporary file, sync, rename): a reader sees the old version or the new one.
    pub fn write_files(&self, dir: &Path) -> Result<(PathBuf, PathBuf), ChapterError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| ChapterError::Json {
            path: dir.join(CHAPTERS_JSON),
            source,
        })?;
        let ttml = self.to_ttml()?;
        let json_path = write_atomically(dir, CHAPTERS_JSON, &json)?;
        let ttml_path = write_atomically(dir, CHAPTERS_TTML, ttml.as_bytes())?;
        Ok((json_path, ttml_path))
    }

    /// Reads `chapters.json` from `dir` (`Ok(None)` when there is none).
    pub fn read(dir: &Path) -> Result<Option<Self>, ChapterError> {
        let path = dir.join(CHAPTERS_JSON);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ChapterError::io(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| ChapterError::Json { path, source })
    }
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ChapterError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let mut file = fs::File::create(&tmp).map_err(|e| ChapterError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| ChapterError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| ChapterError::io(&path, e))?;
    Ok(path)
}
