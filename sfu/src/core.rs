//! The sans-IO heart of the SFU: every room and peer, driven by commands, received
//! packets and time. It never touches a socket; the engine carries out its output.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Rtc};
use tracing::debug;

use crate::api::{PeerRole, RoomId, SfuEvent};
use crate::error::SfuError;
use crate::handle::Command;
use crate::outbox::Outbox;
use crate::participant::OutState;
use crate::peer::Peer;
use crate::record_tap::RecordTap;
use crate::room::Room;

/// Initial bandwidth estimate of a subscriber connection.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(1_500);

/// How often room timers (layers, speakers, health) run at the latest.
const TICK: Duration = Duration::from_millis(100);

/// All rooms of this SFU.
pub struct Core {
    rooms: HashMap<RoomId, Room>,
    candidates: Vec<Candidate>,
    h264: bool,
    /// Recorders of rooms that have no participant right now (a room is dropped when
    /// its last participant leaves; its recording goes on for when they come back).
    parked_taps: HashMap<RoomId, RecordTap>,
    /// Which peer last accepted packets from a remote address (checked before use:
    /// indices move when participants leave).
    routes: HashMap<(Protocol, SocketAddr), (RoomId, usize, PeerRole)>,
    /// Packets to send.
    pub out: Outbox,
    /// Events for the control plane.
    pub events: Vec<SfuEvent>,
    next_tick: Instant,
    /// The latest time handed in.
    last_now: Instant,
}

impl Core {
    /// A core advertising `candidates` in every SDP.
    pub fn new(candidates: Vec<Candidate>, h264: bool, now: Instant) -> Self {
        Self {
            rooms: HashMap::new(),
            candidates,
            h264,
            parked_taps: HashMap::new(),
            routes: HashMap::new(),
            out: Outbox::default(),
            events: Vec::new(),
            next_tick: now,
            last_now: now,
        }
    }

    pub(crate) fn new_peer(&self, role: PeerRole, now: Instant) -> Peer {
        let mut builder = Rtc::builder()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(self.h264)
            // Packets are forwarded as they come (src/rtp): no depacketizing and
            // packetizing again, one shared payload for every subscriber.
            .set_rtp_mode(true)
            .set_stats_interval(Some(Duration::from_secs(2)));
        if role == PeerRole::Subscriber {
            builder = builder.enable_bwe(Some(INITIAL_ESTIMATE));
        }
        let mut rtc = builder.build(now);
        for c in &self.candidates {
            let _ = rtc.add_local_candidate(c.clone());
        }
        Peer::new(rtc, role, now)
    }

    /// When the core next needs [`Core::handle_timeout`]: at once while a
    /// [`Core::flush`] is owed.
    pub fn next_timeout(&self) -> Instant {
        let owed = self.rooms.values().any(|r| r.needs_drive);
        self.rooms
            .values()
            .filter_map(Room::next_timeout)
            .min()
            .unwrap_or(self.next_tick)
            .min(self.next_tick)
            .min(if owed { self.last_now } else { self.next_tick })
    }

    /// Polls every peer that received, or was written to, since the last flush: call
    /// after each batch of [`Core::handle_receive`]. Each subscriber then sends what
    /// the whole batch forwarded to it in one go.
    pub fn flush(&mut self, now: Instant) {
        for room in self.rooms.values_mut() {
            if room.needs_drive {
                room.drive(now, &mut self.out, &mut self.events);
            }
        }
    }

    /// Advances time.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        let tick = now >= self.next_tick;
        if tick {
            self.next_tick = now + TICK;
        }
        for room in self.rooms.values_mut() {
            if tick || room.needs_drive || room.next_timeout().is_some_and(|t| t <= now) {
                room.handle_timeout(now, tick, &mut self.out, &mut self.events);
            }
        }
    }

    /// Handles one received packet; packets no peer accepts are dropped. What it
    /// forwards leaves at the next [`Core::flush`].
    pub fn handle_receive(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        bytes: &[u8],
        now: Instant,
    ) {
        let Ok(contents) = bytes.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        self.last_now = now;
        let key = (proto, source);
        // The usual case: the peer that took this address's last packet takes this
        // one too; asking it alone spares asking every peer of the room.
        if let Some((room_id, idx, role)) = self.routes.get(&key)
            && let Some(room) = self.rooms.get_mut(room_id)
            && room.accepts_at(*idx, *role, &input)
        {
            room.handle_input(*idx, *role, input, now, &mut self.out, &mut self.events);
            return;
        }
        let mut target = None;
        for (room_id, room) in self.rooms.iter_mut() {
            if let Some(found) = room.accepting(&input) {
                target = Some((room_id.clone(), found));
                break;
            }
        }
        let Some((room_id, (idx, role))) = target else {
            debug!("dropped a datagram no peer accepts");
            return;
        };
        if let Some(room) = self.rooms.get_mut(&room_id) {
            room.handle_input(idx, role, input, now, &mut self.out, &mut self.events);
        }
        self.routes.insert(key, (room_id, idx, role));
    }

    /// Carries out one command from the control plane.
    pub fn handle_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Join {
                room,
                participant,
                can_subscribe,
                publish_only,
                reply,
            } => {
                let subscriber = (!publish_only).then(|| self.new_peer(PeerRole::Subscriber, now));
                let parked = &mut self.parked_taps;
                let r = self.rooms.entry(room.clone()).or_insert_with(|| {
                    let mut r = Room::new(room.clone(), now);
                    r.tap = parked.remove(&room);
                    r
                });
                let result = if r.find(&participant).is_some() {
                    Err(SfuError::AlreadyJoined)
                } else {
                    r.add(participant, subscriber, can_subscribe);
                    r.drive(now, &mut self.out, &mut self.events);
                    Ok(())
                };
                let _ = reply.send(result);
            }
            Command::Publish {
                room,
                participant,
                sdp,
                tracks,
                reply,
            } => {
                let result = self.publish(&room, &participant, &sdp, tracks, now);
                let _ = reply.send(result);
            }
            Command::SubscriberAnswer {
                room,
                participant,
                sdp,
                reply,
            } => {
                let result = self.subscriber_answer(&room, &participant, &sdp, now);
                let _ = reply.send(result);
            }
            Command::SetSubscription {
                room,
                participant,
                track,
                prefs,
                reply,
            } => {
                let result = match locate(&mut self.rooms, &room, &participant) {
                    Ok((r, i)) => {
                        if r.set_prefs(i, &track, prefs) {
                            Ok(())
                        } else {
                            Err(SfuError::UnknownTrack)
                        }
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::SetCanSubscribe {
                room,
                participant,
                can_subscribe,
                reply,
            } => {
                let (out, events) = (&mut self.out, &mut self.events);
                let result = locate(&mut self.rooms, &room, &participant).map(|(r, i)| {
                    r.set_can_subscribe(i, can_subscribe);
                    r.drive(now, out, events);
                });
                let _ = reply.send(result);
            }
            Command::SetAudience {
                room,
                participant,
                audience,
                reply,
            } => {
                let (out, events) = (&mut self.out, &mut self.events);
                let result = locate(&mut self.rooms, &room, &participant).map(|(r, i)| {
                    r.set_audience(i, audience);
                    r.drive(now, out, events);
                });
                let _ = reply.send(result);
            }
            Command::Leave {
                room,
                participant,
                reply,
            } => {
                let result = match locate(&mut self.rooms, &room, &participant) {
                    Ok((r, i)) => {
                        r.remove(i, &mut self.events);
                        r.drive(now, &mut self.out, &mut self.events);
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                if self
                    .rooms
                    .get(&room)
                    .is_some_and(|r| r.participants.is_empty())
                {
                    if let Some(tap) = self.rooms.remove(&room).and_then(|mut r| r.tap.take()) {
                        self.parked_taps.insert(room.clone(), tap);
                    }
                    self.routes.retain(|_, (r, ..)| r != &room);
                }
                let _ = reply.send(result);
            }
            Command::Tracks { room, reply } => {
                let tracks = self.rooms.get(&room).map(Room::tracks).unwrap_or_default();
                let _ = reply.send(Ok(tracks));
            }
            Command::MediaGauges { reply } => {
                let _ = reply.send(Ok(crate::gauges::measure(self.rooms.values(), now)));
            }
            Command::StartRecording {
                room,
                recorder,
                reply,
            } => {
                let tap = RecordTap::new(recorder.recorder, recorder.dir);
                let recorded = self.rooms.get(&room).is_some_and(|r| r.tap.is_some())
                    || self.parked_taps.contains_key(&room);
                let result = if recorded {
                    Err(SfuError::AlreadyRecording)
                } else if let Some(r) = self.rooms.get_mut(&room) {
                    if r.start_recording(tap) {
                        Ok(())
                    } else {
                        Err(SfuError::AlreadyRecording)
                    }
                } else {
                    self.parked_taps.insert(room, tap);
                    Ok(())
                };
                let _ = reply.send(result);
            }
            Command::StopRecording { room, reply } => {
                let tap = match self.rooms.get_mut(&room) {
                    Some(r) => r.stop_recording(),
                    None => self.parked_taps.remove(&room),
                };
                let _ = reply.send(Ok(tap.map(RecordTap::into_handover)));
            }
            Command::SetRecordingPaused {
                room,
                paused,
                reply,
            } => {
                let done = match self.rooms.get_mut(&room) {
                    Some(r) => r.set_recording_paused(paused, now),
                    None => self
                        .parked_taps
                        .get_mut(&room)
                        .map(|tap| tap.set_paused(paused))
                        .is_some(),
                };
                let result = if done {
                    Ok(())
                } else {
                    Err(SfuError::NotRecording)
                };
                let _ = reply.send(result);
            }
            Command::SetRecorded {
                room,
                participant,
                recorded,
                reply,
            } => {
                let result = locate(&mut self.rooms, &room, &participant)
                    .map(|(r, i)| r.set_recorded(i, recorded));
                let _ = reply.send(result);
            }
        }
    }

    fn publish(
        &mut self,
        room: &RoomId,
        participant: &crate::api::ParticipantId,
        sdp: &str,
        tracks: Vec<crate::api::PublishedTrackInfo>,
        now: Instant,
    ) -> Result<String, SfuError> {
        let offer =
            SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let fresh = self.new_peer(PeerRole::Publisher, now);
        let (r, i) = locate(&mut self.rooms, room, participant)?;
        let p = &mut r.participants[i];
        let existing = p.publisher.take();
        let had_publisher = existing.is_some();
        let mut peer = existing.unwrap_or(fresh);
        let answer = match peer.with(|rtc| rtc.sdp_api().accept_offer(offer)) {
            Some(Ok(answer)) => answer,
            failed => {
                // A refused first offer leaves nothing behind; an existing publisher
                // stays (closed, if it panicked, so that it is reaped and reported).
                if had_publisher {
                    r.participants[i].publisher = Some(peer);
                }
                return Err(SfuError::NegotiationFailed(match failed {
                    Some(Err(e)) => e.to_string(),
                    _ => "the offer could not be applied".into(),
                }));
            }
        };
        r.participants[i].publisher = Some(peer);
        let sources = tracks
            .into_iter()
            .map(|t| (Mid::from(t.mid.as_str()), t.source))
            .collect();
        r.set_sources(i, sources, &mut self.events);
        r.drive(now, &mut self.out, &mut self.events);
        Ok(answer.to_sdp_string())
    }

    fn subscriber_answer(
        &mut self,
        room: &RoomId,
        participant: &crate::api::ParticipantId,
        sdp: &str,
        now: Instant,
    ) -> Result<(), SfuError> {
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let (r, i) = locate(&mut self.rooms, room, participant)?;
        let p = &mut r.participants[i];
        let pending = p.pending.take().ok_or(SfuError::NoPendingOffer)?;
        let accepted = match p.subscriber.as_mut() {
            Some(subscriber) => subscriber.with(|rtc| rtc.sdp_api().accept_answer(pending, answer)),
            None => None,
        };
        match accepted {
            Some(Ok(())) => {
                r.answered(i, now);
                r.drive(now, &mut self.out, &mut self.events);
                Ok(())
            }
            failed => {
                // The offer is spent: put its changes back so the next offer redoes them.
                for out in &mut p.outs {
                    out.state = match out.state {
                        OutState::Negotiating(_) => OutState::ToOpen,
                        OutState::NegotiatingStop(m) => OutState::ToStop(m),
                        other => other,
                    };
                }
                Err(SfuError::NegotiationFailed(match failed {
                    Some(Err(e)) => e.to_string(),
                    _ => "the answer could not be applied".into(),
                }))
            }
        }
    }
}

/// The room and index of a participant.
fn locate<'a>(
    rooms: &'a mut HashMap<RoomId, Room>,
    room: &RoomId,
    participant: &crate::api::ParticipantId,
) -> Result<(&'a mut Room, usize), SfuError> {
    let r = rooms.get_mut(room).ok_or(SfuError::UnknownParticipant)?;
    let i = r.find(participant).ok_or(SfuError::UnknownParticipant)?;
    Ok((r, i))
}
