//! The room domain: who is in a session and in which state, as a sans-IO state machine.
//!
//! [`Room::handle`] takes one [`RoomInput`] and returns the [`RoomOutput`]s the caller
//! must carry out (messages to send, media-plane calls, timers). It never does I/O, so
//! the rules are tested without sockets.

mod input;
mod output;
mod state;

pub use input::{ConnId, RoomInput};
pub use output::RoomOutput;
pub use state::Room;
