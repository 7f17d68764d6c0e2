//! The recording's clock: where time zero is (the mix's wall-clock start) and how long
//! the recording lasts.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::error::ChapterError;
use crate::preserve::sidecars::{SourceKind, read_sidecars};

/// The recording's timeline: time zero is the wall-clock start of the session's mix
/// (`mix.json`'s `wall_clock_start`; with several mixes, after a restart of the
/// service, the earliest), and it lasts until the end of the last mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingTimeline {
    /// The wall-clock instant of time zero.
    pub start: SystemTime,
    /// How long the recording lasts from time zero.
    pub duration: Duration,
}

impl RecordingTimeline {
    /// A timeline starting at `start` and lasting `duration`.
    pub fn new(start: SystemTime, duration: Duration) -> Self {
        Self { start, duration }
    }

    /// The timeline of the recording in `dir`, from its mix sidecars. Fails when there
    /// is no mix, or when a mix has no end (its process died: give the length with
    /// [`RecordingTimeline::new`] then).
    pub fn from_session_dir(dir: &Path) -> Result<Self, ChapterError> {
        let (sidecars, _) = read_sidecars(dir).map_err(|e| ChapterError::io(dir, e))?;
        let mixes: Vec<_> = sidecars
            .iter()
            .filter(|s| s.kind == SourceKind::Mix)
            .collect();
        let start = mixes
            .iter()
            .map(|m| m.wall_clock_start())
            .min()
            .ok_or_else(|| ChapterError::NoTimeline("no mix sidecar (mix.json)".into()))?;
        let mut end = start;
        for mix in &mixes {
            let seconds = mix.end.map(|e| e.media_seconds).ok_or_else(|| {
                ChapterError::NoTimeline(format!("{}.json has no end", mix.track))
            })?;
            let length = Duration::try_from_secs_f64(seconds).map_err(|_| {
                ChapterError::NoTimeline(format!("{}.json: bad length {seconds}", mix.track))
            })?;
            end = end.max(mix.wall_clock_start() + length);
        }
        let duration = end.duration_since(start).unwrap_or_default();
        Ok(Self { start, duration })
    }

    /// Where `at` falls on the timeline: before the start clamps to zero, after the
    /// end to the end.
    pub fn offset(&self, at: SystemTime) -> Duration {
        at.duration_since(self.start)
            .unwrap_or_default()
            .min(self.duration)
    }
}
