use crate::auth::Claims;

/// Identifies one WebSocket connection, distinct from the participant it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Something that happened to a room.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomInput {
    /// A connection presented valid claims for this room.
    Join {
        /// The connection.
        conn: ConnId,
        /// Its verified claims.
        claims: Claims,
    },
    /// The participant on `conn` asked to leave.
    Leave {
        /// The connection.
        conn: ConnId,
    },
    /// The signaling connection `conn` closed or went silent.
    ConnectionLost {
        /// The connection.
        conn: ConnId,
    },
    /// The grace period started at `epoch` for `participant` ended.
    GraceExpired {
        /// Whose.
        participant: String,
        /// The epoch the timer was started for; stale timers are ignored.
        epoch: u64,
    },
    /// The server removes `participant` (the segretario removed them, or their
    /// invitation was revoked); their connection is closed with `code`.
    Remove {
        /// Whose seat.
        participant: String,
        /// The error code the connection is closed with.
        code: crate::protocol::ErrorCode,
    },
    /// Microphone and camera switches of the participant on `conn`.
    MediaState {
        /// The connection.
        conn: ConnId,
        /// Microphone muted.
        audio_muted: bool,
        /// Camera off.
        video_muted: bool,
    },
}
