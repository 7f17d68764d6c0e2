use crate::protocol::{ErrorCode, Participant, ServerMessage};

use super::ConnId;

/// An effect the room asks its owner to carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomOutput {
    /// Send a message to every connected participant except `except`.
    Broadcast {
        /// Participant id left out (usually the subject of the message).
        except: Option<String>,
        /// The message.
        msg: ServerMessage,
    },
    /// Tell `conn` it is in: the owner sends `joined`, adding the room's current tracks.
    Joined {
        /// The connection.
        conn: ConnId,
        /// The participant itself.
        participant: Participant,
        /// Everyone else, in join order.
        others: Vec<Participant>,
        /// Whether an earlier connection was resumed.
        resumed: bool,
    },
    /// Send `error` with this code and close the connection.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        code: ErrorCode,
    },
    /// Close a connection normally after a `leave`.
    CloseNormal {
        /// The connection.
        conn: ConnId,
    },
    /// Create the participant's media peers (dropping old ones first when `fresh`).
    MediaJoin {
        /// Participant id.
        participant: String,
        /// Drop existing peers first (a resumed connection brings fresh peer connections).
        fresh: bool,
    },
    /// Drop the participant's media peers and tracks.
    MediaLeave {
        /// Participant id.
        participant: String,
    },
    /// Call back with [`super::RoomInput::GraceExpired`] after the grace period.
    StartGraceTimer {
        /// Participant id.
        participant: String,
        /// Echo this in the callback.
        epoch: u64,
    },
    /// The room is empty; its owner may drop it.
    Empty,
}
