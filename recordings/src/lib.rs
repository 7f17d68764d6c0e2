//! Recording for Seduta: per-track working masters and the live audio mix.

#![deny(missing_docs)]

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
mod recorder;
mod session;
mod sidecar;
mod sink;
mod track;

pub use clock::{NtpTime, SessionClock};
pub use codec::{Codec, TrackKind, h264_is_keyframe, vp8_is_keyframe};
pub use error::{PushError, RecordingError};
pub use frame::Frame;
pub use mix_writer::{MIX_NAME, MixEnd, MixWriter};
pub use mixer::{MIX_RATE, MixConfig, Mixer, Pushed};
pub use recorder::{
    Recorder, RecorderConfig, RecorderEvent, RecordingSummary, TrackId, TrackSummary,
};
pub use sidecar::{NtpMapping, SenderReport, Sidecar, TrackEnd};
pub use track::{TrackSpec, TrackWriter, Written};
