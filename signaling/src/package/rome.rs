//! Italian local time (Europe/Rome) for the record: the verbale prints the times the
//! people in the chamber saw on the wall. The rule is the EU one (Directive
//! 2000/84/EC): CEST (+02:00) from 01:00 UTC on the last Sunday of March to 01:00
//! UTC on the last Sunday of October, CET (+01:00) otherwise. No time-zone database is
//! needed for one zone with a fixed rule.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The last Sunday of `month` in `year`, at 01:00 UTC.
fn switch(year: i32, month: Month) -> Option<OffsetDateTime> {
    let mut day = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(PrimitiveDateTime::new(day, Time::from_hms(1, 0, 0).ok()?).assume_utc())
}

/// The offset of Italian local time at the instant `utc`.
pub fn offset_at(utc: OffsetDateTime) -> UtcOffset {
    let utc = utc.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let summer = match (switch(year, Month::March), switch(year, Month::October)) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `t` in Italian local time.
pub fn to_rome(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(offset_at(t))
}

/// An RFC 3339 time (the log's UTC `…Z`) as RFC 3339 in Italian local time, to the
/// second (`2026-03-12T10:00:05+01:00`). A time that does not parse is returned as
/// it is (the record check then names it).
pub fn rome_rfc3339(at: &str) -> String {
    match OffsetDateTime::parse(at, &Rfc3339) {
        Ok(t) => format_rome(t),
        Err(_) => at.to_owned(),
    }
}

/// `t` as RFC 3339 in Italian local time, to the second.
pub fn format_rome(t: OffsetDateTime) -> String {
    let local = to_rome(t);
    let local = local.replace_nanosecond(0).unwrap_or(local);
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    local.format(&format).unwrap_or_else(|_| t.to_string())
}

/// The Italian local date (`YYYY-MM-DD`) of an RFC 3339 time.
pub fn rome_date(at: &str) -> Option<String> {
    let t = OffsetDateTime::parse(at, &Rfc3339).ok()?;
    let d = to_rome(t).date();
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_offsets_switch_on_the_last_sundays_at_one_utc() {
        for (utc, local) in [
            ("2026-03-12T09:00:00Z", "2026-03-12T10:00:00+01:00"),
            ("2026-07-01T09:30:15.250Z", "2026-07-01T11:30:15+02:00"),
            // 2026: summer time from Sunday 29 March, 01:00 UTC.
            ("2026-03-29T00:59:59Z", "2026-03-29T01:59:59+01:00"),
            ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00"),
            // … to Sunday 25 October, 01:00 UTC.
            ("2026-10-25T00:59:59Z", "2026-10-25T02:59:59+02:00"),
            ("2026-10-25T01:00:00Z", "2026-10-25T02:00:00+01:00"),
            ("2026-12-31T23:30:00Z", "2027-01-01T00:30:00+01:00"),
        ] {
            assert_eq!(rome_rfc3339(utc), local, "{utc}");
        }
        assert_eq!(
            rome_date("2026-12-31T23:30:00Z").as_deref(),
            Some("2027-01-01")
        );
        assert_eq!(rome_rfc3339("not a time"), "not a time");
    }
}
