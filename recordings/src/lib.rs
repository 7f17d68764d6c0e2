//! Recording for Seduta: per-track working masters and the live audio mix.
//!
//! Each session is recorded into one folder:
//!
//! - one **working master per track** (`<track>.webm` for Opus and VP8, `<track>.mkv`
//!   for H.264), written as the frames arrive and without transcoding, in live
//!   Matroska form (a Segment and Clusters of unknown size, appended to and never
//!   rewritten), each write ending on a whole element and the file synced every second:
//!   a process killed at any instant leaves a file that decodes up to its last write.
//!   Time zero is the track's first frame; gaps in its RTP timestamps (DTX, mute, loss)
//!   stay gaps;
//! - next to each, the **sidecar** `<track>.json` ([`Sidecar`]): participant, kind,
//!   codec, wall-clock start (UTC), clock rate, first RTP timestamp and the RTP-to-NTP
//!   mapping of the sender reports, to line the tracks up later;
//! - the **live mix** of every Opus track ([`Mixer`]): decoded, placed on one 48 kHz
//!   timeline by capture time, summed and limited, written as `mix.webm` (Opus) and
//!   `mix.flac` (the preservation-grade copy) with `mix.json`.
//!
//! The SFU drives it all through a [`Recorder`]: one call per received frame, which
//! never blocks (a queue to the session's writer thread).
//!
//! ```
//! use seduta_recordings::{
//!     Codec, Frame, Recorder, RecorderConfig, RecorderEvent, TrackKind, TrackSpec,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("seduta-recording-{}", std::process::id()));
//! let recorder = Recorder::start(RecorderConfig::new(&dir))?;
//! let mic = TrackSpec::new("p1-audio", "p1", TrackKind::Audio, Codec::Opus);
//! let audio = recorder.add_track(mic)?;
//!
//! // For every frame received: its RTP timestamp (unrolled), keyframe flag and payload.
//! let packet = vec![0xf8, 0xff, 0xfe]; // a 20 ms Opus packet
//! recorder.push(audio, Frame::new(0, true, packet))?;
//!
//! // In the SFU's loop: what the recorder asks for.
//! while let Some(event) = recorder.poll_event() {
//!     if let RecorderEvent::KeyframeWanted(_track) = event {
//!         // request a keyframe (PLI) from the track's sender
//!     }
//! }
//!
//! recorder.end_track(audio)?;
//! let summary = recorder.stop()?; // closes every file cleanly
//! assert_eq!(summary.tracks.len(), 1);
//! assert!(dir.join("p1-audio.webm").exists() && dir.join("mix.flac").exists());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! After close, [`chapters`] writes the agenda items, votes and suspensions as
//! `chapters.json` and `chapters.ttml` on the mix's clock, and [`preserve`] makes the
//! preservation copy `preservation.mp4` (H.264 High, FLAC, chapters) with its migration
//! register.
//!
//! Muxing and FLAC encoding are GStreamer's (`webmmux`, `matroskamux`, `h264parse`,
//! `flacenc`, through gstreamer-rs); Opus is libopus (the `opus` crate). See
//! `docs/recording.md`.

#![deny(missing_docs)]

pub mod chapters;
mod clock;
mod codec;
mod ebml;
mod error;
mod flac;
mod frame;
mod limiter;
mod mix_writer;
mod mixer;
mod pipeline;
pub mod preserve;
mod recorder;
mod session;
mod sidecar;
mod sink;
mod stats;
mod storage;
mod track;

pub use clock::{NtpTime, SessionClock};
pub use codec::{Codec, TrackKind, h264_is_keyframe, vp8_is_keyframe};
pub use error::{PushError, RecordingError};
pub use frame::Frame;
pub use mix_writer::{MIX_NAME, MixEnd, MixWriter};
pub use mixer::{MIX_RATE, MixConfig, Mixer, Pushed};
pub use recorder::{
    DEFAULT_MIN_FREE_BYTES, Recorder, RecorderConfig, RecorderEvent, RecordingSummary, TrackId,
    TrackSummary,
};
pub use sidecar::{NtpMapping, SenderReport, Sidecar, TrackEnd};
pub use stats::{RecorderStats, StatsSnapshot};
pub use storage::{free_bytes, is_storage_full};
pub use track::{TrackSpec, TrackWriter, Written};
