//! One room: its participants, forwarding between them, and subscriber negotiation.
//! All of a room's state changes happen here, driven by [`crate::core::Core`].

use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::media::Mid;
use str0m::{Event, Input};

use crate::api::{
    Layer, ParticipantId, PeerRole, PeerState, RoomId, SfuEvent, SubscriptionPrefs, TrackId,
    TrackInfo, TrackKind, TrackSource,
};
use crate::participant::{OutState, Participant, Published, RateMeter, TrackOut, kind_of};
use crate::peer::{Outgoing, Peer};
use crate::quality;
use crate::speaker::SpeakerDetector;

/// A room of participants.
pub struct Room {
    /// Its id.
    pub id: RoomId,
    /// In join order.
    pub participants: Vec<Participant>,
    pub(crate) speakers: SpeakerDetector,
}

impl Room {
    /// An empty room.
    pub fn new(id: RoomId, now: Instant) -> Self {
        Self {
            id,
            participants: Vec::new(),
            speakers: SpeakerDetector::new(now),
        }
    }

    /// Index of a participant.
    pub fn find(&self, id: &ParticipantId) -> Option<usize> {
        self.participants.iter().position(|p| &p.id == id)
    }

    /// Adds a participant with its subscriber peer, subscribed to every current track.
    pub fn add(&mut self, id: ParticipantId, subscriber: Peer, can_subscribe: bool) {
        let mut outs = Vec::new();
        if can_subscribe {
            for p in &self.participants {
                for t in p.published.iter().filter(|t| t.announced) {
                    outs.push(new_out(&track_info(t, &p.id)));
                }
            }
        }
        self.participants.push(Participant {
            id,
            can_subscribe,
            publisher: None,
            subscriber,
            sources: Default::default(),
            published: Vec::new(),
            outs,
            pending: None,
            channel_added: false,
            estimate_bps: None,
            last_rx_bytes: 0,
            quality: None,
        });
    }

    /// Removes a participant and stops its tracks everywhere.
    pub fn remove(&mut self, idx: usize, events: &mut Vec<SfuEvent>) {
        let mut p = self.participants.remove(idx);
        for t in std::mem::take(&mut p.published) {
            self.unpublish(&p.id, &t, events);
        }
        p.subscriber.close("left");
        if let Some(publisher) = p.publisher.as_mut() {
            publisher.close("left");
        }
        self.speakers.remove(&p.id);
    }

    /// Lets a participant receive media, or stops it (lobby).
    pub fn set_can_subscribe(&mut self, idx: usize, can: bool) {
        let mut outs = Vec::new();
        if can && !self.participants[idx].can_subscribe {
            for (j, p) in self.participants.iter().enumerate() {
                if j == idx {
                    continue;
                }
                for t in p.published.iter().filter(|t| t.announced) {
                    outs.push(new_out(&track_info(t, &p.id)));
                }
            }
        }
        let me = &mut self.participants[idx];
        me.can_subscribe = can;
        if can {
            me.outs.extend(outs);
        } else {
            for out in &mut me.outs {
                out.state = match out.state {
                    OutState::Open(m) | OutState::Negotiating(m) => OutState::ToStop(m),
                    other => other,
                };
            }
            me.outs.retain(|o| o.state != OutState::ToOpen);
        }
    }

    /// Stores a subscriber's wishes for one track.
    pub fn set_prefs(&mut self, idx: usize, track: &TrackId, prefs: SubscriptionPrefs) -> bool {
        match self.participants[idx]
            .outs
            .iter_mut()
            .find(|o| &o.track == track)
        {
            Some(out) => {
                out.prefs = prefs;
                true
            }
            None => false,
        }
    }

    /// Every announced track.
    pub fn tracks(&self) -> Vec<TrackInfo> {
        self.participants
            .iter()
            .flat_map(|p| {
                p.published
                    .iter()
                    .filter(|t| t.announced)
                    .map(|t| track_info(t, &p.id))
            })
            .collect()
    }

    /// Feeds a network input to one peer, then drives the room.
    pub fn handle_input(
        &mut self,
        idx: usize,
        role: PeerRole,
        input: Input,
        now: Instant,
        out: &mut Vec<Outgoing>,
        events: &mut Vec<SfuEvent>,
    ) {
        if let Some(peer) = peer_mut(&mut self.participants[idx], role) {
            peer.handle_input(input);
        }
        self.drive(now, out, events);
    }

    /// Finds the peer that owns `input`.
    pub fn accepting(&mut self, input: &Input) -> Option<(usize, PeerRole)> {
        for (i, p) in self.participants.iter_mut().enumerate() {
            if p.subscriber.accepts(input) {
                return Some((i, PeerRole::Subscriber));
            }
            if let Some(publisher) = p.publisher.as_mut()
                && publisher.accepts(input)
            {
                return Some((i, PeerRole::Publisher));
            }
        }
        None
    }

    /// The earliest time a peer of this room needs a timeout.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.participants
            .iter()
            .flat_map(|p| std::iter::once(&p.subscriber).chain(p.publisher.as_ref()))
            .filter(|peer| peer.closed().is_none())
            .map(|peer| peer.next_timeout)
            .min()
    }

    /// Advances time for every peer whose timeout passed, and the room's own timers.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        out: &mut Vec<Outgoing>,
        events: &mut Vec<SfuEvent>,
    ) {
        for p in &mut self.participants {
            for peer in std::iter::once(&mut p.subscriber).chain(p.publisher.as_mut()) {
                if peer.closed().is_none() && peer.next_timeout <= now {
                    peer.handle_input(Input::Timeout(now));
                }
            }
        }
        self.drive(now, out, events);
        self.select_layers(now);
        if let Some(speakers) = self.speakers.poll(now) {
            events.push(SfuEvent::ActiveSpeakers {
                room: self.id.clone(),
                speakers,
            });
        }
        self.reap(now, events);
    }

    /// Polls every peer until all are idle, handling their events.
    pub fn drive(&mut self, now: Instant, out: &mut Vec<Outgoing>, events: &mut Vec<SfuEvent>) {
        loop {
            let mut busy = false;
            for i in 0..self.participants.len() {
                self.negotiate(i, events);
                while let Some(ev) = poll(&mut self.participants[i], PeerRole::Publisher, out, now)
                {
                    busy = true;
                    self.on_publisher_event(i, ev, now, events);
                }
                while let Some(ev) = poll(&mut self.participants[i], PeerRole::Subscriber, out, now)
                {
                    busy = true;
                    self.on_subscriber_event(i, ev, now, events);
                }
            }
            if !busy {
                break;
            }
        }
    }

    fn on_publisher_event(
        &mut self,
        i: usize,
        event: Event,
        now: Instant,
        events: &mut Vec<SfuEvent>,
    ) {
        tracing::trace!(?event, "publisher event");
        match event {
            Event::Connected => {
                self.peer_state(i, PeerRole::Publisher, PeerState::Connected, None, events)
            }
            Event::MediaAdded(added) if added.direction.is_receiving() => {
                let p = &mut self.participants[i];
                if p.published.iter().any(|t| t.mid == added.mid) {
                    return;
                }
                let kind = kind_of(added.kind);
                let source = p.sources.get(&added.mid).copied().unwrap_or(match kind {
                    TrackKind::Audio => TrackSource::Microphone,
                    TrackKind::Video => TrackSource::Camera,
                });
                p.published.push(Published {
                    id: TrackId(format!("{}/{}", p.id.0, added.mid)),
                    mid: added.mid,
                    kind,
                    source,
                    codec: None,
                    simulcast: added.simulcast.is_some(),
                    meters: [RateMeter::default(); 3],
                    heights: [0; 3],
                    announced: false,
                    throttle: Default::default(),
                });
            }
            Event::MediaChanged(changed) if !changed.direction.is_receiving() => {
                self.stop_published(i, changed.mid, events);
            }
            Event::MediaData(data) => self.forward(i, data, now, events),
            _ => {}
        }
    }

    fn on_subscriber_event(
        &mut self,
        i: usize,
        event: Event,
        now: Instant,
        events: &mut Vec<SfuEvent>,
    ) {
        match event {
            Event::Connected => {
                self.peer_state(i, PeerRole::Subscriber, PeerState::Connected, None, events)
            }
            Event::KeyframeRequest(req) => {
                let p = &self.participants[i];
                let Some(out) = p.outs.iter().find(|o| o.state == OutState::Open(req.mid)) else {
                    return;
                };
                let (track, publisher, layer) =
                    (out.track.clone(), out.publisher.clone(), out.current);
                self.request_keyframe(&publisher, &track, layer.unwrap_or(Layer::High), now);
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.participants[i].estimate_bps = Some(estimate.as_u64());
            }
            Event::PeerStats(stats) => {
                let p = &mut self.participants[i];
                let receiving = stats.peer_bytes_rx > p.last_rx_bytes;
                p.last_rx_bytes = stats.peer_bytes_rx;
                let q = quality::judge(stats.egress_loss_fraction, stats.rtt, receiving);
                if p.quality != Some(q) {
                    p.quality = Some(q);
                    events.push(SfuEvent::QualityChanged {
                        room: self.id.clone(),
                        participant: p.id.clone(),
                        quality: q,
                        estimate_bps: p.estimate_bps,
                    });
                }
            }
            _ => {}
        }
    }

    pub(crate) fn peer_state(
        &self,
        i: usize,
        peer: PeerRole,
        state: PeerState,
        reason: Option<String>,
        events: &mut Vec<SfuEvent>,
    ) {
        events.push(SfuEvent::PeerStateChanged {
            room: self.id.clone(),
            participant: self.participants[i].id.clone(),
            peer,
            state,
            reason,
        });
    }

    /// Stops one published track (unpublished by renegotiation).
    pub(crate) fn stop_published(&mut self, i: usize, mid: Mid, events: &mut Vec<SfuEvent>) {
        let p = &mut self.participants[i];
        let Some(pos) = p.published.iter().position(|t| t.mid == mid) else {
            return;
        };
        let t = p.published.remove(pos);
        let id = p.id.clone();
        self.unpublish(&id, &t, events);
    }

    /// Removes a track from every subscriber and tells the control plane.
    pub(crate) fn unpublish(
        &mut self,
        publisher: &ParticipantId,
        t: &Published,
        events: &mut Vec<SfuEvent>,
    ) {
        for p in &mut self.participants {
            for out in p.outs.iter_mut().filter(|o| o.track == t.id) {
                out.state = match out.state {
                    OutState::Open(m) | OutState::Negotiating(m) => OutState::ToStop(m),
                    other => other,
                };
            }
            p.outs
                .retain(|o| o.state != OutState::ToOpen || o.track != t.id);
        }
        if t.announced {
            events.push(SfuEvent::TrackUnpublished {
                room: self.id.clone(),
                track: t.id.clone(),
                participant: publisher.clone(),
            });
        }
    }

    /// Records the tracks a publisher announced; unlisted tracks are unpublished.
    pub fn set_sources(
        &mut self,
        i: usize,
        sources: Vec<(Mid, TrackSource)>,
        events: &mut Vec<SfuEvent>,
    ) {
        let listed: Vec<Mid> = sources.iter().map(|(m, _)| *m).collect();
        self.participants[i].sources = sources.into_iter().collect();
        let gone: Vec<Mid> = self.participants[i]
            .published
            .iter()
            .filter(|t| !listed.contains(&t.mid))
            .map(|t| t.mid)
            .collect();
        for mid in gone {
            self.stop_published(i, mid, events);
        }
    }

    /// Reports and cleans up peers that died.
    fn reap(&mut self, now: Instant, events: &mut Vec<SfuEvent>) {
        for i in 0..self.participants.len() {
            let p = &mut self.participants[i];
            p.subscriber.check_alive(now);
            if let Some(publisher) = p.publisher.as_mut() {
                publisher.check_alive(now);
            }
            let p = &mut self.participants[i];
            if let Some(reason) = p
                .publisher
                .as_ref()
                .and_then(|x| x.closed())
                .map(str::to_owned)
            {
                p.publisher = None;
                let tracks = std::mem::take(&mut p.published);
                let id = p.id.clone();
                for t in &tracks {
                    self.unpublish(&id, t, events);
                }
                self.peer_state(
                    i,
                    PeerRole::Publisher,
                    PeerState::Closed,
                    Some(reason),
                    events,
                );
            }
            let p = &mut self.participants[i];
            if let Some(reason) = p.subscriber.closed().map(str::to_owned)
                && (!p.outs.is_empty() || p.pending.is_some() || p.channel_added)
            {
                p.outs.clear();
                p.pending = None;
                p.channel_added = true; // never renegotiate a dead peer
                self.peer_state(
                    i,
                    PeerRole::Subscriber,
                    PeerState::Closed,
                    Some(reason),
                    events,
                );
            }
        }
    }
}

pub(crate) fn new_out(info: &TrackInfo) -> TrackOut {
    TrackOut {
        track: info.id.clone(),
        publisher: info.participant.clone(),
        kind: info.kind,
        source: info.source,
        state: OutState::ToOpen,
        prefs: SubscriptionPrefs {
            max_height: None,
            paused: false,
        },
        selector: Default::default(),
        current: None,
        target: None,
        timeline: Default::default(),
    }
}

pub(crate) fn track_info(t: &Published, publisher: &ParticipantId) -> TrackInfo {
    TrackInfo {
        id: t.id.clone(),
        participant: publisher.clone(),
        kind: t.kind,
        source: t.source,
        simulcast: t.simulcast,
        codec: t.codec.clone().unwrap_or_default(),
    }
}

pub(crate) fn peer_mut(p: &mut Participant, role: PeerRole) -> Option<&mut Peer> {
    match role {
        PeerRole::Subscriber => Some(&mut p.subscriber),
        PeerRole::Publisher => p.publisher.as_mut(),
    }
}

fn poll(
    p: &mut Participant,
    role: PeerRole,
    out: &mut Vec<Outgoing>,
    now: Instant,
) -> Option<Event> {
    peer_mut(p, role)?.poll_event(out, now)
}
