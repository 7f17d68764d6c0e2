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
    /// The recorder could not start or stop cleanly.
    #[error("recording: {message}")]
    Recording {
        /// Whether the recordings' disk is full (or below its minimum free room).
        storage_full: bool,
        /// What happened.
        message: String,
    },
    /// No media node has room for another session (multi-node).
    #[error("no media node has capacity for this session")]
    NoCapacity,
    /// A remote media node refused the request with a code this side does not know.
    #[error("media node: {message}")]
    Remote {
        /// The node's error code.
        code: String,
        /// The node's message.
        message: String,
    },
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
            SfuError::Recording {
                storage_full: true, ..
            } => "disk_full",
            SfuError::Recording { .. } => "recording_failed",
            SfuError::NoCapacity => "no_media_capacity",
            SfuError::Remote { .. } => "media_node_error",
            SfuError::Unavailable => "sfu_unavailable",
            SfuError::Io(_) => "io",
        }
    }

    /// The error as it travels from a media node to the control plane.
    pub fn to_wire(&self) -> WireError {
        let code = match self {
            SfuError::Remote { code, .. } => code.clone(),
            other => other.code().to_owned(),
        };
        let message = match self {
            SfuError::InvalidSdp(m) | SfuError::NegotiationFailed(m) => m.clone(),
            SfuError::Recording { message, .. } | SfuError::Remote { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        };
        WireError { code, message }
    }

    /// The error a media node sent, as the variant its code names.
    pub fn from_wire(wire: WireError) -> Self {
        let WireError { code, message } = wire;
        match code.as_str() {
            "invalid_sdp" => SfuError::InvalidSdp(message),
            "negotiation_failed" => SfuError::NegotiationFailed(message),
            "unknown_participant" => SfuError::UnknownParticipant,
            "unknown_track" => SfuError::UnknownTrack,
            "no_pending_offer" => SfuError::NoPendingOffer,
            "already_joined" => SfuError::AlreadyJoined,
            "already_recording" => SfuError::AlreadyRecording,
            "not_recording" => SfuError::NotRecording,
            "disk_full" => SfuError::Recording {
                storage_full: true,
                message,
            },
            "recording_failed" => SfuError::Recording {
                storage_full: false,
                message,
            },
            "no_media_capacity" => SfuError::NoCapacity,
            "sfu_unavailable" => SfuError::Unavailable,
            _ => SfuError::Remote { code, message },
        }
    }
}

/// An [`SfuError`] on the control channel: its stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireError {
    /// [`SfuError::code`].
    pub code: String,
    /// What happened.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_crosses_the_wire_as_itself() {
        let errors = [
            SfuError::InvalidSdp("x".into()),
            SfuError::NegotiationFailed("y".into()),
            SfuError::UnknownParticipant,
            SfuError::UnknownTrack,
            SfuError::NoPendingOffer,
            SfuError::AlreadyJoined,
            SfuError::AlreadyRecording,
            SfuError::NotRecording,
            SfuError::Recording {
                storage_full: true,
                message: "full".into(),
            },
            SfuError::Recording {
                storage_full: false,
                message: "gst".into(),
            },
            SfuError::NoCapacity,
            SfuError::Unavailable,
        ];
        for e in errors {
            let back = SfuError::from_wire(e.to_wire());
            assert_eq!(back.code(), e.code());
            assert_eq!(back.to_string(), e.to_string());
        }
        let io = SfuError::Io(std::io::Error::other("boom"));
        let back = SfuError::from_wire(io.to_wire());
        assert_eq!(back.to_wire().code, "io");
    }
}
