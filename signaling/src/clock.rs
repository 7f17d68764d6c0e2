//! Wall-clock time as the log records it: milliseconds since the Unix epoch and
//! RFC 3339 UTC strings.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `ms` as RFC 3339 UTC with milliseconds and a `Z` (e.g. `2026-03-12T09:00:00.123Z`).
pub fn rfc3339(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            let t = t.replace_nanosecond((ms % 1000) as u32 * 1_000_000).ok()?;
            t.format(&Rfc3339).ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc_with_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_773_306_000_123), "2026-03-12T09:00:00.123Z");
        assert_eq!(
            parse_rfc3339("2026-03-12T09:00:00.123Z"),
            Some(1_773_306_000_123)
        );
        assert_eq!(
            parse_rfc3339("2026-03-12T10:00:00+01:00"),
            Some(1_773_306_000_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
