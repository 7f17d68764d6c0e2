//! Active-speaker detection from RFC 6464 audio levels, which browsers put in every
//! Opus packet, so the SFU never decodes audio to know who speaks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::api::ParticipantId;

/// How often the speaker list may change.
pub const INTERVAL: Duration = Duration::from_millis(250);
/// Level (0..=100) at which a participant starts speaking.
const SPEAKING_THRESHOLD: f32 = 20.0;
/// Level below which a speaker stops speaking; the gap keeps the list from flapping.
const SILENT_THRESHOLD: f32 = 10.0;
/// Without packets for this long (DTX, mute) a level counts as silence.
const STALE: Duration = Duration::from_millis(500);
/// Weight of a new sample in the moving average.
const SMOOTHING: f32 = 0.3;
/// dBov at and below which a level maps to 0.
const FLOOR_DBOV: f32 = 70.0;

#[derive(Debug, Clone, Copy)]
struct Level {
    value: f32,
    last: Instant,
}

/// Smoothed levels per participant and the last announced speaker list.
#[derive(Debug)]
pub struct SpeakerDetector {
    levels: HashMap<ParticipantId, Level>,
    announced: Vec<ParticipantId>,
    next_poll: Instant,
}

impl SpeakerDetector {
    /// An empty detector.
    pub fn new(now: Instant) -> Self {
        Self {
            levels: HashMap::new(),
            announced: Vec::new(),
            next_poll: now,
        }
    }

    /// Records one packet's level: `dbov` is the RFC 6464 value, 0 (loudest) to 127.
    pub fn on_level(&mut self, participant: &ParticipantId, dbov: i8, now: Instant) {
        let dbov = f32::from(dbov.unsigned_abs().min(127));
        let sample = (100.0 * (1.0 - dbov / FLOOR_DBOV)).clamp(0.0, 100.0);
        let entry = self.levels.entry(participant.clone()).or_insert(Level {
            value: 0.0,
            last: now,
        });
        entry.value = entry.value * (1.0 - SMOOTHING) + sample * SMOOTHING;
        entry.last = now;
    }

    /// Forgets a participant who left.
    pub fn remove(&mut self, participant: &ParticipantId) {
        self.levels.remove(participant);
    }

    /// The speakers, loudest first, when the list changed since the last call
    /// that returned `Some`; at most once per [`INTERVAL`].
    pub fn poll(&mut self, now: Instant) -> Option<Vec<(ParticipantId, u8)>> {
        if now < self.next_poll {
            return None;
        }
        self.next_poll = now + INTERVAL;
        let mut speaking: Vec<(ParticipantId, f32)> = self
            .levels
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last) < STALE)
            .filter(|(p, l)| {
                let threshold = if self.announced.contains(p) {
                    SILENT_THRESHOLD
                } else {
                    SPEAKING_THRESHOLD
                };
                l.value >= threshold
            })
            .map(|(p, l)| (p.clone(), l.value))
            .collect();
        speaking.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let ids: Vec<ParticipantId> = speaking.iter().map(|(p, _)| p.clone()).collect();
        if ids == self.announced {
            return None;
        }
        self.announced = ids;
        Some(
            speaking
                .into_iter()
                .map(|(p, v)| (p, v.round().clamp(0.0, 100.0) as u8))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParticipantId {
        ParticipantId(s.into())
    }

    #[test]
    fn loud_participant_becomes_speaker_and_silence_clears_it() {
        let t0 = Instant::now();
        let mut d = SpeakerDetector::new(t0);
        for i in 0..20 {
            d.on_level(&p("a"), -10, t0 + Duration::from_millis(20 * i));
            d.on_level(&p("b"), -127, t0 + Duration::from_millis(20 * i));
        }
        let list = d.poll(t0 + Duration::from_millis(400)).expect("a change");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].0, p("a"));
        assert!(list[0].1 > 50);
        assert_eq!(d.poll(t0 + Duration::from_millis(700)), None, "unchanged");
        // No packets for longer than STALE (DTX): a is silent.
        assert_eq!(d.poll(t0 + Duration::from_millis(1500)), Some(vec![]));
    }

    #[test]
    fn loudest_first() {
        let t0 = Instant::now();
        let mut d = SpeakerDetector::new(t0);
        for i in 0..20 {
            let t = t0 + Duration::from_millis(20 * i);
            d.on_level(&p("a"), -40, t);
            d.on_level(&p("b"), -5, t);
        }
        let list = d.poll(t0 + Duration::from_millis(400)).expect("a change");
        let ids: Vec<_> = list.iter().map(|(p, _)| p.0.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }
}
