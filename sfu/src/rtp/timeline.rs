//! One forwarded track's RTP timeline across simulcast layer switches.
//!
//! Chromium stamps all layers of a frame with one timestamp, so a switch needs no
//! change; other senders give each layer its own base. When a switch lands far from
//! where the last frame was, the new layer is re-based to continue one frame after
//! the last one sent, so the receiver's jitter buffer sees no jump.

/// Input time jumps larger than this many seconds at a switch mean another base.
const MAX_CONTINUOUS_GAP_SECS: u64 = 1;
/// Assumed frame spacing when re-basing, as a fraction of a second (30 fps).
const FRAME_DIVISOR: u64 = 30;

/// Maps input media time (ticks) to output media time for one subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timeline {
    offset: i64,
    last: Option<(u64, u64)>,
}

impl Timeline {
    /// The output time of a frame at input time `t_in` (ticks at `clock_rate`).
    /// `switched` is true for the first frame of a newly chosen layer.
    pub fn map(&mut self, t_in: u64, clock_rate: u64, switched: bool) -> u64 {
        if switched
            && let Some((last_in, last_out)) = self.last
            && t_in.abs_diff(last_in) > MAX_CONTINUOUS_GAP_SECS * clock_rate
        {
            let next = last_out + clock_rate / FRAME_DIVISOR;
            self.offset = next as i64 - t_in as i64;
        }
        let t_out = (t_in as i64 + self.offset).max(0) as u64;
        self.last = Some((t_in, t_out));
        t_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 90_000;

    #[test]
    fn same_base_layers_pass_through() {
        let mut t = Timeline::default();
        assert_eq!(t.map(1_000_000, HZ, true), 1_000_000);
        assert_eq!(t.map(1_003_000, HZ, false), 1_003_000);
        // A switch to a layer with the same base keeps the times as they are.
        assert_eq!(t.map(1_006_000, HZ, true), 1_006_000);
    }

    #[test]
    fn a_foreign_base_is_rebased_after_the_last_frame() {
        let mut t = Timeline::default();
        t.map(1_000_000, HZ, true);
        t.map(1_003_000, HZ, false);
        let first = t.map(50_000_000, HZ, true);
        assert_eq!(first, 1_003_000 + HZ / 30);
        assert_eq!(
            t.map(50_003_000, HZ, false),
            first + 3_000,
            "spacing is kept"
        );
    }
}
