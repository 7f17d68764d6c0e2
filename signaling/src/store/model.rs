//! The records the store keeps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::meeting::OrganSettings;

/// A municipality (ente locale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ente {
    /// Stable identifier.
    pub id: String,
    /// Official name ("Comune di …").
    pub name: String,
    /// ISTAT code of the municipality, when known.
    pub codice_istat: Option<String>,
}

/// A collegial organ of an ente (the Giunta; later the Consiglio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organ {
    /// Stable identifier.
    pub id: String,
    /// The ente the organ belongs to.
    pub ente_id: String,
    /// Name ("Giunta comunale").
    pub name: String,
    /// Legal seats (assegnati), the presiding member included.
    pub seats: u32,
    /// The organ's regolamento as Seduta applies it (stored as a JSON document).
    #[schema(value_type = Object)]
    pub settings: OrganSettings,
}

/// A member of an organ for a period of office (a Sindaco, an assessore).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// Stable identifier.
    pub id: String,
    /// The organ.
    pub organ_id: String,
    /// Full name.
    pub name: String,
    /// Office held ("Sindaco", "Assessore al bilancio").
    pub office: String,
    /// Whether the member presides the organ.
    pub presiding: bool,
    /// First day in office, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day in office, `YYYY-MM-DD`; `None` while in office.
    pub valid_to: Option<String>,
}

/// What a staff account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// The Segretario comunale: convenes, admits, identifies, records.
    Segretario,
    /// An office clerk preparing sessions.
    Clerk,
    /// Administers the ente's organs, members and accounts.
    Admin,
}

impl StaffRole {
    /// The role as stored and written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Segretario => "segretario",
            StaffRole::Clerk => "clerk",
            StaffRole::Admin => "admin",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<StaffRole> {
        match s {
            "segretario" => Some(StaffRole::Segretario),
            "clerk" => Some(StaffRole::Clerk),
            "admin" => Some(StaffRole::Admin),
            _ => None,
        }
    }
}

/// A person of the municipality's staff who signs in to prepare and run sessions.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccount {
    /// Stable identifier.
    pub id: String,
    /// The ente the account belongs to.
    pub ente_id: String,
    /// Sign-in name, unique across the server.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// What the account may do.
    pub role: StaffRole,
    /// The password's hash (PHC string); never serialized.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    /// When the password was last set (ms since the Unix epoch, UTC).
    pub password_changed_at_ms: i64,
    /// A disabled account cannot sign in.
    pub disabled: bool,
}

impl std::fmt::Debug for StaffAccount {
    /// Like a derived `Debug`, without the password hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("id", &self.id)
            .field("ente_id", &self.ente_id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("password_changed_at_ms", &self.password_changed_at_ms)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Convened, not yet opened: title, date, seat and agenda can still change.
    Convened,
    /// Open: the meeting is running.
    Open,
    /// Suspended; resumes after a new roll call.
    Suspended,
    /// Closed and sealed: final.
    Closed,
}

impl SessionStatus {
    /// The status as stored and written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Convened => "convened",
            SessionStatus::Open => "open",
            SessionStatus::Suspended => "suspended",
            SessionStatus::Closed => "closed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<SessionStatus> {
        match s {
            "convened" => Some(SessionStatus::Convened),
            "open" => Some(SessionStatus::Open),
            "suspended" => Some(SessionStatus::Suspended),
            "closed" => Some(SessionStatus::Closed),
            _ => None,
        }
    }
}

/// A session of an organ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionRecord {
    /// Stable identifier (also the room's id).
    pub id: String,
    /// The organ meeting.
    pub organ_id: String,
    /// Title shown to participants.
    pub title: String,
    /// Scheduled start, RFC 3339.
    pub scheduled_at: String,
    /// The seat (sede): a place, or where the presiding member is.
    pub seat: String,
    /// Convocation: `"prima"` or `"seconda"`.
    pub convocation: String,
    /// Where the session is in its life.
    pub status: SessionStatus,
    /// The staff account that created it.
    pub created_by: String,
    /// Creation time (ms since the Unix epoch, UTC).
    pub created_at_ms: i64,
    /// When the session was first opened.
    pub opened_at_ms: Option<i64>,
    /// When the session was closed.
    pub closed_at_ms: Option<i64>,
}

/// One item of a session's agenda (ordine del giorno).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgendaItem {
    /// Position on the agenda, from 1.
    pub number: u32,
    /// What the item is about.
    pub subject: String,
}

/// A person invited to a session, with the role they attend in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionParticipant {
    /// The session.
    pub session_id: String,
    /// The participant's id within the session (the token's `sub`).
    pub id: String,
    /// Full name.
    pub name: String,
    /// The role they attend in.
    #[schema(value_type = String)]
    pub role: Role,
    /// The organ member they are, if a member.
    pub member_id: Option<String>,
}

/// One minted join link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    /// The token's id (`jti`).
    pub jti: String,
    /// The session it admits to.
    pub session_id: String,
    /// The participant it is for.
    pub participant_id: String,
    /// When it was minted (ms since the Unix epoch, UTC).
    pub created_at_ms: i64,
    /// When the token expires.
    pub expires_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

/// The result of a closed vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VoteRecord {
    /// The session.
    pub session_id: String,
    /// The vote's number within the session, from 1.
    pub number: u32,
    /// The agenda item voted on.
    pub item: u32,
    /// What was voted (the deliberation, immediate executability, …).
    pub kind: String,
    /// How it was voted (by name on camera, appello nominale, …).
    pub mode: String,
    /// When the vote opened (ms since the Unix epoch, UTC).
    pub opened_at_ms: i64,
    /// When the vote closed.
    pub closed_at_ms: i64,
    /// The ballots as recorded.
    pub ballots: serde_json::Value,
    /// The outcome as computed.
    pub outcome: serde_json::Value,
}
