//! Choice of the simulcast layer forwarded to one subscriber for one video track.
//!
//! Down fast, up slowly: a layer that no longer fits the bandwidth is left at once;
//! a higher layer is taken only after the budget has held it for [`UP_DELAY`].

use std::time::{Duration, Instant};

use crate::api::Layer;

/// How long a higher layer must fit before the subscriber is moved up.
pub const UP_DELAY: Duration = Duration::from_secs(2);

/// Headroom required above a layer's bitrate before it counts as fitting.
const HEADROOM: f64 = 1.15;

/// Bitrates assumed for layers not measured yet, in bits per second.
const DEFAULT_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];

/// All layers, lowest first.
pub const LAYERS: [Layer; 3] = [Layer::Low, Layer::Medium, Layer::High];

/// What the choice depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerInputs {
    /// Bandwidth available to this track, in bits per second.
    pub budget_bps: u64,
    /// Measured incoming bitrate per layer (low, medium, high); 0 when unknown.
    pub layer_bps: [u64; 3],
    /// Which layers the publisher currently sends.
    pub available: [bool; 3],
    /// The highest layer worth sending for the subscriber's tile size.
    pub size_cap: Layer,
}

/// Hysteresis state of one subscription.
#[derive(Debug, Clone, Default)]
pub struct LayerSelector {
    target: Option<Layer>,
    higher_since: Option<Instant>,
}

impl LayerSelector {
    /// The layer to forward now.
    pub fn select(&mut self, inputs: &LayerInputs, now: Instant) -> Option<Layer> {
        let ideal = ideal_layer(inputs)?;
        let Some(target) = self.target else {
            self.target = Some(ideal);
            return self.target;
        };
        if !inputs.available[index(target)] || ideal < target {
            self.target = Some(ideal);
            self.higher_since = None;
        } else if ideal > target {
            let since = *self.higher_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= UP_DELAY {
                self.target = Some(ideal);
                self.higher_since = None;
            }
        } else {
            self.higher_since = None;
        }
        self.target
    }
}

/// The best layer that fits both budget and size, or the lowest available.
fn ideal_layer(inputs: &LayerInputs) -> Option<Layer> {
    let lowest = LAYERS.into_iter().find(|l| inputs.available[index(*l)])?;
    let best = LAYERS.into_iter().rfind(|l| {
        let bps = match inputs.layer_bps[index(*l)] {
            0 => DEFAULT_BPS[index(*l)],
            bps => bps,
        };
        inputs.available[index(*l)]
            && *l <= inputs.size_cap
            && inputs.budget_bps as f64 >= bps as f64 * HEADROOM
    });
    Some(best.unwrap_or(lowest))
}

/// The smallest layer at least `max_height` tall, given each layer's height.
pub fn size_cap(max_height: Option<u32>, heights: [u32; 3]) -> Layer {
    let Some(want) = max_height else {
        return Layer::High;
    };
    LAYERS
        .into_iter()
        .find(|l| heights[index(*l)] >= want)
        .unwrap_or(Layer::High)
}

/// Index of a layer in per-layer arrays.
pub fn index(layer: Layer) -> usize {
    match layer {
        Layer::Low => 0,
        Layer::Medium => 1,
        Layer::High => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(budget: u64) -> LayerInputs {
        LayerInputs {
            budget_bps: budget,
            layer_bps: [100_000, 400_000, 1_200_000],
            available: [true; 3],
            size_cap: Layer::High,
        }
    }

    #[test]
    fn starts_at_what_fits_then_drops_at_once() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(s.select(&inputs(3_000_000), t0), Some(Layer::High));
        assert_eq!(s.select(&inputs(300_000), t0), Some(Layer::Low));
    }

    #[test]
    fn climbs_only_after_the_budget_held() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(s.select(&inputs(200_000), t0), Some(Layer::Low));
        assert_eq!(s.select(&inputs(3_000_000), t0), Some(Layer::Low));
        let t1 = t0 + UP_DELAY / 2;
        assert_eq!(s.select(&inputs(3_000_000), t1), Some(Layer::Low));
        let t2 = t0 + UP_DELAY;
        assert_eq!(s.select(&inputs(3_000_000), t2), Some(Layer::High));
    }

    #[test]
    fn a_dip_resets_the_climb() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        s.select(&inputs(200_000), t0);
        s.select(&inputs(3_000_000), t0);
        s.select(&inputs(200_000), t0 + UP_DELAY / 2);
        assert_eq!(
            s.select(&inputs(3_000_000), t0 + UP_DELAY),
            Some(Layer::Low)
        );
    }

    #[test]
    fn size_caps_the_layer_and_missing_layers_are_skipped() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        let mut i = inputs(10_000_000);
        i.size_cap = Layer::Medium;
        assert_eq!(s.select(&i, t0), Some(Layer::Medium));
        let mut s = LayerSelector::default();
        let mut i = inputs(10_000_000);
        i.available = [false, false, true];
        i.budget_bps = 10_000;
        assert_eq!(s.select(&i, t0), Some(Layer::High), "only layer there is");
        i.available = [false; 3];
        assert_eq!(LayerSelector::default().select(&i, t0), None);
    }

    #[test]
    fn size_cap_picks_smallest_tall_enough_layer() {
        let heights = [180, 360, 720];
        assert_eq!(size_cap(None, heights), Layer::High);
        assert_eq!(size_cap(Some(170), heights), Layer::Low);
        assert_eq!(size_cap(Some(300), heights), Layer::Medium);
        assert_eq!(size_cap(Some(1080), heights), Layer::High);
    }
}
