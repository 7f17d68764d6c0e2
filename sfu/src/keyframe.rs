//! Throttling of keyframe requests toward publishers: every subscriber's PLI would
//! otherwise reach the publisher, and each keyframe is a burst of bits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::Rid;

/// Minimum spacing of keyframe requests for one layer of one track.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// Remembers when a keyframe was last requested per layer.
#[derive(Debug, Default)]
pub struct KeyframeThrottle {
    last: HashMap<Option<Rid>, Instant>,
}

impl KeyframeThrottle {
    /// `true` if a request for `rid` may go out now (and records it).
    pub fn allow(&mut self, rid: Option<Rid>, now: Instant) -> bool {
        match self.last.get(&rid) {
            Some(t) if now.saturating_duration_since(*t) < MIN_INTERVAL => false,
            _ => {
                self.last.insert(rid, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_layer_per_interval() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::default();
        let h = Some(Rid::from("h"));
        assert!(k.allow(h, t0));
        assert!(!k.allow(h, t0 + Duration::from_millis(100)));
        assert!(
            k.allow(Some(Rid::from("q")), t0),
            "another layer is independent"
        );
        assert!(k.allow(h, t0 + MIN_INTERVAL));
    }
}
