//! Throttling of keyframe requests toward publishers: every subscriber's PLI would
//! otherwise reach the publisher, and each keyframe is a burst of bits.
//!
//! A request is redundant only while the keyframe it asked for is still on its way:
//! once a keyframe of the layer arrives, the next request goes out at once. Otherwise
//! a recorder or subscriber that starts waiting just after a keyframe passed would be
//! held back a whole interval (the three-browser recording test saw camera files start
//! over a second late that way).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::Rid;

/// Minimum spacing of unanswered keyframe requests for one layer of one track. Just
/// above the 300 ms within which a Chromium sender ignores a repeated request, so a
/// retry after it is never wasted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(350);

/// Remembers, per layer, when a keyframe was asked for and not yet received.
#[derive(Debug, Default)]
pub struct KeyframeThrottle {
    pending: HashMap<Option<Rid>, Instant>,
}

impl KeyframeThrottle {
    /// `true` if a request for `rid` may go out now (and records it).
    pub fn allow(&mut self, rid: Option<Rid>, now: Instant) -> bool {
        match self.pending.get(&rid) {
            Some(t) if now.saturating_duration_since(*t) < MIN_INTERVAL => false,
            _ => {
                self.pending.insert(rid, now);
                true
            }
        }
    }

    /// A keyframe of `rid` arrived: whatever was asked for it has been answered.
    pub fn answered(&mut self, rid: Option<Rid>) {
        self.pending.remove(&rid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unanswered_request_per_layer_per_interval() {
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

    #[test]
    fn a_keyframe_received_lets_the_next_request_through() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::default();
        let h = Some(Rid::from("h"));
        assert!(k.allow(h, t0));
        k.answered(Some(Rid::from("q")));
        assert!(
            !k.allow(h, t0 + Duration::from_millis(50)),
            "another layer's keyframe answers nothing"
        );
        k.answered(h);
        assert!(k.allow(h, t0 + Duration::from_millis(60)));
        assert!(!k.allow(h, t0 + Duration::from_millis(70)));
    }
}
