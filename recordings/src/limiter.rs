//! A look-ahead peak limiter: the mix never goes past its ceiling, so nothing clips and
//! nothing wraps around, however many people speak at once.

use std::collections::VecDeque;

/// A peak limiter with a short look-ahead. The gain needed by every sample is known
/// `window` samples before the sample leaves, and the applied gain is the moving average
/// of the held minimum over that window: it ramps down smoothly before a peak yet is
/// never above what any sample in the window needs, so `|output| <= ceiling` always.
/// After a peak the gain recovers with the release time constant.
pub(crate) struct Limiter {
    ceiling: f32,
    window: usize,
    release: f32,
    /// The last `window` inputs: the delay line.
    delay: VecDeque<f32>,
    /// Increasing (index, needed gain) pairs: the minimum over the window is in front.
    needed: VecDeque<(u64, f32)>,
    /// The last `window` held gains and their sum (for the moving average).
    held: VecDeque<f32>,
    held_sum: f64,
    gain: f32,
    index: u64,
}

impl Limiter {
    /// A limiter with `ceiling` (linear, e.g. 0.89 for -1 dBFS), a look-ahead of
    /// `window` samples and a release time constant of `release_samples` samples.
    pub(crate) fn new(ceiling: f32, window: usize, release_samples: f32) -> Self {
        let window = window.max(1);
        Self {
            ceiling,
            window,
            release: 1.0 - (-1.0 / release_samples.max(1.0)).exp(),
            delay: VecDeque::with_capacity(window + 1),
            needed: VecDeque::with_capacity(window + 1),
            held: std::iter::repeat_n(1.0, window).collect(),
            held_sum: window as f64,
            gain: 1.0,
            index: 0,
        }
    }

    /// How many samples an input waits before it comes out.
    pub(crate) fn latency(&self) -> usize {
        self.window - 1
    }

    /// Takes one sample in; once the delay line is full, one limited sample comes out.
    pub(crate) fn process(&mut self, x: f32) -> Option<f32> {
        let level = x.abs();
        let needed = if level > self.ceiling {
            self.ceiling / level
        } else {
            1.0
        };
        while self.needed.back().is_some_and(|&(_, g)| g >= needed) {
            self.needed.pop_back();
        }
        self.needed.push_back((self.index, needed));
        while self
            .needed
            .front()
            .is_some_and(|&(i, _)| i + self.window as u64 <= self.index)
        {
            self.needed.pop_front();
        }
        let window_min = self.needed.front().map_or(1.0, |&(_, g)| g);
        self.gain = if window_min < self.gain {
            window_min
        } else {
            self.gain + (window_min - self.gain) * self.release
        };
        self.held.push_back(self.gain);
        self.held_sum += f64::from(self.gain);
        if let Some(old) = self.held.pop_front() {
            self.held_sum -= f64::from(old);
        }
        self.index += 1;
        self.delay.push_back(x);
        if self.delay.len() < self.window {
            return None;
        }
        let out = self.delay.pop_front()? * (self.held_sum / self.window as f64) as f32;
        Some(out.clamp(-self.ceiling, self.ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(limiter: &mut Limiter, input: &[f32]) -> Vec<f32> {
        let mut out: Vec<f32> = input.iter().filter_map(|&x| limiter.process(x)).collect();
        for _ in 0..limiter.latency() {
            out.extend(limiter.process(0.0));
        }
        out
    }

    #[test]
    fn quiet_signals_pass_unchanged_and_aligned() {
        let mut limiter = Limiter::new(0.9, 120, 4800.0);
        let input: Vec<f32> = (0..4800).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect();
        let out = run(&mut limiter, &input);
        assert_eq!(out.len(), input.len());
        for (a, b) in input.iter().zip(&out) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn loud_signals_stay_under_the_ceiling() {
        let mut limiter = Limiter::new(0.9, 120, 4800.0);
        let input: Vec<f32> = (0..48_000)
            .map(|i| 12.0 * (i as f32 * 0.07).sin() + if i == 20_000 { 40.0 } else { 0.0 })
            .collect();
        let out = run(&mut limiter, &input);
        assert!(out.iter().all(|y| y.abs() <= 0.9));
        // Limited, not silenced: the peaks come close to the ceiling.
        assert!(out[24_000..].iter().any(|y| y.abs() > 0.8));
        // And the signal keeps its sign (no wrap-around).
        for (x, y) in input.iter().zip(&out).skip(1000) {
            assert!(x * y >= 0.0);
        }
    }
}
