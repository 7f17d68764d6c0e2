//! The sidecar JSON written next to each track (`<track>.json`): what is needed to line
//! the track up with the others and with the session's clock later.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::clock::{NtpTime, rfc3339, unix_nanos};
use crate::codec::TrackKind;
use crate::error::RecordingError;
use crate::track::TrackSpec;

/// The sidecar of one track.
#[derive(Debug, Clone, Serialize)]
pub struct Sidecar {
    /// The track's name (the file stem).
    pub track: String,
    /// The working master's file name, next to the sidecar.
    pub file: String,
    /// The preservation-grade copy written alongside, if any (the mix's FLAC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preservation_file: Option<String>,
    /// Who the track belongs to (the participant's id in the session).
    pub participant: String,
    /// What the track carries.
    pub kind: TrackKind,
    /// The codec of the working master: `opus`, `vp8` or `h264`.
    pub codec: String,
    /// The container: `webm` or `matroska`.
    pub container: String,
    /// The RTP clock rate of the timestamps below.
    pub clock_rate: u32,
    /// When the first written frame arrived, UTC (RFC 3339). Time zero of the file.
    pub wall_clock_start: String,
    /// The same instant in nanoseconds since the Unix epoch.
    pub wall_clock_start_unix_ns: u128,
    /// The RTP timestamp (unrolled to 64 bits) of the first written frame: time zero of
    /// the file. A frame's time in the file is `(rtp - first_rtp_timestamp) / clock_rate`.
    pub first_rtp_timestamp: u64,
    /// The sender's RTP-to-NTP mapping from RTCP sender reports, once one has come.
    pub ntp_mapping: Option<NtpMapping>,
    /// How the track ended; absent while it is being written (or if the process died).
    pub end: Option<TrackEnd>,
}

/// One RTP timestamp and the sender's NTP time for it (an RTCP sender report).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SenderReport {
    /// The RTP timestamp, unrolled to 64 bits like the frames'.
    pub rtp_timestamp: u64,
    /// The sender's NTP timestamp (64-bit fixed point).
    pub ntp: NtpTime,
}

/// The sender reports that map RTP time to the sender's NTP clock: the first and the
/// latest (two points give the clock's drift too).
#[derive(Debug, Clone, Serialize)]
pub struct NtpMapping {
    /// The first sender report.
    pub first: SenderReport,
    /// The first one's NTP time as UTC (RFC 3339), when it is after 1970.
    pub first_ntp_time: Option<String>,
    /// The latest sender report.
    pub latest: SenderReport,
    /// How many sender reports came.
    pub reports: u64,
}

/// How a track ended.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TrackEnd {
    /// Frames written.
    pub frames: u64,
    /// The RTP timestamp of the last written frame.
    pub last_rtp_timestamp: u64,
    /// Seconds of media from time zero to the end of the last frame.
    pub media_seconds: f64,
    /// Frames dropped because their timestamp went backwards (late or duplicated).
    pub out_of_order_dropped: u64,
    /// Video frames skipped while waiting for the first keyframe.
    pub skipped_before_keyframe: u64,
    /// Whether the file was closed cleanly (end of stream written).
    pub clean: bool,
}

impl Sidecar {
    /// The sidecar of a track whose working master `file` starts at `start`, with the
    /// frame of RTP timestamp `first_rtp_timestamp`.
    pub(crate) fn new(
        spec: &TrackSpec,
        file: String,
        start: SystemTime,
        first_rtp_timestamp: u64,
    ) -> Self {
        let container = if file.ends_with(".webm") {
            "webm"
        } else {
            "matroska"
        };
        Self {
            track: spec.name.clone(),
            file,
            preservation_file: None,
            participant: spec.participant.clone(),
            kind: spec.kind,
            codec: spec.codec.name().to_owned(),
            container: container.to_owned(),
            clock_rate: spec.clock_rate,
            wall_clock_start: rfc3339(start),
            wall_clock_start_unix_ns: unix_nanos(start),
            first_rtp_timestamp,
            ntp_mapping: None,
            end: None,
        }
    }

    /// Takes a sender report into the mapping.
    pub(crate) fn add_sender_report(&mut self, report: SenderReport) {
        match &mut self.ntp_mapping {
            Some(mapping) => {
                mapping.latest = report;
                mapping.reports += 1;
            }
            None => {
                self.ntp_mapping = Some(NtpMapping {
                    first: report,
                    first_ntp_time: report.ntp.to_system_time().map(rfc3339),
                    latest: report,
                    reports: 1,
                });
            }
        }
    }

    /// Writes the sidecar to `<dir>/<track>.json` atomically (temporary file, sync,
    /// rename), so that a crash leaves the previous version or the new one.
    pub(crate) fn save(&self, dir: &Path) -> Result<PathBuf, RecordingError> {
        let path = dir.join(format!("{}.json", self.track));
        let tmp = dir.join(format!(".{}.json.partial", self.track));
        let json = serde_json::to_vec_pretty(self)?;
        let mut file = fs::File::create(&tmp).map_err(|e| RecordingError::io(&tmp, e))?;
        file.write_all(&json)
            .and_then(|()| file.sync_data())
            .map_err(|e| RecordingError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| RecordingError::io(&path, e))?;
        Ok(path)
    }
}
