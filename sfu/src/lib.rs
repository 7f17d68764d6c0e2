//! # seduta-sfu
//!
//! The media plane of Seduta: a selective forwarding unit built on
//! [str0m](https://docs.rs/str0m)'s sans-IO WebRTC peers. One task owns every peer and
//! the sockets (one UDP port for everyone, plus passive ICE-TCP); the control plane
//! drives it through an [`SfuHandle`] and listens to its [`SfuEvent`]s.
//!
//! Each participant has two peer connections: a publisher connection (the browser
//! offers and sends its tracks) and a subscriber connection (the SFU offers and
//! forwards everyone else's tracks). Media is forwarded packet by packet in str0m's RTP
//! mode (payloads shared, never copied or decoded); only the recorder gets whole frames.
//!
//! ```no_run
//! use seduta_sfu::{ParticipantId, RoomId, Sfu, SfuConfig};
//!
//! # async fn run() -> Result<(), seduta_sfu::SfuError> {
//! let (sfu, mut events) = Sfu::start(SfuConfig {
//!     udp_bind: "127.0.0.1:0".parse().expect("address"),
//!     tcp_bind: None,
//!     advertised_ips: vec![],
//!     enable_h264: false,
//! })
//! .await?;
//! let room = RoomId("giunta-2026-03-12".into());
//! sfu.join(room.clone(), ParticipantId("sindaco".into()), true).await?;
//! // The first event is the subscriber offer to relay to the browser.
//! let offer = events.recv().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod api;
pub mod cluster;
mod core;
mod engine;
mod error;
mod forward;
mod gauges;
mod handle;
mod keyframe;
mod layers;
mod negotiate;
mod outbox;
mod participant;
mod peer;
mod quality;
mod record_tap;
mod room;
mod room_recording;
mod rtp;
#[doc(hidden)]
pub mod sansio;
mod sdp;
mod simulcast;
mod speaker;
mod tcp;
mod traffic;
mod udp_batch;
mod vp8;

pub use api::*;
pub use error::{SfuError, WireError};
pub use gauges::MediaGauges;
pub use handle::{Sfu, SfuHandle};
pub use sdp::offer_tracks;
pub use seduta_recordings::Recorder;
pub use traffic::Traffic;

/// The SFU's own parsers of untrusted bytes, exposed only for the fuzz targets
/// (`fuzz/`, see `docs/fuzzing.md`). Not a stable interface.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::rtp::assemble::{AssembledFrame, Assembler, MAX_PACKETS};
    pub use crate::rtp::payload::{
        PacketFacts, PayloadKind, append_frame_bytes, facts, vp8_descriptor_len,
    };
    pub use crate::rtp::rewrite::{Rewriter, Rewritten};
    pub use crate::tcp::{BadFrame, Deframer, MAX_FRAME, frame};
    pub use crate::vp8::keyframe_size;
}
