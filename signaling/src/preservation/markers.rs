//! The chapters of a session, read off its attendance log: agenda items, votes and
//! suspensions become [`Marker`]s with Italian labels, on the log's UTC clock. Pure:
//! the same log always gives the same markers.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use seduta_recordings::chapters::{Marker, MarkerKind};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::attendance::Entry;
use crate::store::AgendaItem;

/// The markers of the log `entries`, with agenda subjects from `agenda`. An item ends
/// when the next one opens or the session closes; a vote when it is closed; a
/// suspension when the session resumes. A span the log leaves open lasts to the end of
/// the recording. Entries whose time cannot be read are skipped.
pub fn markers_from_log(entries: &[Entry], agenda: &[AgendaItem]) -> Vec<Marker> {
    let subjects: BTreeMap<u32, &str> = agenda
        .iter()
        .map(|a| (a.number, a.subject.as_str()))
        .collect();
    let mut out = Vec::new();
    let mut open_item: Option<u32> = None;
    let mut votes = 0u32;
    let mut open_vote: Option<String> = None;
    let mut suspensions = 0u32;
    let mut open_suspension: Option<String> = None;
    for entry in entries {
        let Some(at) = parse_time(&entry.at) else {
            continue;
        };
        let data = &entry.data;
        match entry.kind.as_str() {
            "item_opened" => {
                let Some(item) = item_of(data) else { continue };
                if let Some(previous) = open_item.take() {
                    out.push(item_end(at, previous));
                }
                let label = match subjects.get(&item) {
                    Some(subject) => format!("Punto {item}: {subject}"),
                    None => format!("Punto {item}"),
                };
                out.push(Marker::new(
                    at,
                    MarkerKind::AgendaItemStarted,
                    item_key(item),
                    label,
                ));
                open_item = Some(item);
            }
            "vote_opened" => {
                let Some(item) = item_of(data) else { continue };
                votes += 1;
                let key = format!("vote-{votes}");
                let label = match data.get("kind").and_then(Value::as_str) {
                    Some("immediate_executability") => {
                        format!("Votazione sull'immediata eseguibilità del punto {item}")
                    }
                    _ => format!("Votazione sul punto {item}"),
                };
                out.push(Marker::new(at, MarkerKind::VoteOpened, key.clone(), label));
                open_vote = Some(key);
            }
            "vote_closed" => {
                if let Some(key) = open_vote.take() {
                    let label = closed_vote_label(data.get("outcome"));
                    out.push(Marker::new(at, MarkerKind::VoteClosed, key, label));
                }
            }
            "session_suspended" => {
                suspensions += 1;
                let key = format!("suspension-{suspensions}");
                out.push(Marker::new(
                    at,
                    MarkerKind::Suspended,
                    key.clone(),
                    "Sospensione della seduta",
                ));
                open_suspension = Some(key);
            }
            "session_resumed" => {
                if let Some(key) = open_suspension.take() {
                    out.push(Marker::new(
                        at,
                        MarkerKind::Resumed,
                        key,
                        "Ripresa della seduta dopo l'appello",
                    ));
                }
            }
            "session_closed" => {
                if let Some(item) = open_item.take() {
                    out.push(item_end(at, item));
                }
            }
            _ => {}
        }
    }
    out
}

fn item_key(item: u32) -> String {
    format!("item-{item}")
}

fn item_end(at: SystemTime, item: u32) -> Marker {
    Marker::new(
        at,
        MarkerKind::AgendaItemEnded,
        item_key(item),
        format!("Fine del punto {item}"),
    )
}

fn item_of(data: &Value) -> Option<u32> {
    data.get("item")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// `Votazione chiusa: approvata (3 favorevoli, 1 contrario, 1 astenuto)`.
fn closed_vote_label(outcome: Option<&Value>) -> String {
    let Some(outcome) = outcome else {
        return "Votazione chiusa".to_owned();
    };
    let verdict = match outcome.get("approved").and_then(Value::as_bool) {
        Some(true) => "approvata",
        Some(false) => "respinta",
        None => return "Votazione chiusa".to_owned(),
    };
    let count = |name: &str| {
        outcome
            .get("count")
            .and_then(|c| c.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Votazione chiusa: {verdict} ({}, {}, {})",
        plural(count("favorevoli"), "favorevole", "favorevoli"),
        plural(count("contrari"), "contrario", "contrari"),
        plural(count("astenuti"), "astenuto", "astenuti"),
    )
}

/// An attendance entry's RFC 3339 UTC time as a wall-clock instant.
fn parse_time(at: &str) -> Option<SystemTime> {
    let t = OffsetDateTime::parse(at, &Rfc3339).ok()?;
    let nanos = u64::try_from(t.unix_timestamp_nanos()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seq: u64, second: u32, kind: &str, data: Value) -> Entry {
        Entry {
            seq,
            at: format!("2026-03-12T10:00:{second:02}.000Z"),
            session: "s1".into(),
            kind: kind.into(),
            data,
            prev: String::new(),
            hash: String::new(),
        }
    }

    fn agenda() -> Vec<AgendaItem> {
        vec![
            AgendaItem {
                number: 1,
                subject: "Variazione di bilancio".into(),
            },
            AgendaItem {
                number: 2,
                subject: "Piano delle opere".into(),
            },
        ]
    }

    fn summary(markers: &[Marker]) -> Vec<(u64, MarkerKind, String, String)> {
        markers
            .iter()
            .map(|m| {
                let s =
                    m.at.duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs() % 60)
                        .unwrap_or(99);
                (s, m.kind, m.key.clone(), m.label.clone())
            })
            .collect()
    }

    #[test]
    fn items_votes_and_suspensions_become_paired_markers() {
        let outcome = json!({ "approved": true, "tie": false, "decided_by_presiding": false,
            "count": { "favorevoli": 3, "contrari": 1, "astenuti": 1, "presenti": 5 } });
        let log = vec![
            entry(1, 0, "session_opened", json!({})),
            entry(2, 1, "item_opened", json!({ "item": 1 })),
            entry(
                3,
                2,
                "vote_opened",
                json!({ "item": 1, "kind": "deliberation" }),
            ),
            entry(4, 3, "vote_cast", json!({ "item": 1 })),
            entry(
                5,
                4,
                "vote_closed",
                json!({ "item": 1, "outcome": outcome }),
            ),
            entry(
                6,
                5,
                "vote_opened",
                json!({ "item": 1, "kind": "immediate_executability" }),
            ),
            entry(
                7,
                6,
                "vote_closed",
                json!({ "item": 1, "outcome": { "approved": false,
                "count": { "favorevoli": 1, "contrari": 0, "astenuti": 0 } } }),
            ),
            entry(8, 7, "session_suspended", json!({})),
            entry(9, 8, "session_resumed", json!({})),
            entry(10, 9, "item_opened", json!({ "item": 2 })),
            entry(11, 10, "session_closed", json!({})),
            entry(12, 10, "sealed", json!({})),
        ];
        let got = summary(&markers_from_log(&log, &agenda()));
        use MarkerKind::*;
        let want = vec![
            (
                1,
                AgendaItemStarted,
                "item-1",
                "Punto 1: Variazione di bilancio",
            ),
            (2, VoteOpened, "vote-1", "Votazione sul punto 1"),
            (
                4,
                VoteClosed,
                "vote-1",
                "Votazione chiusa: approvata (3 favorevoli, 1 contrario, 1 astenuto)",
            ),
            (
                5,
                VoteOpened,
                "vote-2",
                "Votazione sull'immediata eseguibilità del punto 1",
            ),
            (
                6,
                VoteClosed,
                "vote-2",
                "Votazione chiusa: respinta (1 favorevole, 0 contrari, 0 astenuti)",
            ),
            (7, Suspended, "suspension-1", "Sospensione della seduta"),
            (
                8,
                Resumed,
                "suspension-1",
                "Ripresa della seduta dopo l'appello",
            ),
            (9, AgendaItemEnded, "item-1", "Fine del punto 1"),
            (9, AgendaItemStarted, "item-2", "Punto 2: Piano delle opere"),
            (10, AgendaItemEnded, "item-2", "Fine del punto 2"),
        ];
        let want: Vec<_> = want
            .into_iter()
            .map(|(s, k, key, l)| (s, k, key.to_owned(), l.to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unreadable_or_unpaired_entries_leave_no_marker() {
        let log = vec![
            entry(1, 0, "item_opened", json!({ "item": "uno" })),
            entry(2, 1, "vote_closed", json!({})),
            entry(3, 2, "session_resumed", json!({})),
            Entry {
                at: "not a time".into(),
                ..entry(4, 3, "item_opened", json!({ "item": 1 }))
            },
            entry(5, 4, "item_opened", json!({ "item": 7 })),
        ];
        let got = summary(&markers_from_log(&log, &agenda()));
        assert_eq!(
            got,
            vec![(
                4,
                MarkerKind::AgendaItemStarted,
                "item-7".to_owned(),
                "Punto 7".to_owned()
            )]
        );
    }

    #[test]
    fn markers_build_chapters() {
        // The markers of a whole session are accepted by the chapter builder.
        let log = vec![
            entry(1, 1, "item_opened", json!({ "item": 1 })),
            entry(2, 2, "vote_opened", json!({ "item": 1 })),
            entry(3, 3, "session_suspended", json!({})),
            entry(4, 4, "item_opened", json!({ "item": 2 })),
        ];
        let markers = markers_from_log(&log, &agenda());
        let start = parse_time("2026-03-12T10:00:00.000Z").unwrap_or(SystemTime::UNIX_EPOCH);
        let timeline =
            seduta_recordings::chapters::RecordingTimeline::new(start, Duration::from_secs(10));
        let list = seduta_recordings::chapters::ChapterList::build(&markers, &timeline);
        assert!(list.is_ok(), "{list:?}");
    }
}
