//! Forwarding: each packet a publisher sends goes to every subscriber of the track, in
//! the layer chosen for it, switching layers only at keyframes. The payload is shared
//! by all subscribers; each gets its own numbering ([`crate::rtp::rewrite`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use str0m::media::{KeyframeRequestKind, Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use crate::api::{Layer, ParticipantId, SfuEvent, TrackId, TrackKind};
use crate::participant::{OutState, Participant, TrackFormat, TrackOut, layer_of, rid_of};
use crate::peer::Peer;
use crate::room::{Room, track_info};
use crate::rtp::payload::{self, PacketFacts, PayloadKind};
use crate::simulcast::index;
use crate::vp8;

impl Room {
    /// Forwards one packet of participant `i` to everyone subscribed.
    pub(crate) fn forward(
        &mut self,
        i: usize,
        packet: RtpPacket,
        now: Instant,
        events: &mut Vec<SfuEvent>,
    ) {
        let p = &mut self.participants[i];
        let Some((mid, rid)) = p.stream_of(packet.header.ssrc) else {
            return;
        };
        let Some(ti) = p.published.iter().position(|t| t.mid == mid) else {
            return;
        };
        let Some(format) = p.format_of(ti, packet.header.payload_type) else {
            return;
        };
        let layer = layer_of(rid);
        let facts = payload::facts(format.kind, &packet.payload);
        let (id, t) = (&p.id, &mut p.published[ti]);
        t.meters[index(layer)].add(packet.payload.len(), now);
        if facts.keyframe {
            t.throttle.answered(rid_of(layer, t.simulcast));
            if let Some(h) = keyframe_height(format.kind, &packet.payload) {
                t.heights[index(layer)] = h;
            }
        }
        let mut record_keyframe = None;
        let mut tap_panicked = false;
        if p.recorded
            && let Some(tap) = self.tap.as_mut()
        {
            // A fault in the tap must not take the forwarding down: it ends this
            // room's recording (the recorder, dropped, closes its files).
            match catch_unwind(AssertUnwindSafe(|| {
                tap.on_packet(id, t, layer, format, &packet, now)
            })) {
                Ok(wanted) => record_keyframe = wanted.map(|l| (t.mid, l)),
                Err(_) => tap_panicked = true,
            }
        }
        if tap_panicked {
            tracing::error!("the recording tap panicked; this session is no longer recorded");
            self.tap = None;
            events.push(SfuEvent::RecordingFailed {
                room: self.id.clone(),
                participant: id.clone(),
                track: t.id.clone(),
                error: "the recording tap failed; the session is no longer recorded".into(),
            });
        }
        if t.kind == TrackKind::Audio
            && let Some(level) = packet.header.ext_vals.audio_level
        {
            self.speakers.on_level(id, level, now);
        }
        if !t.announced {
            t.announced = true;
            t.codec = Some(format!("{:?}", format.params.spec().codec).to_lowercase());
            let info = track_info(t, id);
            self.reconcile();
            events.push(SfuEvent::TrackPublished {
                room: self.id.clone(),
                track: info,
            });
            return;
        }
        let wanted = self.fan_out(i, ti, layer, format, facts, &packet, events);
        if wanted.is_none() && record_keyframe.is_none() {
            return;
        }
        // Rare (a subscriber or the recorder waits for a keyframe): the ids are
        // cloned only then, not for every packet.
        let publisher = &self.participants[i];
        let (publisher_id, track_id) = (publisher.id.clone(), publisher.published[ti].id.clone());
        if let Some(layer) = wanted {
            self.request_keyframe(&publisher_id, &track_id, layer, now);
        }
        if let Some((mid, layer)) = record_keyframe {
            self.keyframe_for_recording(&publisher_id, mid, layer, now);
        }
    }

    /// Writes the packet to every admitted subscriber of track `ti` of participant `i`;
    /// returns a layer to ask the publisher a keyframe of, when a subscriber waits
    /// for one.
    #[allow(clippy::too_many_arguments)]
    fn fan_out(
        &mut self,
        i: usize,
        ti: usize,
        layer: Layer,
        format: TrackFormat,
        facts: PacketFacts,
        packet: &RtpPacket,
        events: &mut Vec<SfuEvent>,
    ) -> Option<Layer> {
        let (before, rest) = self.participants.split_at_mut(i);
        let (me, after) = rest.split_first_mut()?;
        let t = &me.published[ti];
        let mut wanted = None;
        for s in before.iter_mut().chain(after.iter_mut()) {
            // The outs already follow the audience; checking again costs little and
            // keeps a lobby participant's media from leaking through any stale state.
            if !(s.can_subscribe && s.receives() && me.audience.admits(&s.id)) {
                continue;
            }
            let Participant {
                outs,
                subscriber,
                id: subscriber_id,
                ..
            } = s;
            let Some((out, out_mid)) = outs.iter_mut().find_map(|o| match o.state {
                OutState::Open(mid) if o.track == t.id => Some((o, mid)),
                _ => None,
            }) else {
                continue;
            };
            if out.prefs.paused && out.kind == TrackKind::Video {
                continue;
            }
            let mut switched = false;
            if t.simulcast || out.kind == TrackKind::Video {
                let target = out.target.unwrap_or(layer);
                if out.current != Some(layer) {
                    let first_video = !t.simulcast && out.current.is_none();
                    if layer == target && (facts.keyframe || first_video) {
                        out.current = Some(layer);
                        switched = true;
                        events.push(SfuEvent::LayerChanged {
                            room: self.id.clone(),
                            participant: subscriber_id.clone(),
                            track: t.id.clone(),
                            layer,
                        });
                    } else {
                        if layer == target || out.current.is_none() {
                            wanted = Some(target);
                        }
                        continue;
                    }
                }
            }
            if let Some(subscriber) = subscriber.as_mut() {
                write(subscriber, out, out_mid, packet, format, switched);
            }
        }
        wanted
    }

    /// Asks the publisher of `track` for a keyframe on `layer`, throttled.
    pub(crate) fn request_keyframe(
        &mut self,
        publisher: &ParticipantId,
        track: &TrackId,
        layer: Layer,
        now: Instant,
    ) {
        let Some(p) = self.participants.iter_mut().find(|p| &p.id == publisher) else {
            return;
        };
        let Some(t) = p.published.iter_mut().find(|t| &t.id == track) else {
            return;
        };
        if t.kind != TrackKind::Video {
            return;
        }
        let rid = rid_of(layer, t.simulcast);
        if !t.throttle.allow(rid, now) {
            return;
        }
        let mid = t.mid;
        if let Some(peer) = p.publisher.as_mut()
            && request_pli(peer, mid, rid)
        {
            crate::traffic::keyframe_request_out();
        }
    }
}

/// Sends a PLI for one layer of a published track; `false` when the stream is unknown.
pub(crate) fn request_pli(peer: &mut Peer, mid: Mid, rid: Option<str0m::media::Rid>) -> bool {
    peer.with(|rtc| {
        rtc.direct_api()
            .stream_rx_by_mid(mid, rid)
            .map(|stream| stream.request_keyframe(KeyframeRequestKind::Pli))
            .is_some()
    }) == Some(true)
}

/// The picture height of a keyframe's first packet.
fn keyframe_height(kind: PayloadKind, payload: &[u8]) -> Option<u32> {
    if kind != PayloadKind::Vp8 {
        return None;
    }
    let start = payload::vp8_descriptor_len(payload)?;
    vp8::keyframe_size(&payload[start..]).map(|(_, h)| u32::from(h))
}

/// Writes one packet on a subscriber's m-line, renumbered for it.
fn write(
    peer: &mut Peer,
    out: &mut TrackOut,
    mid: Mid,
    packet: &RtpPacket,
    format: TrackFormat,
    switched: bool,
) {
    let vp8 = (format.kind == PayloadKind::Vp8).then_some(&packet.payload[..]);
    let clock_rate = u64::from(packet.time.frequency().get());
    let Some(numbers) = out.rewrite.map(
        *packet.seq_no,
        packet.time.numer(),
        clock_rate,
        switched,
        vp8,
    ) else {
        return;
    };
    let cached_pt = out
        .pt
        .filter(|(from, _)| *from == format.pt)
        .map(|(_, to)| to);
    let pt = peer.with(|rtc| {
        let pt: Pt = match cached_pt {
            Some(pt) => pt,
            None => rtc.codec_config().match_params(format.params)?.pt(),
        };
        let mut api = rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None)?;
        // The publisher paced these packets already; pacing them again would hold
        // each one for its own timeout of the subscriber connection.
        stream.set_unpaced(true);
        let header = &packet.header;
        let ext = ExtensionValues {
            audio_level: header.ext_vals.audio_level,
            voice_activity: header.ext_vals.voice_activity,
            video_orientation: header.ext_vals.video_orientation,
            ..Default::default()
        };
        let mut rtp = RtpWrite::new(
            pt,
            numbers.seq.into(),
            numbers.time,
            packet.timestamp,
            packet.payload.clone(),
        )
        .marker(header.marker)
        .ext_vals(ext)
        .nackable(out.kind == TrackKind::Video);
        if let Some(patch) = numbers.vp8 {
            rtp = rtp.vp8_patch(patch);
        }
        stream.write_rtp(rtp);
        Some(pt)
    });
    if let Some(Some(pt)) = pt {
        out.pt = Some((format.pt, pt));
        peer.mark_written();
    }
}
