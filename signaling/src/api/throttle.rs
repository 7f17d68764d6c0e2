//! Login brute-force protection: after a few failures an account name is locked
//! for a while, whoever tries it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within [`WINDOW`] before the name is locked.
const MAX_FAILURES: u32 = 5;
/// How long failures are remembered, and how long a lock lasts.
const WINDOW: Duration = Duration::from_secs(300);
/// Names remembered at most (oldest forgotten first), so a flood cannot grow it.
const MAX_NAMES: usize = 10_000;

/// Failed logins by user name.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// Whether `username` may try now.
    pub fn allowed(&self, username: &str, now: Instant) -> bool {
        let Ok(map) = self.failures.lock() else {
            return false;
        };
        match map.get(username) {
            Some((count, since)) => *count < MAX_FAILURES || now.duration_since(*since) > WINDOW,
            None => true,
        }
    }

    /// Records a failure.
    pub fn failed(&self, username: &str, now: Instant) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_NAMES {
            map.retain(|_, (_, since)| now.duration_since(*since) <= WINDOW);
        }
        let entry = map.entry(username.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) > WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.1 = now;
    }

    /// Forgets failures after a success.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_five_failures_and_unlocks_after_the_window() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(t.allowed("seg", now));
            t.failed("seg", now);
        }
        assert!(!t.allowed("seg", now));
        assert!(t.allowed("other", now));
        assert!(t.allowed("seg", now + WINDOW + Duration::from_secs(1)));
        t.succeeded("seg");
        assert!(t.allowed("seg", now));
    }
}
