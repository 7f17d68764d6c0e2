//! Subscriber renegotiation: one offer outstanding at a time; tracks added or stopped
//! meanwhile wait for the next one.

use std::time::Instant;

use str0m::media::Direction;

use crate::api::{Layer, SfuEvent, SubscribedTrack};
use crate::participant::{OutState, media_kind};
use crate::room::Room;

impl Room {
    /// Starts a subscriber renegotiation when tracks changed and no offer is out.
    pub(crate) fn negotiate(&mut self, i: usize, events: &mut Vec<SfuEvent>) {
        let p = &mut self.participants[i];
        if p.pending.is_some() || !p.receives() {
            return;
        }
        let Some(subscriber) = p.subscriber.as_mut() else {
            return;
        };
        let needs = !p.channel_added
            || p.outs
                .iter()
                .any(|o| matches!(o.state, OutState::ToOpen | OutState::ToStop(_)));
        if !needs {
            return;
        }
        let channel_added = p.channel_added;
        let outs = &mut p.outs;
        let applied = subscriber.with(|rtc| {
            let mut api = rtc.sdp_api();
            if !channel_added {
                api.add_channel("seduta".to_owned());
            }
            for out in outs.iter_mut() {
                match out.state {
                    OutState::ToOpen => {
                        let mid = api.add_media(
                            media_kind(out.kind),
                            Direction::SendOnly,
                            Some(out.publisher.0.clone()),
                            Some(out.track.0.clone()),
                            None,
                        );
                        out.state = OutState::Negotiating(mid);
                    }
                    OutState::ToStop(mid) => {
                        api.stop_media(mid);
                        out.state = OutState::NegotiatingStop(mid);
                    }
                    _ => {}
                }
            }
            api.apply()
        });
        let Some(Some((offer, pending))) = applied else {
            return;
        };
        p.channel_added = true;
        p.pending = Some(pending);
        let tracks = p
            .outs
            .iter()
            .filter_map(|o| match o.state {
                OutState::Negotiating(mid) | OutState::Open(mid) => Some(SubscribedTrack {
                    mid: mid.to_string(),
                    track: o.track.clone(),
                    participant: o.publisher.clone(),
                    kind: o.kind,
                    source: o.source,
                }),
                _ => None,
            })
            .collect();
        events.push(SfuEvent::SubscriberOffer {
            room: self.id.clone(),
            participant: p.id.clone(),
            sdp: offer.to_sdp_string(),
            tracks,
        });
    }

    /// Marks the outstanding offer answered.
    pub fn answered(&mut self, i: usize, now: Instant) {
        let p = &mut self.participants[i];
        let mut opened = Vec::new();
        for out in &mut p.outs {
            if let OutState::Negotiating(m) = out.state {
                out.state = OutState::Open(m);
                opened.push((out.publisher.clone(), out.track.clone()));
            }
        }
        p.outs
            .retain(|o| !matches!(o.state, OutState::NegotiatingStop(_)));
        // A new subscriber needs a keyframe to start decoding.
        for (publisher, track) in opened {
            self.request_keyframe(&publisher, &track, Layer::Low, now);
            self.request_keyframe(&publisher, &track, Layer::Medium, now);
            self.request_keyframe(&publisher, &track, Layer::High, now);
        }
    }
}
