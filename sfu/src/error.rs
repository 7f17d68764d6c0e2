use thiserror::Error;

/// Why the media plane refused a command.
#[derive(Debug, Error)]
pub enum SfuError {
    /// The SDP could not be parsed.
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    /// The SDP parsed but could not be applied.
    #[error("negotiation failed: {0}")]
    NegotiationFailed(String),
    /// No such participant in that room.
    #[error("unknown participant")]
    UnknownParticipant,
    /// No such track in that room.
    #[error("unknown track")]
    UnknownTrack,
    /// An answer arrived with no offer outstanding.
    #[error("no subscriber offer is outstanding")]
    NoPendingOffer,
    /// The participant is already in the room.
    #[error("the participant has already joined")]
    AlreadyJoined,
    /// The room is already being recorded.
    #[error("the room is already being recorded")]
    AlreadyRecording,
    /// The room is not being recorded.
    #[error("the room is not being recorded")]
    NotRecording,
    /// The media loop has stopped.
    #[error("the media plane is not running")]
    Unavailable,
    /// A socket could not be bound or used.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

impl SfuError {
    /// A stable snake_case code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            SfuError::InvalidSdp(_) => "invalid_sdp",
            SfuError::NegotiationFailed(_) => "negotiation_failed",
            SfuError::UnknownParticipant => "unknown_participant",
            SfuError::UnknownTrack => "unknown_track",
            SfuError::NoPendingOffer => "no_pending_offer",
            SfuError::AlreadyJoined => "already_joined",
            SfuError::AlreadyRecording => "already_recording",
            SfuError::NotRecording => "not_recording",
            SfuError::Unavailable => "sfu_unavailable",
            SfuError::Io(_) => "io",
        }
    }
}
