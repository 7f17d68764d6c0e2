//! A participant's media state: its two peers, the tracks it publishes and the
//! tracks it receives.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::PayloadParams;
use str0m::media::{MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;

use crate::api::{
    Audience, Layer, ParticipantId, SubscriptionPrefs, TrackId, TrackKind, TrackSource,
};
use crate::keyframe::KeyframeThrottle;
use crate::peer::Peer;
use crate::record_tap::TrackRecording;
use crate::rtp::payload::PayloadKind;
use crate::rtp::rewrite::Rewriter;
use crate::simulcast::LayerSelector;

/// A layer not seen for this long is taken as no longer sent.
const LAYER_GONE: Duration = Duration::from_secs(2);

/// Bytes received over a sliding window of about one second.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateMeter {
    first_seen: Option<Instant>,
    window_start: Option<Instant>,
    bytes: u64,
    bps: u64,
    last_seen: Option<Instant>,
}

impl RateMeter {
    /// Counts `len` bytes received at `now`.
    pub fn add(&mut self, len: usize, now: Instant) {
        self.first_seen.get_or_insert(now);
        let start = *self.window_start.get_or_insert(now);
        self.bytes += len as u64;
        self.last_seen = Some(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.bps = self.bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64;
            self.bytes = 0;
            self.window_start = Some(now);
        }
    }

    /// When the first data arrived.
    pub fn first_seen(&self) -> Option<Instant> {
        self.first_seen
    }

    /// The last measured bitrate.
    pub fn bps(&self) -> u64 {
        self.bps
    }

    /// Whether data arrived recently.
    pub fn active(&self, now: Instant) -> bool {
        self.last_seen
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_GONE)
    }
}

/// A track this participant publishes.
#[derive(Debug)]
pub struct Published {
    /// Its id.
    pub id: TrackId,
    /// Its mid on the publisher connection.
    pub mid: Mid,
    /// Audio or video.
    pub kind: TrackKind,
    /// What it shows.
    pub source: TrackSource,
    /// Negotiated codec, known from the first frame.
    pub codec: Option<String>,
    /// Whether the publisher sends simulcast layers.
    pub simulcast: bool,
    /// Incoming rate per layer.
    pub meters: [RateMeter; 3],
    /// Picture height per layer, from keyframes.
    pub heights: [u32; 3],
    /// Whether other participants have been told.
    pub announced: bool,
    /// Keyframe request throttle.
    pub throttle: KeyframeThrottle,
    /// Its recording, while the session is recorded and its publisher admitted.
    pub recording: Option<TrackRecording>,
    /// The negotiated format of its packets, from the last payload type seen.
    pub format: Option<TrackFormat>,
}

/// What a payload type of a published track stands for.
#[derive(Debug, Clone, Copy)]
pub struct TrackFormat {
    /// The publisher's payload type.
    pub pt: Pt,
    /// Its negotiated parameters (matched to each subscriber's own payload type).
    pub params: PayloadParams,
    /// How the SFU reads its payloads.
    pub kind: PayloadKind,
}

impl Published {
    /// The layer being recorded, while the track is recorded.
    pub fn recording_layer(&self) -> Option<Layer> {
        self.recording.as_ref().map(TrackRecording::layer)
    }

    /// Layers sent recently.
    pub fn available(&self, now: Instant) -> [bool; 3] {
        [0, 1, 2].map(|i| self.meters[i].active(now))
    }

    /// Layer heights, filling unknown ones from the known full height.
    pub fn heights(&self) -> [u32; 3] {
        let full = self.heights[2]
            .max(self.heights[1] * 2)
            .max(self.heights[0] * 4);
        let full = if full == 0 { 720 } else { full };
        [
            nonzero_or(self.heights[0], full / 4),
            nonzero_or(self.heights[1], full / 2),
            nonzero_or(self.heights[2], full),
        ]
    }
}

fn nonzero_or(v: u32, default: u32) -> u32 {
    if v == 0 { default } else { v }
}

/// Negotiation state of one forwarded track on the subscriber connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutState {
    /// Waiting for the next offer.
    ToOpen,
    /// In the outstanding offer.
    Negotiating(Mid),
    /// Negotiated; media flows.
    Open(Mid),
    /// To be stopped in the next offer.
    ToStop(Mid),
    /// Stopped in the outstanding offer.
    NegotiatingStop(Mid),
}

/// A track forwarded to this participant.
#[derive(Debug)]
pub struct TrackOut {
    /// The track.
    pub track: TrackId,
    /// Its publisher.
    pub publisher: ParticipantId,
    /// Audio or video.
    pub kind: TrackKind,
    /// What it shows.
    pub source: TrackSource,
    /// Negotiation state.
    pub state: OutState,
    /// What the subscriber asked for.
    pub prefs: SubscriptionPrefs,
    /// Layer choice with hysteresis.
    pub selector: LayerSelector,
    /// The layer being forwarded.
    pub current: Option<Layer>,
    /// The layer to switch to at its next keyframe.
    pub target: Option<Layer>,
    /// Sequence numbers, timestamps and picture ids, continuous across layer switches.
    pub rewrite: Rewriter,
    /// The publisher's payload type and this subscriber's for it, once matched.
    pub pt: Option<(Pt, Pt)>,
}

/// A participant in a room.
pub struct Participant {
    /// Its id.
    pub id: ParticipantId,
    /// `false` in the lobby: nothing is forwarded to it.
    pub can_subscribe: bool,
    /// Who receives its tracks.
    pub audience: Audience,
    /// Whether its tracks are recorded (admitted to the session; never in the lobby).
    pub recorded: bool,
    /// Created by the first `publish`.
    pub publisher: Option<Peer>,
    /// Created at join; `None` for a publish-only participant (a WHIP encoder).
    pub subscriber: Option<Peer>,
    /// Sources announced with `publish`, by publisher mid.
    pub sources: HashMap<Mid, TrackSource>,
    /// Its tracks.
    pub published: Vec<Published>,
    /// Tracks forwarded to it.
    pub outs: Vec<TrackOut>,
    /// The outstanding subscriber offer.
    pub pending: Option<SdpPendingOffer>,
    /// Whether the data channel was added to the subscriber connection.
    pub channel_added: bool,
    /// The subscriber connection's bandwidth estimate.
    pub estimate_bps: Option<u64>,
    /// Bytes received on the subscriber connection at the last stats sample.
    pub last_rx_bytes: u64,
    /// Last reported quality.
    pub quality: Option<crate::api::Quality>,
    /// Which m-line and layer each incoming SSRC of the publisher connection carries
    /// (packets name them only at first; str0m knows them after).
    pub rx_streams: Vec<(Ssrc, Mid, Option<Rid>)>,
}

impl Participant {
    /// The m-line and layer of an incoming SSRC on the publisher connection.
    pub fn stream_of(&mut self, ssrc: Ssrc) -> Option<(Mid, Option<Rid>)> {
        if let Some(&(_, mid, rid)) = self.rx_streams.iter().find(|(s, ..)| *s == ssrc) {
            return Some((mid, rid));
        }
        let found = self.publisher.as_mut()?.peek(|rtc| {
            rtc.direct_api()
                .stream_rx(&ssrc)
                .map(|stream| (stream.mid(), stream.rid()))
        })??;
        self.rx_streams.push((ssrc, found.0, found.1));
        Some(found)
    }

    /// The format of packets of payload type `pt` on published track `ti`.
    pub fn format_of(&mut self, ti: usize, pt: Pt) -> Option<TrackFormat> {
        let t = &mut self.published[ti];
        if let Some(format) = t.format.filter(|f| f.pt == pt) {
            return Some(format);
        }
        let params = self.publisher.as_mut()?.peek(|rtc| {
            rtc.codec_config()
                .params()
                .iter()
                .find(|p| p.pt() == pt)
                .copied()
        })??;
        let format = TrackFormat {
            pt,
            params,
            kind: PayloadKind::of(params.spec().codec),
        };
        t.format = Some(format);
        Some(format)
    }

    /// Whether this participant has a subscriber connection that can still carry media.
    pub fn receives(&self) -> bool {
        self.subscriber
            .as_ref()
            .is_some_and(|s| s.closed().is_none())
    }
}

impl TrackOut {
    /// Whether the track is (or is about to be) on the subscriber connection, as
    /// opposed to being stopped.
    pub fn live(&self) -> bool {
        matches!(
            self.state,
            OutState::ToOpen | OutState::Negotiating(_) | OutState::Open(_)
        )
    }

    /// Takes the track off the subscriber connection: forwarding stops now and the
    /// next offer stops its m-line. Returns `false` when it was never negotiated and
    /// can simply be dropped.
    pub fn stop(&mut self) -> bool {
        match self.state {
            OutState::Open(m) | OutState::Negotiating(m) => {
                self.state = OutState::ToStop(m);
                true
            }
            OutState::ToOpen => false,
            OutState::ToStop(_) | OutState::NegotiatingStop(_) => true,
        }
    }
}

/// Maps a rid to our layer; no rid is a single-layer track.
pub fn layer_of(rid: Option<Rid>) -> Layer {
    match rid.as_ref().map(|r| r.to_string()) {
        Some(r) if r == "q" => Layer::Low,
        Some(r) if r == "h" => Layer::Medium,
        _ => Layer::High,
    }
}

/// The rid that carries `layer` of a track.
pub fn rid_of(layer: Layer, simulcast: bool) -> Option<Rid> {
    if !simulcast {
        return None;
    }
    Some(Rid::from(match layer {
        Layer::Low => "q",
        Layer::Medium => "h",
        Layer::High => "f",
    }))
}

/// Converts str0m's media kind.
pub fn kind_of(kind: MediaKind) -> TrackKind {
    match kind {
        MediaKind::Audio => TrackKind::Audio,
        MediaKind::Video => TrackKind::Video,
    }
}

/// Converts back to str0m's media kind.
pub fn media_kind(kind: TrackKind) -> MediaKind {
    match kind {
        TrackKind::Audio => MediaKind::Audio,
        TrackKind::Video => MediaKind::Video,
    }
}
