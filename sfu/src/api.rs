//! The contract between the control plane and the media plane.
//!
//! Everything the signaling service may ask of the SFU is a [`Command`] sent through
//! a [`SfuHandle`]; everything the SFU tells the control plane is an [`SfuEvent`].
//! The same types travel in-process today and over a control channel in a
//! multi-node deployment, so they are plain data and serde-serializable.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Identifies a room (one Giunta session) on this SFU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoomId(pub String);

/// Identifies a participant inside a room. Stable across reconnections.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ParticipantId(pub String);

/// Identifies a published track: `"<participant>/<publisher mid>"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrackId(pub String);

/// Which of a participant's two peer connections something refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    /// The browser offers; carries the participant's own tracks to the SFU.
    Publisher,
    /// The SFU offers; carries everyone else's tracks to the participant.
    Subscriber,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// An Opus audio track.
    Audio,
    /// A VP8 or H.264 video track.
    Video,
}

/// What a published track shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    /// The participant's microphone.
    Microphone,
    /// The participant's camera.
    Camera,
    /// A shared screen or window.
    Screen,
}

/// A simulcast layer, by the `rid` the browser uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// rid `q`: a quarter of the full resolution.
    Low,
    /// rid `h`: half of the full resolution.
    Medium,
    /// rid `f`, or the only layer of a non-simulcast track.
    High,
}

/// Who receives a participant's published tracks.
///
/// A track of publisher P reaches subscriber S only when S may subscribe at all
/// (`can_subscribe`, false in the lobby) and P's audience admits S. A participant
/// waiting in the lobby is published to the segretario alone with
/// `Only(vec![segretario])`, so that the segretario can identify it on camera.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every participant that may subscribe (the default at join).
    #[default]
    Everyone,
    /// Only these participants (an empty list: no one).
    Only(Vec<ParticipantId>),
}

impl Audience {
    /// Whether `subscriber` may receive the publisher's tracks under this audience.
    pub fn admits(&self, subscriber: &ParticipantId) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Only(list) => list.contains(subscriber),
        }
    }
}

/// What the publisher announces about one of its transceivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTrackInfo {
    /// The `mid` of the transceiver in the publisher's offer.
    pub mid: String,
    /// Audio or video.
    pub kind: TrackKind,
    /// Microphone, camera or screen.
    pub source: TrackSource,
}

/// A track as the control plane and other participants see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The track's id.
    pub id: TrackId,
    /// Who publishes it.
    pub participant: ParticipantId,
    /// Audio or video.
    pub kind: TrackKind,
    /// Microphone, camera or screen.
    pub source: TrackSource,
    /// `true` when the publisher sends more than one simulcast layer.
    pub simulcast: bool,
    /// Negotiated codec name in lower case: `opus`, `vp8`, `h264`.
    pub codec: String,
}

/// One m-line in a subscriber offer and the track it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedTrack {
    /// The `mid` in the subscriber offer.
    pub mid: String,
    /// The forwarded track.
    pub track: TrackId,
    /// Who publishes it.
    pub participant: ParticipantId,
    /// Audio or video.
    pub kind: TrackKind,
    /// Microphone, camera or screen.
    pub source: TrackSource,
}

/// What a subscriber asks for one video track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionPrefs {
    /// The tallest picture the subscriber wants, in pixels; `None` means no limit.
    pub max_height: Option<u32>,
    /// `true` stops forwarding this track to the subscriber (tile hidden).
    pub paused: bool,
}

/// Coarse connection quality, from loss, RTT and the bandwidth estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Little loss, ample bandwidth.
    Excellent,
    /// Some loss or a reduced layer.
    Good,
    /// Heavy loss or the lowest layer only.
    Poor,
    /// No media flowing.
    Lost,
}

/// Connection state of one peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost the path; it may come back.
    Disconnected,
    /// The peer is gone: closed, timed out, panicked or sent garbage.
    Closed,
}

/// Network configuration of the SFU.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SfuConfig {
    /// UDP socket shared by every peer (for example `0.0.0.0:50000`).
    pub udp_bind: SocketAddr,
    /// Passive ICE-TCP listener, the fallback when UDP is blocked. `None` disables it.
    pub tcp_bind: Option<SocketAddr>,
    /// Addresses advertised as host candidates in place of the bound one (1:1 NAT).
    /// Empty means: advertise the bound address, or every local interface address
    /// when bound to the unspecified address.
    pub advertised_ips: Vec<IpAddr>,
    /// Offer H.264 besides VP8 when the browser supports it.
    pub enable_h264: bool,
}

/// An event from the media plane to the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SfuEvent {
    /// The SFU renegotiates a subscriber connection; relay `sdp` to the participant
    /// and give its answer back with [`SfuHandle::subscriber_answer`].
    SubscriberOffer {
        /// Room.
        room: RoomId,
        /// The subscriber.
        participant: ParticipantId,
        /// The SDP offer.
        sdp: String,
        /// Every m-line that carries a track in this offer.
        tracks: Vec<SubscribedTrack>,
    },
    /// A participant started sending a track.
    TrackPublished {
        /// Room.
        room: RoomId,
        /// The new track.
        track: TrackInfo,
    },
    /// A track stopped (unpublished, or its publisher left).
    TrackUnpublished {
        /// Room.
        room: RoomId,
        /// The stopped track.
        track: TrackId,
        /// Its publisher.
        participant: ParticipantId,
    },
    /// The loudest participants right now, loudest first; sent when the set changes.
    ActiveSpeakers {
        /// Room.
        room: RoomId,
        /// Speakers with their level in 0..=100.
        speakers: Vec<(ParticipantId, u8)>,
    },
    /// One peer connection changed state.
    PeerStateChanged {
        /// Room.
        room: RoomId,
        /// Whose peer.
        participant: ParticipantId,
        /// Which of its two connections.
        peer: PeerRole,
        /// New state.
        state: PeerState,
        /// Why a peer was closed, when it was not asked to.
        reason: Option<String>,
    },
    /// The layer forwarded to a subscriber for one video track changed.
    LayerChanged {
        /// Room.
        room: RoomId,
        /// The subscriber.
        participant: ParticipantId,
        /// The track.
        track: TrackId,
        /// The layer now forwarded.
        layer: Layer,
    },
    /// The recording of one track failed (disk full, a media pipeline error): its file
    /// is no longer written. The other tracks go on.
    RecordingFailed {
        /// Room.
        room: RoomId,
        /// Whose track.
        participant: ParticipantId,
        /// The track.
        track: TrackId,
        /// What happened.
        error: String,
    },
    /// The recorder of a room needs attention as a whole: its disk is nearly full or
    /// full (the recording should be stopped at once, while its files can still be
    /// closed), or its live mix failed (the tracks go on).
    RecordingAlarm {
        /// Room.
        room: RoomId,
        /// What happened.
        alarm: RecordingAlarm,
    },
    /// Periodic connection quality of a participant (every few seconds).
    QualityChanged {
        /// Room.
        room: RoomId,
        /// Whose quality.
        participant: ParticipantId,
        /// New quality.
        quality: Quality,
        /// The subscriber bandwidth estimate in bits per second, when known.
        estimate_bps: Option<u64>,
    },
}

impl SfuEvent {
    /// The room the event belongs to.
    pub fn room(&self) -> &RoomId {
        match self {
            SfuEvent::SubscriberOffer { room, .. }
            | SfuEvent::TrackPublished { room, .. }
            | SfuEvent::TrackUnpublished { room, .. }
            | SfuEvent::ActiveSpeakers { room, .. }
            | SfuEvent::PeerStateChanged { room, .. }
            | SfuEvent::LayerChanged { room, .. }
            | SfuEvent::RecordingFailed { room, .. }
            | SfuEvent::RecordingAlarm { room, .. }
            | SfuEvent::QualityChanged { room, .. } => room,
        }
    }
}

/// What a room's recorder raised an alarm about (see [`SfuEvent::RecordingAlarm`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alarm", rename_all = "snake_case")]
pub enum RecordingAlarm {
    /// Less free room on the recordings' disk than the configured minimum.
    StorageLow {
        /// Free bytes at the check.
        free_bytes: u64,
    },
    /// A write failed because the recordings' disk is full.
    StorageFull {
        /// What the operating system said.
        error: String,
    },
    /// The live mix failed and is no longer written.
    MixFailed {
        /// What happened.
        error: String,
    },
    /// The media node that ran the recorder was lost (multi-node): its files end at
    /// their last sync; the room is placed on another node.
    MediaNodeLost,
}

/// What a recorder is started from: where its files go and how it watches the disk.
/// The media plane (in-process or a remote node) creates the recorder itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingSpec {
    /// The session's recordings folder (on a multi-node deployment: a volume that the
    /// media nodes and the control plane share under the same path).
    pub dir: std::path::PathBuf,
    /// The live mix's file stem in this run (`mix`, `mix-2`, …).
    pub mix_name: String,
    /// Below this many free bytes the recorder raises [`RecordingAlarm::StorageLow`].
    pub min_free_bytes: u64,
}
