//! The session record: everything the package and the verbale are made from.
//!
//! The server assembles a [`SessionRecord`] from its store at close (or the clerk's
//! tools read one from JSON: every type here is `Serialize` and `Deserialize`).
//! Participants are referred to by their id within the session; names are looked up
//! in [`SessionRecord::participants`]. Times are RFC 3339 with the offset the verbale
//! should show (Italian local time, e.g. `2026-03-12T09:00:00+01:00`); a `Z` time is
//! shown as UTC.

mod check;
mod people;
mod votes;

pub use check::RecordError;
pub use people::{Attendance, AttendanceMode, Participant, ParticipantRole};
pub use votes::{VoteCount, VoteKind, VoteResult};

use serde::{Deserialize, Serialize};

use crate::log::LogEntry;

/// The municipality (ente) the organ belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ente {
    /// Official name ("Comune di …").
    pub name: String,
    /// Code in the IPA index (indicepa.gov.it), used in the Allegato 5 `Soggetti`.
    pub codice_ipa: Option<String>,
    /// ISTAT code, when known.
    pub codice_istat: Option<String>,
}

/// The collegial organ that met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organ {
    /// Name ("Giunta comunale").
    pub name: String,
    /// Legal seats (assegnati), the presiding member included.
    pub assegnati: u32,
    /// Members in office on the session's date (in carica).
    pub in_carica: u32,
}

/// One item of the agenda with what happened on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgendaItem {
    /// Position on the agenda, from 1.
    pub number: u32,
    /// What the item is about (oggetto).
    pub subject: String,
    /// Who was present when the item was taken up, and how.
    pub attendance: Vec<Attendance>,
    /// Members who left for this item under TUEL art. 78 c.2.
    #[serde(default)]
    pub abstentions: Vec<CompulsoryAbstention>,
    /// The votes on this item (the deliberation, then immediate executability).
    #[serde(default)]
    pub votes: Vec<VoteResult>,
}

/// A member who left the discussion and the vote of an item for a conflict of
/// interest (TUEL art. 78 c.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompulsoryAbstention {
    /// The member (participant id).
    pub participant: String,
    /// When they left.
    pub left_at: String,
    /// When they came back, if they did before the end.
    pub returned_at: Option<String>,
}

/// Something that interrupted or restored the session or a person's attendance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// When it happened.
    pub at: String,
    /// What happened.
    pub kind: SessionEventKind,
    /// Who it concerns, for a disconnection or a reconnection.
    pub participant: Option<String>,
    /// Why, as recorded (the reason for a suspension, for example).
    pub note: Option<String>,
}

/// The kinds of [`SessionEvent`] the verbale reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEventKind {
    /// The session was suspended.
    Suspension,
    /// The session resumed after a roll call.
    Resumption,
    /// A participant's connection dropped.
    Disconnection,
    /// A participant came back and was identified again.
    Reconnection,
}

/// One check of the quorum (numero legale), with its inputs and result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCheck {
    /// When it was checked.
    pub at: String,
    /// Why (`opening`, `vote`, `request`, `resumption`, `presence_change`).
    pub reason: String,
    /// Members present and counted.
    pub present: u32,
    /// Members required.
    pub required: u32,
    /// Whether the quorum was there.
    pub reached: bool,
}

/// Everything about one session that goes into its package and verbale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session's id (the attendance log's `session`).
    pub session_id: String,
    /// The municipality.
    pub ente: Ente,
    /// The organ.
    pub organ: Organ,
    /// The session's title.
    pub title: String,
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// When the session opened.
    pub started_at: String,
    /// When it closed.
    pub ended_at: String,
    /// The seat (sede): a place, or where the presiding member is.
    pub seat: String,
    /// Convocation (`prima`, `seconda`).
    pub convocation: String,
    /// How it was convened (the notice, its date and means), if recorded.
    pub convocation_notice: Option<String>,
    /// The presiding member (participant id).
    pub presiding: String,
    /// The segretario (participant id).
    pub segretario: String,
    /// Everyone who took part, members, segretario and guests.
    pub participants: Vec<Participant>,
    /// Who was present at the opening roll call, and how.
    pub opening_attendance: Vec<Attendance>,
    /// The agenda with what happened on each item.
    pub items: Vec<AgendaItem>,
    /// Suspensions, resumptions, disconnections and reconnections, in time order.
    #[serde(default)]
    pub events: Vec<SessionEvent>,
    /// Every quorum check, in time order.
    #[serde(default)]
    pub quorum_timeline: Vec<QuorumCheck>,
    /// The sealed attendance log, as exported by the server.
    pub attendance_log: Vec<LogEntry>,
}

impl SessionRecord {
    /// The participant with id `id`.
    pub fn participant(&self, id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    /// The name of participant `id`, or the id itself when unknown (a checked record
    /// has no unknown ids).
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.participant(id).map_or(id, |p| p.name.as_str())
    }

    /// Every vote of the session, in agenda order.
    pub fn votes(&self) -> impl Iterator<Item = (&AgendaItem, &VoteResult)> {
        self.items
            .iter()
            .flat_map(|item| item.votes.iter().map(move |v| (item, v)))
    }
}
