//! Layer selection for every subscriber, from its bandwidth estimate and tile sizes,
//! and the bitrates the SFU asks str0m's bandwidth estimator to probe for.

use std::time::Instant;

use str0m::bwe::Bitrate;

use crate::api::TrackKind;
use crate::participant::OutState;
use crate::room::Room;
use crate::simulcast::{LayerInputs, index, size_cap};

/// Bandwidth kept for each forwarded audio track, in bits per second.
const AUDIO_RESERVE_BPS: u64 = 64_000;

impl Room {
    /// Re-evaluates each subscriber's layers from its bandwidth and tile sizes.
    pub(crate) fn select_layers(&mut self, now: Instant) {
        let mut requests = Vec::new();
        for j in 0..self.participants.len() {
            let (estimate, video_outs, audio_outs) = {
                let p = &self.participants[j];
                let open = |k: TrackKind| {
                    p.outs
                        .iter()
                        .filter(|o| {
                            o.kind == k && matches!(o.state, OutState::Open(_)) && !o.prefs.paused
                        })
                        .count() as u64
                };
                (
                    p.estimate_bps,
                    open(TrackKind::Video),
                    open(TrackKind::Audio),
                )
            };
            if video_outs == 0 {
                continue;
            }
            let budget = estimate
                .map(|e| e.saturating_sub(audio_outs * AUDIO_RESERVE_BPS) / video_outs)
                .unwrap_or(u64::MAX);
            let mut desired = 0;
            let mut minimum = 0;
            for k in 0..self.participants[j].outs.len() {
                let (track, publisher, prefs) = {
                    let o = &self.participants[j].outs[k];
                    if o.kind != TrackKind::Video || !matches!(o.state, OutState::Open(_)) {
                        continue;
                    }
                    (o.track.clone(), o.publisher.clone(), o.prefs)
                };
                let Some(t) = self
                    .participants
                    .iter()
                    .find(|p| p.id == publisher)
                    .and_then(|p| p.published.iter().find(|t| t.id == track))
                else {
                    continue;
                };
                let layer_bps = [0, 1, 2].map(|n| t.meters[n].bps());
                let mut available = t.available(now);
                if !t.simulcast {
                    available = [false, false, true];
                }
                let inputs = LayerInputs {
                    budget_bps: budget,
                    layer_bps,
                    available,
                    size_cap: size_cap(prefs.max_height, t.heights()),
                };
                let top = layer_bps.iter().copied().max().unwrap_or(0);
                let o = &mut self.participants[j].outs[k];
                let target = o.selector.select(&inputs, now);
                o.target = target;
                if let Some(target) = target {
                    desired += top.max(layer_bps[index(target)]);
                    minimum += layer_bps[index(target)];
                    if o.current != Some(target) {
                        requests.push((publisher, track, target));
                    }
                }
            }
            let audio = audio_outs * AUDIO_RESERVE_BPS;
            if let Some(subscriber) = self.participants[j].subscriber.as_mut() {
                subscriber.with(|rtc| {
                    rtc.bwe().set_bitrate(
                        Bitrate::bps(minimum + audio),
                        Bitrate::bps((desired + audio).max(minimum + audio)),
                    )
                });
            }
        }
        for (publisher, track, layer) in requests {
            self.request_keyframe(&publisher, &track, layer, now);
        }
    }
}
