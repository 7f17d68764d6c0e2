//! The service: the HTTP router, the WebSocket connections and the hub that owns the rooms.

pub(crate) mod admission;
pub mod client_limits;
mod connection;
pub(crate) mod host;
mod hub;
// pub(crate) only so that lib.rs can re-export `parse` for the fuzz targets.
pub(crate) mod inbound;
mod probes;
mod rate_limit;
mod router;
mod whip;

pub(crate) use hub::{ActionError, Hub, HubCommand, HubSender, HubTiming};
pub use hub::{RecordingFinished, RecordingSetup, StoppedRecording};
pub use router::router;
