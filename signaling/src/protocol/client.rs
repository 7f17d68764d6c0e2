//! Messages a browser (or any client) sends to the server.

use seduta_sfu::PublishedTrackInfo;
use serde::{Deserialize, Serialize};

use super::MeetingAction;

/// A message from client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message on every connection: authenticates and enters the session.
    Join {
        /// The join token (JWT) from the invitation link.
        token: String,
        /// `true` when reconnecting after a lost connection: the participant keeps
        /// its place and the others see no leave.
        #[serde(default)]
        resume: bool,
    },
    /// An SDP offer of the publisher peer connection (first publish or renegotiation).
    Publish {
        /// The offer.
        sdp: String,
        /// Every transceiver that sends, by `mid`.
        tracks: Vec<PublishedTrackInfo>,
    },
    /// The answer to the latest `subscriber_offer`.
    SubscriberAnswer {
        /// The answer.
        sdp: String,
    },
    /// The client's microphone and camera switches.
    MediaState {
        /// Microphone muted.
        audio_muted: bool,
        /// Camera off.
        video_muted: bool,
    },
    /// What the client wants of one remote video track.
    Subscribe {
        /// The track id.
        track: String,
        /// Tallest picture wanted, in pixels; absent means no limit.
        #[serde(default)]
        max_height: Option<u32>,
        /// `true` stops the track (its tile is hidden).
        #[serde(default)]
        paused: bool,
    },
    /// Keepalive; the server answers `pong` with the same `ts`.
    Ping {
        /// Any number chosen by the client, echoed back.
        ts: u64,
    },
    /// Leaves the session for good.
    Leave,
    /// An action on the meeting (lobby, presence, agenda, votes); answered by
    /// `action_result` with the same `id`.
    Action {
        /// Chosen by the client, echoed in `action_result`.
        id: u64,
        /// The action.
        action: MeetingAction,
    },
}

impl ClientMessage {
    /// The message's `type` string, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Join { .. } => "join",
            ClientMessage::Publish { .. } => "publish",
            ClientMessage::SubscriberAnswer { .. } => "subscriber_answer",
            ClientMessage::MediaState { .. } => "media_state",
            ClientMessage::Subscribe { .. } => "subscribe",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::Leave => "leave",
            ClientMessage::Action { .. } => "action",
        }
    }
}
