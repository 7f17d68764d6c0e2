//! Multi-node: media nodes in their own processes, driven by the control plane over a
//! WebSocket control channel with the same requests and events as in-process.
//!
//! - `wire`: the control channel's messages ([`Request`], [`Response`], [`ToNode`],
//!   [`FromNode`]).
//! - `router`: the control plane's side ([`Router`]): attached nodes, placement of
//!   sessions, requests and events, a lost node's sessions given back to the hub.
//! - `placement`: which node a new session goes to.
//! - `node`: a media node's side ([`run_node`]): dials every control plane, serves
//!   its requests, reports load and recorder figures, drains on shutdown.

mod node;
mod placement;
mod router;
mod wire;

pub use node::{NodeConfig, NodeError, run_node};
pub use router::{AttachError, NODE_LOST, NodeView, Router};
pub use wire::{FromNode, MAX_CONTROL_MESSAGE, NodeStatus, Request, Response, ToNode};
