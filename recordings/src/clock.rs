//! Clocks: the session's wall-clock anchor and NTP timestamps from RTCP sender reports.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The session's time origin: one wall-clock reading and the monotonic instant taken
/// with it, so that every arrival instant maps to UTC without the wall clock's jumps.
#[derive(Debug, Clone, Copy)]
pub struct SessionClock {
    wall: SystemTime,
    instant: Instant,
}

impl SessionClock {
    /// The origin now.
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            instant: Instant::now(),
        }
    }

    /// The wall-clock time of the origin.
    pub fn origin_wall_clock(&self) -> SystemTime {
        self.wall
    }

    /// The monotonic instant of the origin.
    pub fn origin_instant(&self) -> Instant {
        self.instant
    }

    /// How long after the origin `at` is (zero for an instant before it).
    pub fn since_origin(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.instant)
    }

    /// The wall-clock time of a monotonic instant.
    pub fn wall_clock(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.wall + after,
            None => self.wall - self.instant.duration_since(at),
        }
    }
}

/// A 64-bit NTP timestamp as carried by RTCP sender reports (RFC 3550 §4): seconds since
/// 1900 in the high 32 bits, the fraction of a second in the low 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP timestamp of a wall-clock time (`None` before 1970).
    pub fn from_system_time(time: SystemTime) -> Option<Self> {
        let since_unix = time.duration_since(UNIX_EPOCH).ok()?;
        let secs = since_unix.as_secs().checked_add(NTP_UNIX_OFFSET_SECS)?;
        let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        Some(Self((secs << 32) | frac))
    }

    /// The wall-clock time this timestamp stands for (`None` before 1970).
    pub fn to_system_time(self) -> Option<SystemTime> {
        let secs = (self.0 >> 32).checked_sub(NTP_UNIX_OFFSET_SECS)?;
        let nanos = ((self.0 & 0xffff_ffff) * 1_000_000_000) >> 32;
        Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(nanos))
    }
}

/// A wall-clock time as RFC 3339 UTC with nanoseconds, e.g. `2026-03-02T09:30:00.123456789Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let utc = time::OffsetDateTime::from(time);
    utc.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{}ns after 1970", unix_nanos(time)))
}

/// Nanoseconds since the Unix epoch (zero before it).
pub(crate) fn unix_nanos(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_772_443_800, 250_000_000);
        let ntp = NtpTime::from_system_time(t).expect("after 1970");
        assert_eq!(ntp.0 >> 32, 1_772_443_800 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(ntp.0 & 0xffff_ffff, 1 << 30);
        let back = ntp.to_system_time().expect("after 1970");
        let error = back.duration_since(t).unwrap_or_else(|e| e.duration());
        assert!(error < Duration::from_nanos(2));
        assert_eq!(NtpTime(0).to_system_time(), None);
    }

    #[test]
    fn wall_clock_of_instants() {
        let clock = SessionClock::now();
        let later = clock.origin_instant() + Duration::from_millis(1500);
        assert_eq!(
            clock.wall_clock(later),
            clock.origin_wall_clock() + Duration::from_millis(1500)
        );
        assert_eq!(clock.since_origin(later), Duration::from_millis(1500));
        assert!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(86_400)).starts_with("1970-01-02T00:00:00")
        );
    }
}
