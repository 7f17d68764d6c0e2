//! # seduta-tests
//!
//! Integration-test support for Seduta: an independent WebRTC peer built on the
//! `webrtc` crate (webrtc-rs) that speaks the documented signaling protocol
//! (`docs/protocol.md`) and publishes synthetic Opus and VP8, so that the SFU is
//! exercised by a stack we did not write.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let media = seduta_tests::media::SyntheticMedia::generate(std::path::Path::new("/tmp"))?;
//! let peer = seduta_tests::peer::WebrtcPeer::join("ws://127.0.0.1:8080/ws/demo", "<jwt>", media).await?;
//! println!("{:?}", peer.received());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod demo;
pub mod http;
pub mod media;
pub mod peer;
pub mod pg;
pub mod process;
pub mod server;
pub mod ws;
