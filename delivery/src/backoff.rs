//! When to try again after a failure.

use rand::Rng;

use crate::config::RetryPolicy;

impl RetryPolicy {
    /// The wait, in milliseconds, after the `attempts`-th failed attempt (from 1):
    /// `initial · 2^(attempts-1)` capped at the maximum, then jittered to a random
    /// value between half and all of it, so that many deliveries that failed
    /// together (a receiver was down) do not all come back at the same instant.
    pub fn backoff_ms(&self, attempts: u32, rng: &mut impl Rng) -> i64 {
        let ceiling = self.ceiling_ms(attempts);
        let floor = ceiling / 2;
        rng.random_range(floor..=ceiling)
    }

    /// The un-jittered wait after the `attempts`-th failure.
    fn ceiling_ms(&self, attempts: u32) -> i64 {
        let initial =
            i64::try_from(self.initial_backoff_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let max = i64::try_from(self.max_backoff_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let shift = attempts.saturating_sub(1).min(62);
        initial.saturating_mul(1i64 << shift).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn doubles_then_caps_with_jitter_in_range() {
        let p = RetryPolicy {
            initial_backoff_secs: 10,
            max_backoff_secs: 100,
            give_up_after_secs: 1000,
        };
        assert_eq!(p.ceiling_ms(1), 10_000);
        assert_eq!(p.ceiling_ms(2), 20_000);
        assert_eq!(p.ceiling_ms(4), 80_000);
        assert_eq!(p.ceiling_ms(5), 100_000);
        assert_eq!(p.ceiling_ms(u32::MAX), 100_000);
        let mut rng = StdRng::seed_from_u64(7);
        for attempts in 1..40 {
            let c = p.ceiling_ms(attempts);
            let d = p.backoff_ms(attempts, &mut rng);
            assert!(d >= c / 2 && d <= c, "{d} outside [{}, {c}]", c / 2);
        }
    }
}
