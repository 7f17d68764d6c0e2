//! The messages of the control channel between the control plane and a media node.
//!
//! A [`Request`] is exactly what the control plane asks of an in-process SFU through
//! [`SfuHandle`](crate::SfuHandle); the node answers each with a [`Response`] (or a
//! [`WireError`]) and sends its [`SfuEvent`]s unchanged. One JSON text frame per
//! message.

use serde::{Deserialize, Serialize};

use seduta_recordings::{RecordingSummary, StatsSnapshot};

use crate::api::{
    Audience, ParticipantId, PublishedTrackInfo, RecordingSpec, RoomId, SfuEvent,
    SubscriptionPrefs, TrackId, TrackInfo,
};
use crate::error::WireError;
use crate::gauges::MediaGauges;

/// Largest control-channel message either side accepts (an SDP with many m-lines is
/// a few tens of KiB).
pub const MAX_CONTROL_MESSAGE: usize = 1024 * 1024;

/// Everything the control plane may ask of the media plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// [`SfuHandle::join`](crate::SfuHandle::join) and `join_publish_only`.
    Join {
        /// Room.
        room: RoomId,
        /// Who joins.
        participant: ParticipantId,
        /// Whether it may receive media now.
        can_subscribe: bool,
        /// A WHIP encoder: no subscriber connection.
        publish_only: bool,
    },
    /// [`SfuHandle::publish`](crate::SfuHandle::publish).
    Publish {
        /// Room.
        room: RoomId,
        /// The publisher.
        participant: ParticipantId,
        /// Its offer.
        sdp: String,
        /// Its sending transceivers.
        tracks: Vec<PublishedTrackInfo>,
    },
    /// [`SfuHandle::subscriber_answer`](crate::SfuHandle::subscriber_answer).
    SubscriberAnswer {
        /// Room.
        room: RoomId,
        /// The subscriber.
        participant: ParticipantId,
        /// Its answer.
        sdp: String,
    },
    /// [`SfuHandle::set_subscription`](crate::SfuHandle::set_subscription).
    SetSubscription {
        /// Room.
        room: RoomId,
        /// The subscriber.
        participant: ParticipantId,
        /// The track.
        track: TrackId,
        /// What it wants of it.
        prefs: SubscriptionPrefs,
    },
    /// [`SfuHandle::set_can_subscribe`](crate::SfuHandle::set_can_subscribe).
    SetCanSubscribe {
        /// Room.
        room: RoomId,
        /// The participant.
        participant: ParticipantId,
        /// Whether it may receive media.
        can_subscribe: bool,
    },
    /// [`SfuHandle::set_audience`](crate::SfuHandle::set_audience).
    SetAudience {
        /// Room.
        room: RoomId,
        /// The publisher.
        participant: ParticipantId,
        /// Who receives its tracks.
        audience: Audience,
    },
    /// [`SfuHandle::leave`](crate::SfuHandle::leave).
    Leave {
        /// Room.
        room: RoomId,
        /// Who leaves.
        participant: ParticipantId,
    },
    /// [`SfuHandle::tracks`](crate::SfuHandle::tracks).
    Tracks {
        /// Room.
        room: RoomId,
    },
    /// [`SfuHandle::media_gauges`](crate::SfuHandle::media_gauges).
    MediaGauges,
    /// [`SfuHandle::start_recording`](crate::SfuHandle::start_recording).
    StartRecording {
        /// Room.
        room: RoomId,
        /// The recorder to create.
        spec: RecordingSpec,
    },
    /// [`SfuHandle::stop_recording`](crate::SfuHandle::stop_recording).
    StopRecording {
        /// Room.
        room: RoomId,
    },
    /// [`SfuHandle::set_recording_paused`](crate::SfuHandle::set_recording_paused).
    SetRecordingPaused {
        /// Room.
        room: RoomId,
        /// Pause or resume.
        paused: bool,
    },
    /// [`SfuHandle::set_recorded`](crate::SfuHandle::set_recorded).
    SetRecorded {
        /// Room.
        room: RoomId,
        /// The participant.
        participant: ParticipantId,
        /// Whether its tracks are recorded.
        recorded: bool,
    },
}

impl Request {
    /// The room the request concerns (`None`: the whole media plane).
    pub fn room(&self) -> Option<&RoomId> {
        match self {
            Request::Join { room, .. }
            | Request::Publish { room, .. }
            | Request::SubscriberAnswer { room, .. }
            | Request::SetSubscription { room, .. }
            | Request::SetCanSubscribe { room, .. }
            | Request::SetAudience { room, .. }
            | Request::Leave { room, .. }
            | Request::Tracks { room }
            | Request::StartRecording { room, .. }
            | Request::StopRecording { room }
            | Request::SetRecordingPaused { room, .. }
            | Request::SetRecorded { room, .. } => Some(room),
            Request::MediaGauges => None,
        }
    }

    /// Whether the request may create its room where it does not exist yet.
    pub fn creates_room(&self) -> bool {
        matches!(self, Request::Join { .. } | Request::StartRecording { .. })
    }
}

/// A successful answer to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// Done; nothing to return.
    Done,
    /// The SDP answer to a publisher offer.
    Answer {
        /// The answer.
        sdp: String,
    },
    /// A room's tracks.
    Tracks {
        /// Published tracks.
        tracks: Vec<TrackInfo>,
    },
    /// The media plane's gauges.
    Gauges {
        /// Gauges.
        gauges: MediaGauges,
    },
    /// The recording was stopped and its files closed (`None`: it was not recorded).
    RecordingStopped {
        /// What was written.
        summary: Option<RecordingSummary>,
    },
}

/// What the control plane sends a media node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToNode {
    /// Carry out `request` and reply with the same `id`.
    Request {
        /// Correlates the reply.
        id: u64,
        /// What to do.
        request: Request,
    },
}

/// How loaded a media node is, as it reports itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Rooms on the node.
    pub rooms: u64,
    /// Participants on the node.
    pub participants: u64,
    /// The node takes no new rooms and leaves once its rooms have ended.
    pub draining: bool,
}

/// What a media node sends the control plane.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromNode {
    /// The first message on a link.
    Hello {
        /// The node's stable name (its host name, a pod name).
        node: String,
        /// How many participants it takes at most.
        capacity: u64,
        /// Its load now.
        status: NodeStatus,
    },
    /// The answer to the request `id`.
    Reply {
        /// The request's id.
        id: u64,
        /// Its outcome.
        result: Result<Response, WireError>,
    },
    /// An event of the node's media plane.
    Event {
        /// The event, as an in-process SFU emits it.
        event: SfuEvent,
    },
    /// The node's load (every second) or a change of its drain state.
    Status {
        /// Load and drain state.
        status: NodeStatus,
    },
    /// A room's recorder's figures (every second while it records).
    RecordingStats {
        /// Room.
        room: RoomId,
        /// Figures.
        stats: StatsSnapshot,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_json() {
        let req = ToNode::Request {
            id: 7,
            request: Request::Join {
                room: RoomId("s1".into()),
                participant: ParticipantId("p".into()),
                can_subscribe: false,
                publish_only: false,
            },
        };
        let text = serde_json::to_string(&req).expect("serialize");
        assert!(text.contains("\"type\":\"request\""));
        let ToNode::Request { id, request } = serde_json::from_str(&text).expect("parse");
        assert_eq!(id, 7);
        assert!(request.creates_room());
        assert_eq!(request.room(), Some(&RoomId("s1".into())));

        let reply = FromNode::Reply {
            id: 7,
            result: Err(WireError {
                code: "already_joined".into(),
                message: "x".into(),
            }),
        };
        let text = serde_json::to_string(&reply).expect("serialize");
        let back: FromNode = serde_json::from_str(&text).expect("parse");
        assert!(matches!(
            back,
            FromNode::Reply {
                id: 7,
                result: Err(_)
            }
        ));
    }

    #[test]
    fn garbage_is_refused_not_guessed() {
        for bad in [
            "",
            "{}",
            "{\"type\":\"request\"}",
            "{\"type\":\"request\",\"id\":1,\"request\":{\"request\":\"explode\"}}",
            "[1,2]",
        ] {
            assert!(serde_json::from_str::<ToNode>(bad).is_err(), "{bad}");
        }
    }
}
