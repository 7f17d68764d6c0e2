//! `GET /api/archive/sessions/{id}`: the record page of a closed session, derived from
//! what the server stores (the sealed attendance log, the votes, the recording
//! folder) and entered in the access log as a `view`. Pure derivation below: the
//! attendance at each roll call (the opening, every item) replays the log's presence
//! events; the votes name who voted what and who, present, did not vote.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::super::ApiError;
use super::super::extract::Staff;
use super::{READERS, closed_session, log_access};
use crate::Shared;
use crate::attendance::Entry;
use crate::preservation::session_folder;
use crate::store::{AccessAction, AgendaItem, SessionParticipant, SessionRecord, VoteRecord};

/// The record page of a closed session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArchiveRecord {
    /// The session.
    pub session: SessionRecord,
    /// The organ's name.
    pub organ_name: String,
    /// The agenda.
    pub agenda: Vec<AgendaItem>,
    /// Everyone invited.
    pub participants: Vec<SessionParticipant>,
    /// Attendance at the opening and at each item (in the order the log has them).
    pub roll_calls: Vec<RollCall>,
    /// The votes, by number, with names.
    pub votes: Vec<VoteView>,
    /// Suspensions and resumptions, disconnections and returns, art. 78 exits: the
    /// log's events a verbale reports, with their times.
    pub events: Vec<EventView>,
    /// The recording.
    pub recording: RecordingView,
}

/// Who was present at one roll call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RollCall {
    /// `opening` or `item`.
    pub kind: String,
    /// The item's number, for `item`.
    pub item: Option<u32>,
    /// When (the log entry's UTC time).
    pub at: String,
    /// One row per participant, in the participants' order.
    pub attendance: Vec<AttendanceRow>,
}

/// One person at one roll call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttendanceRow {
    /// Participant id.
    pub participant: String,
    /// Name.
    pub name: String,
    /// Role in the session (`presiding`, `member`, `segretario`, `guest`, `room`).
    pub role: String,
    /// `present`, `away`, `abstaining` (art. 78, out for this item), `disconnected`,
    /// `lobby` or `absent`.
    pub state: String,
    /// `in_person` or `remote` when present, away or abstaining.
    pub mode: Option<String>,
}

/// A closed vote with the names behind its counts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VoteView {
    /// Number within the session.
    pub number: u32,
    /// The agenda item.
    pub item: u32,
    /// `deliberation` or `immediate_executability`.
    pub kind: String,
    /// Opened (ms since the Unix epoch, UTC).
    pub opened_at_ms: i64,
    /// Closed.
    pub closed_at_ms: i64,
    /// The outcome as computed at the close (`approved`, `count`, `tie`, …).
    #[schema(value_type = Object)]
    pub outcome: Value,
    /// Names of those in favour.
    pub favorevoli: Vec<String>,
    /// Names of those against.
    pub contrari: Vec<String>,
    /// Names of those abstaining.
    pub astenuti: Vec<String>,
    /// Present when the vote opened, no ballot.
    pub non_votanti: Vec<String>,
}

/// An event worth showing beside the roll calls.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EventView {
    /// UTC time.
    pub at: String,
    /// The log's kind (`session_suspended`, `disconnected`, `art78_out`, …).
    pub kind: String,
    /// Who, when it concerns a person.
    pub name: Option<String>,
    /// The item, when it concerns one.
    pub item: Option<u32>,
}

/// The recording, as the player needs it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingView {
    /// The files of the folder that can be served, with their sizes.
    pub files: Vec<FileView>,
    /// What the player plays: `preservation.mp4`, else `mix.flac`, else nothing.
    pub player: Option<String>,
    /// `chapters.json` as written at the close.
    #[schema(value_type = Option<Object>)]
    pub chapters: Option<Value>,
    /// The preservation job's state (`queued`, `running`, `done`, `failed`).
    pub preservation_state: Option<String>,
}

/// A file of the recording folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileView {
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}

/// The record page of a closed session (segretario and clerks); logged as a view.
#[utoipa::path(get, path = "/api/archive/sessions/{id}", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = ArchiveRecord), (status = 403, body = super::super::error::ErrorBody),
              (status = 404, body = super::super::error::ErrorBody), (status = 409, body = super::super::error::ErrorBody)))]
pub async fn record(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<ArchiveRecord>, ApiError> {
    let session = closed_session(&shared, &staff, &id, READERS).await?;
    let organ = staff.organ_of_mine(&shared, &session.organ_id).await?;
    let agenda = shared.store.agenda(&id).await?;
    let participants = shared.store.participants(&id).await?;
    let log: Vec<Entry> = shared.store.log(&id).await?;
    let votes = shared.store.votes(&id).await?;
    let folder = shared
        .config
        .recordings_dir
        .as_deref()
        .and_then(|root| session_folder(root, &id));
    let recording = match folder {
        Some(dir) => tokio::task::spawn_blocking(move || recording_view(&dir))
            .await
            .map_err(|_| ApiError::internal("the recording folder could not be read"))?,
        None => RecordingView {
            files: Vec::new(),
            player: None,
            chapters: None,
            preservation_state: None,
        },
    };
    let view = ArchiveRecord {
        roll_calls: roll_calls(&log, &participants),
        votes: vote_views(&log, &votes, &participants),
        events: events(&log, &participants),
        organ_name: organ.name,
        session,
        agenda,
        participants,
        recording,
    };
    log_access(
        &shared,
        &staff,
        &id,
        AccessAction::View,
        "record",
        String::new(),
    )
    .await?;
    Ok(Json(view))
}

/// The folder's files, what to play and the chapters.
pub(crate) fn recording_view(dir: &Path) -> RecordingView {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            match std::fs::symlink_metadata(entry.path()) {
                Ok(meta) if meta.is_file() && super::media::known_file_name(&name) => {
                    files.push(FileView {
                        name,
                        size: meta.len(),
                    });
                }
                _ => {}
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let has = |n: &str| files.iter().any(|f| f.name == n && f.size > 0);
    let player = ["preservation.mp4", "mix.flac"]
        .into_iter()
        .find(|n| has(n))
        .map(str::to_owned);
    let chapters = std::fs::read(dir.join("chapters.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let preservation_state = seduta_recordings::preserve::status(dir)
        .ok()
        .flatten()
        .and_then(|s| serde_json::to_value(s.state).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    RecordingView {
        files,
        player,
        chapters,
        preservation_state,
    }
}

/// One person's presence while replaying the log.
#[derive(Debug, Clone, PartialEq)]
struct Presence {
    state: &'static str,
    mode: Option<&'static str>,
}

const ABSENT: Presence = Presence {
    state: "absent",
    mode: None,
};

/// The presence after a presence event of the log, from the one before.
fn next_presence(kind: &str, before: &Presence) -> Option<Presence> {
    let keep = |state| Presence {
        state,
        mode: before.mode.or(Some("remote")),
    };
    Some(match kind {
        "entered_lobby" => Presence {
            state: "lobby",
            mode: None,
        },
        "admitted" | "reconnected" => Presence {
            state: "present",
            mode: Some("remote"),
        },
        "checked_in" => Presence {
            state: "present",
            mode: Some("in_person"),
        },
        "away" => keep("away"),
        "returned" | "art78_back" => keep("present"),
        "art78_out" => keep("abstaining"),
        "disconnected" => Presence {
            state: "disconnected",
            mode: None,
        },
        "refused" | "absent_after_disconnection" | "left" => ABSENT,
        _ => return None,
    })
}

fn participant_of(data: &Value) -> Option<&str> {
    data.get("participant").and_then(Value::as_str)
}

fn item_of(data: &Value) -> Option<u32> {
    data.get("item")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// Attendance at the opening and at each item opened, replaying the log.
pub fn roll_calls(log: &[Entry], people: &[SessionParticipant]) -> Vec<RollCall> {
    let mut now: BTreeMap<&str, Presence> = BTreeMap::new();
    let mut out = Vec::new();
    for entry in log {
        if let Some(who) = participant_of(&entry.data) {
            let before = now.get(who).cloned().unwrap_or(ABSENT);
            if let Some(next) = next_presence(&entry.kind, &before) {
                now.insert(who, next);
            }
            continue;
        }
        let (kind, item) = match entry.kind.as_str() {
            "session_opened" => ("opening", None),
            "item_opened" => ("item", item_of(&entry.data)),
            _ => continue,
        };
        let attendance = people
            .iter()
            .map(|p| {
                let presence = now.get(p.id.as_str()).cloned().unwrap_or(ABSENT);
                AttendanceRow {
                    participant: p.id.clone(),
                    name: p.name.clone(),
                    role: p.role.as_str().to_owned(),
                    state: presence.state.to_owned(),
                    mode: presence.mode.map(str::to_owned),
                }
            })
            .collect();
        out.push(RollCall {
            kind: kind.to_owned(),
            item,
            at: entry.at.clone(),
            attendance,
        });
    }
    out
}

fn name_of(people: &[SessionParticipant], id: &str) -> String {
    people
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}

/// The votes with names: ballots from the votes table, the present at the opening of
/// each vote from the log (the n-th `vote_opened` is vote n: one vote at a time).
pub fn vote_views(
    log: &[Entry],
    votes: &[VoteRecord],
    people: &[SessionParticipant],
) -> Vec<VoteView> {
    let present: Vec<Vec<String>> = log
        .iter()
        .filter(|e| e.kind == "vote_opened")
        .map(|e| {
            e.data
                .get("present")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    votes
        .iter()
        .map(|v| {
            let ballots: BTreeMap<String, String> = v
                .ballots
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, b)| b.as_str().map(|b| (k.clone(), b.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            let names = |choice: &str| -> Vec<String> {
                let mut n: Vec<String> = ballots
                    .iter()
                    .filter(|(_, b)| b.as_str() == choice)
                    .map(|(who, _)| name_of(people, who))
                    .collect();
                n.sort();
                n
            };
            let index = usize::try_from(v.number.saturating_sub(1)).unwrap_or(usize::MAX);
            let mut non_votanti: Vec<String> = present
                .get(index)
                .map(|p| {
                    p.iter()
                        .filter(|who| !ballots.contains_key(*who))
                        .map(|who| name_of(people, who))
                        .collect()
                })
                .unwrap_or_default();
            non_votanti.sort();
            VoteView {
                number: v.number,
                item: v.item,
                kind: v.kind.clone(),
                opened_at_ms: v.opened_at_ms,
                closed_at_ms: v.closed_at_ms,
                outcome: v.outcome.clone(),
                favorevoli: names("favorevole"),
                contrari: names("contrario"),
                astenuti: names("astenuto"),
                non_votanti,
            }
        })
        .collect()
}

/// Suspensions, resumptions, disconnections, returns and art. 78 exits.
pub fn events(log: &[Entry], people: &[SessionParticipant]) -> Vec<EventView> {
    const SHOWN: &[&str] = &[
        "session_suspended",
        "session_resumed",
        "disconnected",
        "reconnected",
        "absent_after_disconnection",
        "away",
        "returned",
        "art78_out",
        "art78_back",
        "left",
        "recording_paused",
        "recording_resumed",
        "session_closed",
    ];
    log.iter()
        .filter(|e| SHOWN.contains(&e.kind.as_str()))
        .map(|e| EventView {
            at: e.at.clone(),
            kind: e.kind.clone(),
            name: participant_of(&e.data).map(|who| name_of(people, who)),
            item: item_of(&e.data),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::Role;

    fn entry(seq: u64, kind: &str, data: Value) -> Entry {
        Entry {
            seq,
            at: format!("2026-03-12T09:00:{seq:02}Z"),
            session: "s".into(),
            kind: kind.into(),
            data,
            prev: String::new(),
            hash: String::new(),
        }
    }

    fn person(id: &str, name: &str, role: Role) -> SessionParticipant {
        SessionParticipant {
            session_id: "s".into(),
            id: id.into(),
            name: name.into(),
            role,
            member_id: None,
        }
    }

    #[test]
    fn the_player_falls_back_to_the_mix() {
        let dir = std::env::temp_dir().join(format!(
            "seduta-record-{}-{}",
            std::process::id(),
            crate::auth::uuid_like()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for name in [
            "mix.flac",
            "mix.json",
            "preservation.job.lock",
            ".speakers.json",
        ] {
            std::fs::write(dir.join(name), "x").expect("write");
        }
        let view = recording_view(&dir);
        assert_eq!(view.player.as_deref(), Some("mix.flac"));
        let names: Vec<&str> = view.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["mix.flac", "mix.json"],
            "only files that can be served"
        );
        std::fs::write(dir.join("preservation.mp4"), "x").expect("write");
        assert_eq!(
            recording_view(&dir).player.as_deref(),
            Some("preservation.mp4")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn roll_calls_follow_the_log() {
        let people = vec![
            person("a1", "Anna Bianchi", Role::Member),
            person("sindaco", "Maria Rossi", Role::Presiding),
            person("a2", "Carlo Verdi", Role::Member),
        ];
        let log = vec![
            entry(1, "checked_in", json!({"participant": "sindaco"})),
            entry(2, "entered_lobby", json!({"participant": "a1"})),
            entry(3, "admitted", json!({"participant": "a1"})),
            entry(4, "session_opened", json!({"quorum": {}})),
            entry(5, "item_opened", json!({"item": 1})),
            entry(6, "art78_out", json!({"participant": "a1", "item": 1})),
            entry(7, "checked_in", json!({"participant": "a2"})),
            entry(
                8,
                "vote_opened",
                json!({"item": 1, "present": ["sindaco", "a2"]}),
            ),
            entry(9, "disconnected", json!({"participant": "sindaco"})),
            entry(10, "art78_back", json!({"participant": "a1"})),
            entry(11, "item_opened", json!({"item": 2})),
        ];
        let calls = roll_calls(&log, &people);
        let states = |c: &RollCall| {
            c.attendance
                .iter()
                .map(|r| (r.participant.clone(), r.state.clone(), r.mode.clone()))
                .collect::<Vec<_>>()
        };
        let s = |v: &str| v.to_owned();
        assert_eq!(calls.len(), 3);
        assert_eq!((calls[0].kind.as_str(), calls[0].item), ("opening", None));
        assert_eq!(
            states(&calls[0]),
            vec![
                (s("a1"), s("present"), Some(s("remote"))),
                (s("sindaco"), s("present"), Some(s("in_person"))),
                (s("a2"), s("absent"), None),
            ]
        );
        assert_eq!(calls[1].item, Some(1));
        assert_eq!(
            states(&calls[2]),
            vec![
                (s("a1"), s("present"), Some(s("remote"))),
                (s("sindaco"), s("disconnected"), None),
                (s("a2"), s("present"), Some(s("in_person"))),
            ]
        );

        let votes = vec![VoteRecord {
            session_id: "s".into(),
            number: 1,
            item: 1,
            kind: "deliberation".into(),
            mode: "open".into(),
            opened_at_ms: 1,
            closed_at_ms: 2,
            ballots: json!({"sindaco": "favorevole"}),
            outcome: json!({"approved": true}),
        }];
        let v = vote_views(&log, &votes, &people);
        assert_eq!(v[0].favorevoli, vec!["Maria Rossi"]);
        assert!(v[0].contrari.is_empty());
        assert_eq!(v[0].non_votanti, vec!["Carlo Verdi"]);
        let e = events(&log, &people);
        assert_eq!(
            e.iter()
                .map(|e| (e.kind.as_str(), e.name.as_deref()))
                .collect::<Vec<_>>(),
            vec![
                ("art78_out", Some("Anna Bianchi")),
                ("disconnected", Some("Maria Rossi")),
                ("art78_back", Some("Anna Bianchi")),
            ]
        );
    }
}
