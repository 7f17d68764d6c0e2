//! Forwarding: each frame a publisher sends goes to every subscriber of the track, in
//! the layer chosen for it, switching layers only on keyframes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaData, MediaTime, Mid};

use crate::api::{Layer, ParticipantId, SfuEvent, TrackId, TrackKind};
use crate::participant::{OutState, layer_of, rid_of};
use crate::peer::Peer;
use crate::room::{Room, track_info};
use crate::simulcast::index;
use crate::vp8;

impl Room {
    /// Forwards one frame of participant `i` to everyone subscribed.
    pub(crate) fn forward(
        &mut self,
        i: usize,
        data: MediaData,
        now: Instant,
        events: &mut Vec<SfuEvent>,
    ) {
        let layer = layer_of(data.rid);
        let keyframe = data.is_keyframe();
        let publisher_id = self.participants[i].id.clone();
        let recorded = self.participants[i].recorded;
        let Some(t) = self.participants[i]
            .published
            .iter_mut()
            .find(|t| t.mid == data.mid)
        else {
            return;
        };
        t.meters[index(layer)].add(data.data.len(), now);
        if keyframe {
            t.throttle.answered(rid_of(layer, t.simulcast));
        }
        let mut record_keyframe = None;
        let mut tap_panicked = false;
        if recorded && let Some(tap) = self.tap.as_mut() {
            // A fault in the tap must not take the forwarding down: it ends this
            // room's recording (the recorder, dropped, closes its files).
            match catch_unwind(AssertUnwindSafe(|| {
                tap.on_frame(&publisher_id, t, layer, &data, now)
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
                participant: publisher_id.clone(),
                track: t.id.clone(),
                error: "the recording tap failed; the session is no longer recorded".into(),
            });
        }
        if keyframe && let Some((_, h)) = vp8::keyframe_size(&data.data) {
            t.heights[index(layer)] = u32::from(h);
        }
        if t.kind == TrackKind::Audio
            && let Some(level) = data.ext_vals.audio_level
        {
            self.speakers.on_level(&publisher_id, level, now);
        }
        if !t.announced {
            t.announced = true;
            t.codec = Some(codec_name(&data));
            let info = track_info(t, &publisher_id);
            self.reconcile();
            events.push(SfuEvent::TrackPublished {
                room: self.id.clone(),
                track: info,
            });
            return;
        }
        let track_id = t.id.clone();
        let simulcast = t.simulcast;
        let mut wanted: Option<Layer> = None;
        for j in 0..self.participants.len() {
            // The outs already follow the audience; checking again costs little and
            // keeps a lobby participant's media from leaking through any stale state.
            if !self.admits(i, j) {
                continue;
            }
            let p = &mut self.participants[j];
            let Some((out, mid)) = p.outs.iter_mut().find_map(|o| match o.state {
                OutState::Open(mid) if o.track == track_id => Some((o, mid)),
                _ => None,
            }) else {
                continue;
            };
            if out.prefs.paused && out.kind == TrackKind::Video {
                continue;
            }
            let mut switched = false;
            if simulcast || out.kind == TrackKind::Video {
                let target = out.target.unwrap_or(layer);
                if out.current != Some(layer) {
                    if layer == target && (keyframe || !simulcast && out.current.is_none()) {
                        out.current = Some(layer);
                        switched = true;
                        events.push(SfuEvent::LayerChanged {
                            room: self.id.clone(),
                            participant: p.id.clone(),
                            track: track_id.clone(),
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
            let freq = data.time.frequency();
            let t_out = out
                .timeline
                .map(data.time.numer(), u64::from(freq.get()), switched);
            if let Some(subscriber) = p.subscriber.as_mut() {
                write(subscriber, mid, &data, MediaTime::new(t_out, freq));
            }
        }
        if let Some(layer) = wanted {
            self.request_keyframe(&publisher_id, &track_id, layer, now);
        }
        if let Some((mid, layer)) = record_keyframe {
            self.keyframe_for_recording(&publisher_id, mid, layer, now);
        }
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
        if let Some(peer) = p.publisher.as_mut() {
            peer.with(|rtc| {
                if let Some(mut writer) = rtc.writer(mid)
                    && writer
                        .request_keyframe(rid, KeyframeRequestKind::Pli)
                        .is_ok()
                {
                    crate::traffic::keyframe_request_out();
                }
            });
        }
    }
}

fn codec_name(data: &MediaData) -> String {
    format!("{:?}", data.params.spec().codec).to_lowercase()
}

/// Writes one frame on a subscriber's m-line; a failure closes that peer only.
fn write(peer: &mut Peer, mid: Mid, data: &MediaData, time: MediaTime) {
    let result = peer.with(|rtc| {
        let writer = rtc.writer(mid)?;
        let pt = writer.match_params(data.params)?;
        Some(writer.write(pt, data.network_time, time, data.data.clone()))
    });
    if let Some(Some(Err(e))) = result {
        peer.close(format!("write failed: {e}"));
    }
}
