//! The session record the package and the verbale are made from
//! ([`seduta_archive::SessionRecord`]), assembled from the store: the ente, the organ,
//! the people with their roles and offices, and everything that happened, read off
//! the sealed attendance log (attendance at the opening and per item, art. 78
//! abstentions, votes by name with the presence frozen at their opening,
//! suspensions, disconnections, every quorum check). Times are Italian local time.
//!
//! [`record_from_log`] is pure (the log and what the store knows about the people in,
//! the record out), so it is tested by driving a real [`crate::meeting::Meeting`].

use std::collections::BTreeMap;

use seduta_archive::SessionRecord;
use seduta_archive::log::LogEntry;
use seduta_archive::record::{
    AgendaItem, Attendance, AttendanceMode, CompulsoryAbstention, Ente, Organ, Participant,
    ParticipantRole, QuorumCheck, SessionEvent, SessionEventKind, VoteCount, VoteKind, VoteResult,
};
use serde_json::Value;

use super::rome::{rome_date, rome_rfc3339};
use crate::attendance::Entry;
use crate::auth::Role;
use crate::store::{Store, StoreError};

/// What the store knows about a session besides its log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMeta {
    /// The session's id.
    pub session_id: String,
    /// Its title.
    pub title: String,
    /// When it was scheduled (RFC 3339): the date when the log has no opening.
    pub scheduled_at: String,
    /// The seat.
    pub seat: String,
    /// `prima` or `seconda`.
    pub convocation: String,
    /// The municipality.
    pub ente: Ente,
    /// The organ's name.
    pub organ_name: String,
    /// Legal seats (assegnati).
    pub assegnati: u32,
    /// Members in office, when the log does not say (its quorum checks carry it).
    pub in_carica: u32,
    /// The presiding member's participant id.
    pub presiding: String,
    /// The segretario's participant id.
    pub segretario: String,
    /// Everyone invited (members, the segretario, guests), in display order.
    pub participants: Vec<Participant>,
    /// The agenda: number and subject.
    pub agenda: Vec<(u32, String)>,
}

/// Why a session's record could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum RecordBuildError {
    /// No such session, or it lacks what a record needs.
    #[error("{0}")]
    Incomplete(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the session `session_id` from the store and assembles its record.
pub async fn record_from_store(
    store: &Store,
    session_id: &str,
) -> Result<SessionRecord, RecordBuildError> {
    let session = store
        .session(session_id)
        .await?
        .ok_or(RecordBuildError::Incomplete("no such session"))?;
    let organ = store
        .organ(&session.organ_id)
        .await?
        .ok_or(RecordBuildError::Incomplete(
            "the session's organ is missing",
        ))?;
    let ente = store
        .list_enti()
        .await?
        .into_iter()
        .find(|e| e.id == organ.ente_id)
        .ok_or(RecordBuildError::Incomplete("the organ's ente is missing"))?;
    let members = store.members(&organ.id).await?;
    let agenda = store.agenda(session_id).await?;
    let people = store.participants(session_id).await?;
    let log = store.log(session_id).await?;
    let office_of = |member_id: &Option<String>| {
        member_id
            .as_ref()
            .and_then(|id| members.iter().find(|m| &m.id == id))
            .map(|m| m.office.clone())
    };
    let mut participants = Vec::new();
    let (mut presiding, mut segretario) = (None, None);
    for p in &people {
        let (role, office) = match p.role {
            Role::Presiding => {
                presiding = Some(p.id.clone());
                (ParticipantRole::Member, office_of(&p.member_id))
            }
            Role::Member => (ParticipantRole::Member, office_of(&p.member_id)),
            Role::Segretario => {
                segretario = Some(p.id.clone());
                (
                    ParticipantRole::Segretario,
                    Some("Segretario comunale".to_owned()),
                )
            }
            Role::Guest => (ParticipantRole::Guest, None),
            // The chamber's endpoint is a device, not a person of the record.
            Role::Room => continue,
        };
        participants.push(Participant {
            id: p.id.clone(),
            name: p.name.clone(),
            role,
            office,
            fiscal_code: None,
        });
    }
    let in_carica = participants
        .iter()
        .filter(|p| p.role == ParticipantRole::Member)
        .count() as u32;
    let meta = RecordMeta {
        session_id: session.id.clone(),
        title: session.title.clone(),
        scheduled_at: session.scheduled_at.clone(),
        seat: session.seat.clone(),
        convocation: session.convocation.clone(),
        ente: Ente {
            name: ente.name.clone(),
            codice_ipa: None,
            codice_istat: ente.codice_istat.clone(),
        },
        organ_name: organ.name.clone(),
        assegnati: organ.seats,
        in_carica,
        presiding: presiding.ok_or(RecordBuildError::Incomplete("no presiding member"))?,
        segretario: segretario.ok_or(RecordBuildError::Incomplete("no segretario"))?,
        participants,
        agenda: agenda.into_iter().map(|a| (a.number, a.subject)).collect(),
    };
    Ok(record_from_log(&meta, &log))
}

/// Where one person stands while the log is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Present(AttendanceMode),
    Away(AttendanceMode),
    Abstaining(AttendanceMode),
    Disconnected,
    Out,
}

struct OpenVote {
    number: u32,
    item: u32,
    kind: VoteKind,
    secret: bool,
    opened_at: String,
    present: Vec<String>,
    ballots: BTreeMap<String, String>,
    called: usize,
}

/// Assembles the record of `meta`'s session from its attendance log `log`.
pub fn record_from_log(meta: &RecordMeta, log: &[Entry]) -> SessionRecord {
    let known: BTreeMap<&str, ParticipantRole> = meta
        .participants
        .iter()
        .map(|p| (p.id.as_str(), p.role))
        .collect();
    let members: Vec<&str> = meta
        .participants
        .iter()
        .filter(|p| p.role == ParticipantRole::Member)
        .map(|p| p.id.as_str())
        .collect();
    let mut standing: BTreeMap<String, Standing> = BTreeMap::new();
    let mut items: Vec<AgendaItem> = meta
        .agenda
        .iter()
        .map(|(number, subject)| AgendaItem {
            number: *number,
            subject: subject.clone(),
            attendance: Vec::new(),
            abstentions: Vec::new(),
            votes: Vec::new(),
        })
        .collect();
    let mut opening_attendance = Vec::new();
    let mut events = Vec::new();
    let mut quorum_timeline = Vec::new();
    let mut started_at = None;
    let mut ended_at = None;
    let mut in_carica = None;
    let mut vote: Option<OpenVote> = None;
    let mut votes_seen = 0u32;

    let attendance_now = |standing: &BTreeMap<String, Standing>| -> Vec<Attendance> {
        members
            .iter()
            .map(|m| Attendance {
                participant: (*m).to_owned(),
                mode: match standing.get(*m) {
                    Some(Standing::Present(mode)) => Some(*mode),
                    _ => None,
                },
                remote_reason: None,
            })
            .collect()
    };

    for entry in log {
        let at = rome_rfc3339(&entry.at);
        let data = &entry.data;
        let who = data
            .get("participant")
            .and_then(Value::as_str)
            .filter(|p| known.contains_key(p))
            .map(str::to_owned);
        let mut quorum = |reason: &str, q: Option<&Value>| {
            if let Some(q) = q {
                let n = |k: &str| q.get(k).and_then(Value::as_u64).map(|v| v as u32);
                if let (Some(present), Some(required)) = (n("counted"), n("required")) {
                    if in_carica.is_none() {
                        in_carica = n("in_office");
                    }
                    quorum_timeline.push(QuorumCheck {
                        at: at.clone(),
                        reason: reason.to_owned(),
                        present,
                        required,
                        reached: q.get("reached").and_then(Value::as_bool).unwrap_or(false),
                    });
                }
            }
        };
        match entry.kind.as_str() {
            "session_opened" => {
                quorum("opening", data.get("quorum"));
                if started_at.is_none() {
                    started_at = Some(at.clone());
                    opening_attendance = attendance_now(&standing);
                }
            }
            "session_closed" => ended_at = Some(at.clone()),
            "sealed" => {
                if ended_at.is_none() {
                    ended_at = Some(at.clone());
                }
            }
            "quorum_checked" => quorum("request", data.get("quorum")),
            "session_suspended" => events.push(SessionEvent {
                at: at.clone(),
                kind: SessionEventKind::Suspension,
                participant: None,
                note: None,
            }),
            "session_resumed" => {
                quorum("resumption", data.get("quorum"));
                let roll_call = data
                    .get("roll_call")
                    .and_then(Value::as_array)
                    .map(|a| a.len())
                    .unwrap_or(0);
                events.push(SessionEvent {
                    at: at.clone(),
                    kind: SessionEventKind::Resumption,
                    participant: None,
                    note: Some(format!("dopo l'appello: {roll_call} componenti presenti")),
                });
            }
            "item_opened" => {
                let number = item_of(data);
                let attendance = attendance_now(&standing);
                if let Some(item) = items.iter_mut().find(|i| Some(i.number) == number) {
                    item.attendance = attendance;
                }
            }
            "art78_out" => {
                if let Some(who) = who {
                    let mode = match standing.get(&who) {
                        Some(Standing::Present(m)) => *m,
                        _ => AttendanceMode::InPerson,
                    };
                    standing.insert(who.clone(), Standing::Abstaining(mode));
                    if let Some(item) = items.iter_mut().find(|i| Some(i.number) == item_of(data)) {
                        item.abstentions.push(CompulsoryAbstention {
                            participant: who,
                            left_at: at.clone(),
                            returned_at: None,
                        });
                    }
                }
            }
            "art78_back" => {
                if let Some(who) = who {
                    let mode = match standing.get(&who) {
                        Some(Standing::Abstaining(m)) => *m,
                        _ => AttendanceMode::InPerson,
                    };
                    standing.insert(who.clone(), Standing::Present(mode));
                    if let Some(open) = items
                        .iter_mut()
                        .flat_map(|i| i.abstentions.iter_mut())
                        .rev()
                        .find(|a| a.participant == who && a.returned_at.is_none())
                    {
                        open.returned_at = Some(at.clone());
                    }
                }
            }
            "vote_opened" => {
                votes_seen += 1;
                quorum("vote", data.get("quorum"));
                let present = data
                    .get("present")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .filter(|p| known.contains_key(p))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                vote = Some(OpenVote {
                    number: votes_seen,
                    item: item_of(data).unwrap_or(0),
                    kind: match data.get("kind").and_then(Value::as_str) {
                        Some("immediate_executability") => VoteKind::ImmediateExecutability,
                        _ => VoteKind::Deliberation,
                    },
                    secret: data.get("mode").and_then(Value::as_str) == Some("secret"),
                    opened_at: at.clone(),
                    present,
                    ballots: BTreeMap::new(),
                    called: 0,
                });
            }
            "vote_cast" => {
                if let (Some(v), Some(member), Some(ballot)) = (
                    vote.as_mut(),
                    data.get("member").and_then(Value::as_str),
                    data.get("ballot").and_then(Value::as_str),
                ) && known.contains_key(member)
                {
                    v.ballots.insert(member.to_owned(), ballot.to_owned());
                    if data.get("recorded_by").is_some() {
                        v.called += 1;
                    }
                }
            }
            "vote_closed" => {
                if let Some(v) = vote.take() {
                    let result = close_vote(v, data, &at, in_carica.unwrap_or(meta.in_carica));
                    if let Some(item) = items.iter_mut().find(|i| i.number == result.0) {
                        item.votes.push(result.1);
                    }
                }
            }
            kind => {
                // A presence change: `now` holds the new state.
                let Some(who) = who else { continue };
                let before = standing.get(&who).copied().unwrap_or(Standing::Out);
                let after = match data.get("now") {
                    Some(now) => standing_of(now, before),
                    None => continue,
                };
                match (kind, before, after) {
                    ("disconnected", _, _) => events.push(SessionEvent {
                        at: at.clone(),
                        kind: SessionEventKind::Disconnection,
                        participant: Some(who.clone()),
                        note: None,
                    }),
                    (_, Standing::Disconnected, Standing::Present(_)) => {
                        events.push(SessionEvent {
                            at: at.clone(),
                            kind: SessionEventKind::Reconnection,
                            participant: Some(who.clone()),
                            note: None,
                        })
                    }
                    _ => {}
                }
                // After a disconnection the person stays "disconnected" for the
                // record until they are present again (back within the grace period,
                // or identified again from the lobby after it): a reconnection.
                let after = match (before, after) {
                    (Standing::Disconnected, Standing::Out) => Standing::Disconnected,
                    _ => after,
                };
                standing.insert(who, after);
            }
        }
    }

    let first_at = log.first().map(|e| rome_rfc3339(&e.at));
    let started_at = started_at
        .or(first_at.clone())
        .unwrap_or_else(|| meta.scheduled_at.clone());
    let ended_at = ended_at
        .or_else(|| log.last().map(|e| rome_rfc3339(&e.at)))
        .unwrap_or_else(|| started_at.clone());
    let date = rome_date(&started_at)
        .or_else(|| meta.scheduled_at.get(..10).map(str::to_owned))
        .unwrap_or_default();
    SessionRecord {
        session_id: meta.session_id.clone(),
        ente: meta.ente.clone(),
        organ: Organ {
            name: meta.organ_name.clone(),
            assegnati: meta.assegnati,
            in_carica: in_carica.unwrap_or(meta.in_carica),
        },
        title: meta.title.clone(),
        date,
        started_at,
        ended_at,
        seat: meta.seat.clone(),
        convocation: meta.convocation.clone(),
        convocation_notice: None,
        presiding: meta.presiding.clone(),
        segretario: meta.segretario.clone(),
        participants: meta.participants.clone(),
        opening_attendance,
        items,
        events,
        quorum_timeline,
        attendance_log: log.iter().map(log_entry).collect(),
    }
}

fn item_of(data: &Value) -> Option<u32> {
    data.get("item")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// The standing a presence entry's `now` (a serialized
/// [`crate::meeting::Presence`]) describes.
fn standing_of(now: &Value, before: Standing) -> Standing {
    let mode = match now.get("mode").and_then(Value::as_str) {
        Some("remote") => AttendanceMode::Remote,
        _ => AttendanceMode::InPerson,
    };
    match now.get("state").and_then(Value::as_str) {
        Some("present") => Standing::Present(mode),
        Some("away") => Standing::Away(mode),
        Some("abstaining") => Standing::Abstaining(mode),
        Some("disconnected") => Standing::Disconnected,
        Some("lobby" | "absent") => Standing::Out,
        _ => before,
    }
}

/// The closed vote `v` with the outcome the log recorded in `data`; returns the item.
fn close_vote(v: OpenVote, data: &Value, closed_at: &str, in_carica: u32) -> (u32, VoteResult) {
    let names = |ballot: &str| -> Vec<String> {
        v.ballots
            .iter()
            .filter(|(_, b)| b.as_str() == ballot)
            .map(|(m, _)| m.clone())
            .collect()
    };
    let favorevoli = names("favorevole");
    let contrari = names("contrario");
    let astenuti = names("astenuto");
    let non_votanti: Vec<String> = v
        .present
        .iter()
        .filter(|m| !v.ballots.contains_key(*m))
        .cloned()
        .collect();
    let outcome = data.get("outcome");
    let flag = |k: &str| {
        outcome
            .and_then(|o| o.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let presenti = outcome
        .and_then(|o| o.get("count"))
        .and_then(|c| c.get("presenti"))
        .and_then(Value::as_u64)
        .map_or(v.present.len() as u32, |n| n as u32);
    let mode = if v.secret {
        "segreta".to_owned()
    } else if v.ballots.is_empty() || v.called == 0 {
        "palese, per voto nominale espresso da ciascun componente".to_owned()
    } else if v.called == v.ballots.len() {
        "palese, per appello nominale".to_owned()
    } else {
        "palese, per voto nominale e appello nominale".to_owned()
    };
    let result = VoteResult {
        number: v.number,
        kind: v.kind,
        mode,
        opened_at: v.opened_at,
        closed_at: closed_at.to_owned(),
        count: VoteCount {
            favorevoli: favorevoli.len() as u32,
            contrari: contrari.len() as u32,
            astenuti: astenuti.len() as u32,
            presenti,
        },
        favorevoli,
        contrari,
        astenuti,
        non_votanti,
        required: (v.kind == VoteKind::ImmediateExecutability).then_some(in_carica / 2 + 1),
        approved: flag("approved"),
        decided_by_presiding: flag("decided_by_presiding"),
    };
    (v.item, result)
}

fn log_entry(e: &Entry) -> LogEntry {
    LogEntry {
        seq: e.seq,
        at: e.at.clone(),
        session: e.session.clone(),
        kind: e.kind.clone(),
        data: e.data.clone(),
        prev: e.prev.clone(),
        hash: e.hash.clone(),
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
