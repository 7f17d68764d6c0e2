//! Dates and times as the record carries them (RFC 3339) and as the verbale shows them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Parses an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

const MONTHS: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

/// A date in Italian words: `12 marzo 2026`.
pub fn italian_date(date: Date) -> String {
    let month = MONTHS[usize::from(u8::from(date.month())) - 1];
    format!("{} {} {}", date.day(), month, date.year())
}

/// The clock time of an RFC 3339 time in its own offset, `09:05`; the input
/// itself when it does not parse (a checked record always parses).
pub fn clock(s: &str) -> String {
    match parse_time(s) {
        Some(t) => format!("{:02}:{:02}", t.hour(), t.minute()),
        None => s.to_owned(),
    }
}

/// The same with seconds, `09:05:30`, for the attendance events.
pub fn clock_seconds(s: &str) -> String {
    match parse_time(s) {
        Some(t) => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_clocks_read_in_italian() {
        let d = parse_date("2026-03-12").expect("date");
        assert_eq!(italian_date(d), "12 marzo 2026");
        assert_eq!(clock("2026-03-12T09:05:30+01:00"), "09:05");
        assert_eq!(clock_seconds("2026-03-12T09:05:30+01:00"), "09:05:30");
        assert!(parse_time("12/03/2026").is_none());
    }
}
