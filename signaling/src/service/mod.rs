//! The service: the HTTP router, the WebSocket connections and the hub that owns the rooms.

mod connection;
mod hub;
mod inbound;
mod rate_limit;
mod router;

pub(crate) use hub::{Hub, HubSender, HubTiming};
pub use router::router;
