//! The signaling protocol: JSON messages over one WebSocket, defined once here.
//!
//! `docs/protocol.md` documents the same types for people writing their own client.
//! Every message is a JSON object whose `type` field names it; field names are
//! `snake_case`; unknown fields are ignored, unknown types are refused.

mod client;
mod error;
mod meeting;
mod recording;
mod server;

pub use client::ClientMessage;
pub use error::{CloseCode, ErrorCode};
pub use meeting::{
    AgendaEntry, Link, MeetingAction, MeetingView, PersonView, VoteResultView, VoteView,
};
pub use recording::{RecordingState, RecordingStatus};
pub use server::{ConnectionState, LeaveReason, Participant, ServerMessage, SpeakerLevel};

/// Largest text frame a client may send, in bytes. SDP with simulcast fits with room.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
