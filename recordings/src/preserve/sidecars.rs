//! Reading a session folder's sidecars back (`<track>.json`, `mix.json`): what the
//! preservation job and the chapters need to place every file on one timeline.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// What a working master carries, as its sidecar says (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A participant's microphone.
    Audio,
    /// A participant's camera.
    Video,
    /// A participant's screen share.
    Screen,
    /// The live mix.
    Mix,
}

/// The part of a sidecar that places its file on the session's timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct SidecarRecord {
    /// The track's name (the sidecar's and the file's stem).
    pub track: String,
    /// The working master's file name.
    pub file: String,
    /// The preservation-grade copy beside it (the mix's FLAC).
    #[serde(default)]
    pub preservation_file: Option<String>,
    /// The participant's id (empty for the mix).
    #[serde(default)]
    pub participant: String,
    /// What the track carries.
    pub kind: SourceKind,
    /// The codec of the working master.
    pub codec: String,
    /// When the file's time zero happened, in nanoseconds since the Unix epoch.
    pub wall_clock_start_unix_ns: u128,
    /// How the track ended (absent if the recording process died).
    #[serde(default)]
    pub end: Option<SidecarEnd>,
}

/// The end of a track, as its sidecar says.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct SidecarEnd {
    /// Seconds of media from time zero to the end of the last frame.
    pub media_seconds: f64,
    /// Whether the file was closed cleanly.
    pub clean: bool,
}

impl SidecarRecord {
    /// The wall-clock time of the file's time zero.
    pub fn wall_clock_start(&self) -> SystemTime {
        let secs = u64::try_from(self.wall_clock_start_unix_ns / 1_000_000_000).unwrap_or(u64::MAX);
        let nanos = u32::try_from(self.wall_clock_start_unix_ns % 1_000_000_000).unwrap_or(0);
        UNIX_EPOCH + Duration::new(secs, nanos)
    }
}

/// A JSON file that looks like a sidecar but cannot be read as one.
#[derive(Debug, Clone)]
pub struct SidecarProblem {
    /// The file's name in the session folder.
    pub file: String,
    /// What is wrong with it.
    pub error: String,
}

/// Every sidecar in `dir` (sorted by file name), and the JSON files that have a sidecar's
/// `track` and `wall_clock_start_unix_ns` fields but do not read as one. Other JSON
/// files (chapters, register, job state) are not sidecars and are left out.
pub fn read_sidecars(
    dir: &Path,
) -> Result<(Vec<SidecarRecord>, Vec<SidecarProblem>), std::io::Error> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
        .collect();
    names.sort();
    let mut sidecars = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        let bytes = match fs::read(dir.join(&name)) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push(SidecarProblem {
                    file: name,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            // Not JSON at all: a sidecar is written atomically, so this is not one.
            continue;
        };
        if value.get("track").is_none() || value.get("wall_clock_start_unix_ns").is_none() {
            continue;
        }
        match serde_json::from_value::<SidecarRecord>(value) {
            Ok(sidecar) => sidecars.push(sidecar),
            Err(e) => problems.push(SidecarProblem {
                file: name,
                error: e.to_string(),
            }),
        }
    }
    Ok((sidecars, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_reads_back_with_its_nanosecond_start() {
        let json = r#"{"track":"p1-video","file":"p1-video.webm","participant":"p1",
            "kind":"video","codec":"vp8","container":"webm","clock_rate":90000,
            "wall_clock_start":"2026-03-02T09:30:00.123456789Z",
            "wall_clock_start_unix_ns":1772443800123456789,"first_rtp_timestamp":1,
            "ntp_mapping":null,"end":{"frames":1,"last_rtp_timestamp":1,"media_seconds":2.5,
            "out_of_order_dropped":0,"skipped_before_keyframe":0,"clean":true}}"#;
        let sidecar: SidecarRecord = serde_json::from_str(json).expect("a sidecar");
        assert_eq!(sidecar.kind, SourceKind::Video);
        let since = sidecar
            .wall_clock_start()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970");
        assert_eq!(since, Duration::new(1_772_443_800, 123_456_789));
        assert_eq!(sidecar.end.map(|e| e.media_seconds), Some(2.5));
    }
}
