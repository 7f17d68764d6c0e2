use serde::{Deserialize, Serialize};

/// A person who took part in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Id within the session (as in the attendance log).
    pub id: String,
    /// Full name.
    pub name: String,
    /// The role they attended in.
    pub role: ParticipantRole,
    /// Office held ("Sindaco", "Assessore al bilancio", "Segretario comunale").
    pub office: Option<String>,
    /// Italian fiscal code, when known (used for the Allegato 5 `Soggetti`).
    pub fiscal_code: Option<String>,
}

/// The role a participant attended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// A member of the organ (counts for the quorum and votes).
    Member,
    /// The segretario (or vice-segretario): assists and writes the verbale.
    Segretario,
    /// An invited non-member: never counts, never votes.
    Guest,
}

/// How a present person attended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceMode {
    /// In the seat, checked in by the segretario.
    InPerson,
    /// By video, identified by the segretario.
    Remote,
}

impl AttendanceMode {
    /// The Italian words the verbale uses.
    pub fn italian(self) -> &'static str {
        match self {
            AttendanceMode::InPerson => "in presenza",
            AttendanceMode::Remote => "da remoto",
        }
    }
}

/// One person's attendance at a roll call (the opening, or an item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendance {
    /// The participant id.
    pub participant: String,
    /// How they attended; `None` when absent.
    pub mode: Option<AttendanceMode>,
    /// The stated reason for attending remotely, when the organ asks for one.
    #[serde(default)]
    pub remote_reason: Option<String>,
}

impl Attendance {
    /// Whether the person was present.
    pub fn present(&self) -> bool {
        self.mode.is_some()
    }
}
