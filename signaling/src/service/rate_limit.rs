use std::time::Instant;

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token; `false` when the bucket is empty.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Default client message rate: 20 per second.
pub const MESSAGES_PER_SECOND: u32 = 20;
/// Default burst: 40 messages.
pub const MESSAGE_BURST: u32 = 40;
/// Refused messages after which a flooding connection is closed.
pub const MAX_REFUSED: u32 = 100;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const REFILL: Duration = Duration::from_millis(1000 / MESSAGES_PER_SECOND as u64);

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(MESSAGES_PER_SECOND, MESSAGE_BURST, t0);
        for _ in 0..MESSAGE_BURST {
            assert!(b.take(t0));
        }
        assert!(!b.take(t0));
        assert!(b.take(t0 + REFILL));
        assert!(!b.take(t0 + REFILL));
    }
}
