//! Messages the server sends to a client.

use seduta_sfu::{Layer, Quality, SubscribedTrack, TrackInfo};
use serde::{Deserialize, Serialize};

use super::{ErrorCode, MeetingView, RecordingState};
use crate::auth::Role;
use crate::meeting::{Lost, Presence};

/// A participant as every client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Stable id (the token's `sub`).
    pub id: String,
    /// Display name (the token's `name`).
    pub name: String,
    /// Role in the session.
    pub role: Role,
    /// Microphone muted.
    pub audio_muted: bool,
    /// Camera off.
    pub video_muted: bool,
    /// `connected`, or `reconnecting` while its connection is lost and the grace period runs.
    pub connection: ConnectionState,
}

/// Whether a participant's signaling connection is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Up.
    Connected,
    /// Lost; the participant keeps its place until the grace period ends.
    Reconnecting,
}

/// Why a participant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It sent `leave`.
    Left,
    /// Its connection was lost and did not come back within the grace period.
    Timeout,
    /// The server removed it.
    Removed,
}

/// One entry of `active_speakers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerLevel {
    /// Who speaks.
    pub participant_id: String,
    /// Smoothed audio level, 0 (silence) to 100 (loudest).
    pub level: u8,
}

/// A message from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `join`: the client is in.
    Joined {
        /// The client itself.
        participant: Participant,
        /// The session (room) id.
        session: String,
        /// Everyone else present, in join order.
        participants: Vec<Participant>,
        /// Tracks already published by the others.
        tracks: Vec<TrackInfo>,
        /// `true` when this join resumed an earlier connection.
        resumed: bool,
        /// How often the client should `ping`, in milliseconds.
        heartbeat_ms: u64,
        /// How long the server keeps a lost participant's place, in milliseconds.
        reconnect_grace_ms: u64,
    },
    /// Someone entered the session.
    ParticipantJoined {
        /// The newcomer.
        participant: Participant,
    },
    /// Someone's mute, camera or connection state changed.
    ParticipantUpdated {
        /// The participant as it is now.
        participant: Participant,
    },
    /// Someone left.
    ParticipantLeft {
        /// Who.
        participant_id: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A track became available.
    TrackPublished {
        /// The track.
        track: TrackInfo,
    },
    /// A track went away.
    TrackUnpublished {
        /// Its id.
        track: String,
        /// Its publisher.
        participant_id: String,
    },
    /// The answer to the client's `publish` offer.
    PublishAnswer {
        /// The SDP answer.
        sdp: String,
    },
    /// An offer for the subscriber peer connection; reply with `subscriber_answer`.
    SubscriberOffer {
        /// The SDP offer.
        sdp: String,
        /// Which track each `mid` carries.
        tracks: Vec<SubscribedTrack>,
    },
    /// The loudest participants now, loudest first (empty: silence).
    ActiveSpeakers {
        /// Speakers and levels.
        speakers: Vec<SpeakerLevel>,
    },
    /// The simulcast layer this client receives for a track changed.
    LayerChanged {
        /// The track.
        track: String,
        /// The layer now received.
        layer: Layer,
    },
    /// A participant's connection quality changed.
    ConnectionQuality {
        /// Whose.
        participant_id: String,
        /// New quality.
        quality: Quality,
    },
    /// The session's state, in full, after every change (and right after `joined`).
    Meeting {
        /// The state.
        state: Box<MeetingView>,
    },
    /// Whether the session is being recorded: to everyone on every change, and right
    /// after `joined` (stored sessions).
    Recording {
        /// Off, recording or paused.
        state: RecordingState,
        /// Since when (RFC 3339 UTC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<String>,
    },
    /// To the segretario: the recording of one track failed (disk full, a media
    /// error); the other tracks go on.
    RecordingFailed {
        /// Whose track.
        participant_id: String,
        /// The track.
        track: String,
        /// What happened (English).
        message: String,
    },
    /// To the segretario: the recording as a whole needs attention. `disk_full`: the
    /// recordings' disk is (nearly) full and the recording was stopped cleanly
    /// (`stopped`); it can be started again once room is made. `mix_failed`: the live
    /// mix failed; the tracks are still recorded.
    RecordingAlarm {
        /// `disk_full` or `mix_failed`.
        code: String,
        /// What happened (English).
        message: String,
        /// Whether the recording was stopped.
        stopped: bool,
    },
    /// Something calls for a suspension: the quorum, the presiding member or the
    /// segretario was lost while the session is open.
    MeetingAlert {
        /// What was lost.
        lost: Lost,
    },
    /// Where this participant stands changed (e.g. admitted from the lobby).
    YourPresence {
        /// The new state.
        presence: Presence,
    },
    /// The answer to an `action`.
    ActionResult {
        /// The `id` of the action.
        id: u64,
        /// Whether it was accepted.
        ok: bool,
        /// Why not: a stable code (`forbidden`, `no_quorum`, `already_voted`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// Why not, in English.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer to `ping`.
    Pong {
        /// The client's `ts`, echoed.
        ts: u64,
    },
    /// Something the client sent was refused, or the server ends the connection.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation (English).
        message: String,
        /// `true`: the server closes the connection right after this message.
        fatal: bool,
    },
}
