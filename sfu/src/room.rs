//! One room: its participants, forwarding between them, and subscriber negotiation.
//! All of a room's state changes happen here, driven by [`crate::core::Core`].

use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::media::Mid;
use str0m::{Event, Input};

use crate::api::{
    Audience, Layer, ParticipantId, PeerRole, PeerState, RoomId, SfuEvent, SubscriptionPrefs,
    TrackId, TrackInfo, TrackKind, TrackSource,
};
use crate::outbox::Outbox;
use crate::participant::{OutState, Participant, Published, RateMeter, TrackOut, kind_of};
use crate::peer::Peer;
use crate::quality;
use crate::record_tap::RecordTap;
use crate::speaker::SpeakerDetector;

/// A room of participants.
pub struct Room {
    /// Its id.
    pub id: RoomId,
    /// In join order.
    pub participants: Vec<Participant>,
    pub(crate) speakers: SpeakerDetector,
    /// The session's recording, while it is recorded.
    pub(crate) tap: Option<RecordTap>,
    /// Inputs were handled since the last [`Room::drive`]: peers may have output.
    pub(crate) needs_drive: bool,
}

impl Room {
    /// An empty room.
    pub fn new(id: RoomId, now: Instant) -> Self {
        Self {
            id,
            participants: Vec::new(),
            speakers: SpeakerDetector::new(now),
            tap: None,
            needs_drive: false,
        }
    }

    /// Index of a participant.
    pub fn find(&self, id: &ParticipantId) -> Option<usize> {
        self.participants.iter().position(|p| &p.id == id)
    }

    /// Adds a participant, published to everyone, and subscribes it to every current
    /// track it may receive. Without a subscriber peer (publish-only) it receives
    /// nothing, ever.
    pub fn add(&mut self, id: ParticipantId, subscriber: Option<Peer>, can_subscribe: bool) {
        self.participants.push(Participant {
            id,
            can_subscribe: can_subscribe && subscriber.is_some(),
            audience: Audience::Everyone,
            recorded: false,
            publisher: None,
            subscriber,
            sources: Default::default(),
            published: Vec::new(),
            outs: Vec::new(),
            pending: None,
            channel_added: false,
            estimate_bps: None,
            last_rx_bytes: 0,
            quality: None,
            rx_streams: Vec::new(),
        });
        self.reconcile();
    }

    /// Removes a participant and stops its tracks everywhere.
    pub fn remove(&mut self, idx: usize, events: &mut Vec<SfuEvent>) {
        let mut p = self.participants.remove(idx);
        for mut t in std::mem::take(&mut p.published) {
            self.unpublish(&p.id, &mut t, events);
        }
        if let Some(subscriber) = p.subscriber.as_mut() {
            subscriber.close("left");
        }
        if let Some(publisher) = p.publisher.as_mut() {
            publisher.close("left");
        }
        self.speakers.remove(&p.id);
    }

    /// Lets a participant receive media, or stops all of it (lobby). Takes effect at
    /// once; the subscriber is renegotiated by the next [`Room::drive`].
    pub fn set_can_subscribe(&mut self, idx: usize, can: bool) {
        let me = &mut self.participants[idx];
        me.can_subscribe = can && me.subscriber.is_some();
        self.reconcile();
    }

    /// Sets who receives a participant's tracks. Takes effect at once; subscribers
    /// are renegotiated by the next [`Room::drive`].
    pub fn set_audience(&mut self, idx: usize, audience: Audience) {
        self.participants[idx].audience = audience;
        self.reconcile();
    }

    /// Whether participant `subscriber` may receive the tracks of `publisher`.
    pub(crate) fn admits(&self, publisher: usize, subscriber: usize) -> bool {
        let (p, s) = (
            &self.participants[publisher],
            &self.participants[subscriber],
        );
        publisher != subscriber && s.can_subscribe && s.receives() && p.audience.admits(&s.id)
    }

    /// Makes every subscriber's forwarded tracks exactly the announced tracks it is
    /// allowed to receive: forwarding no longer allowed stops now (its m-line is
    /// stopped in the next offer), missing tracks wait for the next offer.
    pub(crate) fn reconcile(&mut self) {
        for s in 0..self.participants.len() {
            let wanted: Vec<TrackInfo> = (0..self.participants.len())
                .filter(|&p| self.admits(p, s))
                .flat_map(|p| {
                    let publisher = &self.participants[p];
                    publisher
                        .published
                        .iter()
                        .filter(|t| t.announced)
                        .map(|t| track_info(t, &publisher.id))
                })
                .collect();
            let me = &mut self.participants[s];
            me.outs.retain_mut(|o| {
                if o.live() && !wanted.iter().any(|w| w.id == o.track) {
                    o.stop()
                } else {
                    true
                }
            });
            for info in wanted {
                if !me.outs.iter().any(|o| o.track == info.id && o.live()) {
                    me.outs.push(new_out(&info));
                }
            }
        }
    }

    /// Stores a subscriber's wishes for one track.
    pub fn set_prefs(&mut self, idx: usize, track: &TrackId, prefs: SubscriptionPrefs) -> bool {
        match self.participants[idx]
            .outs
            .iter_mut()
            .find(|o| &o.track == track && o.live())
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

    /// Feeds a network input to one peer and handles what that peer has to say (a
    /// publisher's packets are forwarded now: str0m holds one at a time). The other
    /// peers written to are polled by the next [`Room::drive`], once per batch of
    /// inputs.
    pub fn handle_input(
        &mut self,
        idx: usize,
        role: PeerRole,
        input: Input,
        now: Instant,
        out: &mut Outbox,
        events: &mut Vec<SfuEvent>,
    ) {
        if let Some(peer) = peer_mut(&mut self.participants[idx], role) {
            peer.handle_input(input);
        }
        while let Some(ev) = poll(&mut self.participants[idx], role, out, now) {
            match role {
                PeerRole::Publisher => self.on_publisher_event(idx, ev, now, events),
                PeerRole::Subscriber => self.on_subscriber_event(idx, ev, now, events),
            }
        }
        self.needs_drive = true;
    }

    /// Whether peer `role` of participant `idx` owns `input`.
    pub fn accepts_at(&mut self, idx: usize, role: PeerRole, input: &Input) -> bool {
        self.participants
            .get_mut(idx)
            .and_then(|p| peer_mut(p, role))
            .is_some_and(|peer| peer.accepts(input))
    }

    /// Finds the peer that owns `input`.
    pub fn accepting(&mut self, input: &Input) -> Option<(usize, PeerRole)> {
        for (i, p) in self.participants.iter_mut().enumerate() {
            if let Some(subscriber) = p.subscriber.as_mut()
                && subscriber.accepts(input)
            {
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
            .flat_map(|p| p.subscriber.iter().chain(p.publisher.as_ref()))
            .filter(|peer| peer.closed().is_none())
            .map(|peer| peer.next_timeout)
            .min()
    }

    /// Advances time for every peer whose timeout passed; on the room's `tick` (every
    /// 100 ms) also the room's own work: layers, speakers, the recorder, closed peers.
    /// The peers' timeouts come far more often (pacing, RTCP: hundreds a second in a
    /// Giunta room) and need none of that, which was most of the media loop's time.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        tick: bool,
        out: &mut Outbox,
        events: &mut Vec<SfuEvent>,
    ) {
        for p in &mut self.participants {
            for peer in p.subscriber.iter_mut().chain(p.publisher.as_mut()) {
                if peer.closed().is_none() && peer.next_timeout <= now {
                    peer.handle_input(Input::Timeout(now));
                }
            }
        }
        self.drive(now, out, events);
        if !tick {
            return;
        }
        self.poll_recording(now, events);
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
    pub fn drive(&mut self, now: Instant, out: &mut Outbox, events: &mut Vec<SfuEvent>) {
        self.needs_drive = false;
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
                    recording: None,
                    format: None,
                });
            }
            Event::MediaChanged(changed) if !changed.direction.is_receiving() => {
                self.stop_published(i, changed.mid, events);
            }
            Event::RtpPacket(packet) => self.forward(i, packet, now, events),
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
                crate::traffic::keyframe_request_in();
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
        let mut t = p.published.remove(pos);
        let id = p.id.clone();
        self.unpublish(&id, &mut t, events);
    }

    /// Removes a track from every subscriber and tells the control plane.
    pub(crate) fn unpublish(
        &mut self,
        publisher: &ParticipantId,
        t: &mut Published,
        events: &mut Vec<SfuEvent>,
    ) {
        if let Some(tap) = self.tap.as_mut() {
            tap.end(t);
        }
        for p in &mut self.participants {
            p.outs.retain_mut(|o| o.track != t.id || o.stop());
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
        // A renegotiation may move SSRCs between m-lines: learn them again.
        self.participants[i].rx_streams.clear();
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
            if let Some(subscriber) = p.subscriber.as_mut() {
                subscriber.check_alive(now);
            }
            if let Some(publisher) = p.publisher.as_mut() {
                publisher.check_alive(now);
            }
            let p = &mut self.participants[i];
            if let Some(reason) = p.publisher.as_mut().and_then(Peer::take_close_report) {
                p.publisher = None;
                let mut tracks = std::mem::take(&mut p.published);
                let id = p.id.clone();
                for t in &mut tracks {
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
            if let Some(reason) = p.subscriber.as_mut().and_then(Peer::take_close_report) {
                // A dead subscriber is never renegotiated; its forwarding state goes.
                p.outs.clear();
                p.pending = None;
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
        rewrite: Default::default(),
        pt: None,
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
        PeerRole::Subscriber => p.subscriber.as_mut(),
        PeerRole::Publisher => p.publisher.as_mut(),
    }
}

fn poll(p: &mut Participant, role: PeerRole, out: &mut Outbox, now: Instant) -> Option<Event> {
    peer_mut(p, role)?.poll_event(out, now)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use str0m::Rtc;
    use str0m::media::Mid;

    use super::*;

    fn peer(role: PeerRole, now: Instant) -> Peer {
        Peer::new(Rtc::builder().build(now), role, now)
    }

    fn id(s: &str) -> ParticipantId {
        ParticipantId(s.to_owned())
    }

    /// A room of `names` (with subscribers, except `publish_only`), each publishing
    /// an announced audio and video track, every forwarding negotiated and open.
    fn room(names: &[&str], publish_only: &[&str]) -> Room {
        let now = Instant::now();
        let mut room = Room::new(RoomId("r".into()), now);
        for name in names {
            let sub = (!publish_only.contains(name)).then(|| peer(PeerRole::Subscriber, now));
            room.add(id(name), sub, true);
            let i = room.participants.len() - 1;
            for (n, kind) in [(0, TrackKind::Audio), (1, TrackKind::Video)] {
                let mid = Mid::from(format!("{n}").as_str());
                room.participants[i].published.push(Published {
                    id: TrackId(format!("{name}/{mid}")),
                    mid,
                    kind,
                    source: TrackSource::Camera,
                    codec: Some("vp8".into()),
                    simulcast: false,
                    meters: Default::default(),
                    heights: [0; 3],
                    announced: true,
                    throttle: Default::default(),
                    recording: None,
                    format: None,
                });
            }
        }
        room.reconcile();
        open_all(&mut room);
        room
    }

    /// Simulates answered offers: every pending change is applied.
    fn open_all(room: &mut Room) {
        for (n, p) in room.participants.iter_mut().enumerate() {
            for (k, o) in p.outs.iter_mut().enumerate() {
                if o.state == OutState::ToOpen {
                    o.state = OutState::Open(Mid::from(format!("{n}{k}").as_str()));
                }
            }
            p.outs.retain(|o| !matches!(o.state, OutState::ToStop(_)));
        }
    }

    /// Publishers whose tracks `who` has open (media flows), sorted, with counts.
    fn open_from(room: &Room, who: &str) -> Vec<String> {
        let i = room.find(&id(who)).expect("participant");
        let mut v: Vec<String> = room.participants[i]
            .outs
            .iter()
            .filter(|o| matches!(o.state, OutState::Open(_)))
            .map(|o| o.track.0.clone())
            .collect();
        v.sort();
        v
    }

    fn tracks_of(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names
            .iter()
            .flat_map(|n| [format!("{n}/0"), format!("{n}/1")])
            .collect();
        v.sort();
        v
    }

    #[test]
    fn lobby_audience_stops_forwarding_at_once_and_restoring_offers_again() {
        let mut r = room(&["a", "b", "c"], &[]);
        assert_eq!(open_from(&r, "b"), tracks_of(&["a", "c"]));
        let c = r.find(&id("c")).expect("c");
        r.set_can_subscribe(c, false);
        r.set_audience(c, Audience::Only(vec![id("a")]));
        // Stopped right away: nothing is Open any more where it is not allowed.
        assert_eq!(open_from(&r, "c"), Vec::<String>::new());
        assert_eq!(open_from(&r, "b"), tracks_of(&["a"]));
        assert_eq!(open_from(&r, "a"), tracks_of(&["b", "c"]));
        let (a, b) = (r.find(&id("a")).expect("a"), r.find(&id("b")).expect("b"));
        assert!(r.admits(c, a) && !r.admits(c, b) && !r.admits(a, c));
        // The stopped m-lines wait for the next offer.
        let stops = |r: &Room, i: usize| {
            r.participants[i]
                .outs
                .iter()
                .filter(|o| matches!(o.state, OutState::ToStop(_)))
                .count()
        };
        assert_eq!((stops(&r, c), stops(&r, b), stops(&r, a)), (4, 2, 0));
        open_all(&mut r);
        assert!(r.participants[c].outs.is_empty());

        r.set_audience(c, Audience::Everyone);
        r.set_can_subscribe(c, true);
        open_all(&mut r);
        assert_eq!(open_from(&r, "c"), tracks_of(&["a", "b"]));
        assert_eq!(open_from(&r, "b"), tracks_of(&["a", "c"]));
        assert_eq!(open_from(&r, "a"), tracks_of(&["b", "c"]));
    }

    #[test]
    fn revoking_before_the_answer_then_restoring_does_not_duplicate() {
        let mut r = room(&["a", "b"], &[]);
        let b = r.find(&id("b")).expect("b");
        r.set_audience(b, Audience::Only(vec![]));
        r.set_audience(b, Audience::Everyone);
        r.set_audience(b, Audience::Everyone);
        let a = r.find(&id("a")).expect("a");
        let live: Vec<_> = r.participants[a].outs.iter().filter(|o| o.live()).collect();
        assert_eq!(live.len(), 2, "one live out per track");
        open_all(&mut r);
        assert_eq!(open_from(&r, "a"), tracks_of(&["b"]));
    }

    #[test]
    fn a_publish_only_participant_never_receives_but_is_received() {
        let mut r = room(&["a", "chamber"], &["chamber"]);
        let ch = r.find(&id("chamber")).expect("chamber");
        assert!(r.participants[ch].subscriber.is_none());
        assert!(r.participants[ch].outs.is_empty());
        r.set_can_subscribe(ch, true);
        assert!(!r.participants[ch].can_subscribe);
        assert!(r.participants[ch].outs.is_empty());
        assert_eq!(open_from(&r, "a"), tracks_of(&["chamber"]));
        // Nothing to offer and nothing to time out on the missing side.
        let mut events = Vec::new();
        r.negotiate(ch, &mut events);
        assert!(events.is_empty());
        assert!(peer_mut(&mut r.participants[ch], PeerRole::Subscriber).is_none());
    }
}
