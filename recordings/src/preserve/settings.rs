//! What the caller asks of the preservation job: the names on the tiles and the
//! encoding settings. Kept in the job's state file, so a restarted job makes the same
//! copy.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::PreserveError;

/// The preservation copy's encoding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreservationSettings {
    /// Width of the composite, at least 1280.
    pub width: u32,
    /// Height of the composite, at least 720.
    pub height: u32,
    /// Frames per second: 25.
    pub fps: u32,
    /// x264's preset. `veryfast` or slower keeps CABAC and 8x8 transforms, i.e. the
    /// High profile; `ultrafast`/`superfast` would fall back to Constrained Baseline and
    /// fail verification, so they are refused.
    pub preset: String,
    /// x264's constant rate factor (lower is better; 18–23 is visually lossless to good).
    pub crf: u8,
    /// Encoder threads (0: as many as x264 wants).
    pub threads: u32,
    /// The niceness of the ffmpeg processes (0–19): the job yields to the live service.
    pub nice: i32,
    /// The ffmpeg program (default: `ffmpeg` on the PATH).
    pub ffmpeg: PathBuf,
    /// The ffprobe program (default: `ffprobe` on the PATH).
    pub ffprobe: PathBuf,
}

impl Default for PreservationSettings {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 25,
            preset: "veryfast".into(),
            crf: 21,
            threads: 0,
            nice: 10,
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
        }
    }
}

const PRESETS: [&str; 8] = [
    "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
];

impl PreservationSettings {
    /// Checks that the settings can make a conformant copy.
    pub fn validate(&self) -> Result<(), PreserveError> {
        if self.width < 1280 || self.height < 720 {
            return Err(PreserveError::InvalidRequest(format!(
                "{}x{} is below 1280x720",
                self.width, self.height
            )));
        }
        if !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
            || self.width > 7680
            || self.height > 4320
        {
            return Err(PreserveError::InvalidRequest(format!(
                "{}x{} must be even and at most 7680x4320",
                self.width, self.height
            )));
        }
        if self.fps != 25 {
            return Err(PreserveError::InvalidRequest(format!(
                "{} fps: the preservation copy is 25 fps",
                self.fps
            )));
        }
        if !PRESETS.contains(&self.preset.as_str()) {
            return Err(PreserveError::InvalidRequest(format!(
                "x264 preset {:?} (one of {})",
                self.preset,
                PRESETS.join(", ")
            )));
        }
        if self.crf > 51 || !(0..=19).contains(&self.nice) || self.threads > 64 {
            return Err(PreserveError::InvalidRequest(
                "crf 0–51, nice 0–19, threads 0–64".into(),
            ));
        }
        Ok(())
    }
}

/// A request for a session's preservation copy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreservationRequest {
    /// The label of each participant's tile: participant id (as in the sidecars) →
    /// display name (e.g. `p3` → `Assessore Maria Rossi`). A participant missing from
    /// the map is labelled with the id.
    pub names: BTreeMap<String, String>,
    /// The encoding settings.
    #[serde(default)]
    pub settings: PreservationSettings,
}

impl PreservationRequest {
    /// A request with the default settings.
    pub fn new(names: BTreeMap<String, String>) -> Self {
        Self {
            names,
            settings: PreservationSettings::default(),
        }
    }
}
