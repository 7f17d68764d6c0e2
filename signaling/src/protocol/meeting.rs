//! The meeting part of the protocol: actions on a session (lobby, presence, agenda,
//! votes, suspension) and the session's state as every participant sees it.
//!
//! The same [`MeetingAction`] arrives over the WebSocket (`{"type":"action"}`) and
//! over REST (`POST /api/sessions/{id}/actions`); who may do what is decided by
//! [`crate::meeting::authorize`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::recording::RecordingStatus;
use crate::auth::Role;
use crate::meeting::{
    Ballot, Lost, Outcome, Phase, Presence, QuorumCheck, VoteCount, VoteKind, VoteMode,
};

/// Something a participant or the segretario does to the session. (Variants without
/// fields are written `{}` so that unknown fields are refused for them too.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MeetingAction {
    /// Segretario: a remote person in the lobby is identified on video and admitted.
    Identify {
        /// Who.
        participant: String,
        /// Whether their camera is on (a member needs it unless audio-only is allowed).
        camera_on: bool,
    },
    /// Segretario: a person in the lobby is refused.
    Refuse {
        /// Who.
        participant: String,
    },
    /// Segretario: a member in the chamber is checked in (present, in person).
    CheckIn {
        /// Who.
        participant: String,
    },
    /// Segretario: a person leaves the session (in the chamber: checked out).
    CheckOut {
        /// Who.
        participant: String,
    },
    /// A member declares a temporary absence (the segretario may record it for anyone).
    Away {
        /// Who; absent means oneself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
    },
    /// A member is back from a declared absence.
    Back {
        /// Who; absent means oneself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
    },
    /// Segretario: checks the quorum now; the check is logged with its inputs.
    CheckQuorum {},
    /// Segretario: opens the session (only with the quorum).
    OpenSession {},
    /// Segretario: brings an agenda item forward.
    OpenItem {
        /// The item number.
        item: u32,
    },
    /// A member leaves the current item under TUEL art. 78 c.2 (conflict of
    /// interest); the segretario may record it for anyone.
    Abstain {
        /// Who; absent means oneself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
    },
    /// Segretario: opens a vote on the current item.
    OpenVote {
        /// The proposal, or its immediate executability.
        vote: VoteKind,
        /// Open (by name) or secret.
        #[serde(default = "open_mode")]
        mode: VoteMode,
    },
    /// A member casts their ballot; the segretario records one called by name
    /// (appello nominale) by naming the member.
    Cast {
        /// The answer.
        ballot: Ballot,
        /// The member; absent means oneself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
    },
    /// Segretario: closes the open vote; the outcome follows the organ's rules.
    CloseVote {},
    /// Segretario: suspends the session.
    Suspend {},
    /// Segretario: resumes after a roll call that finds the quorum.
    Resume {},
    /// Segretario: closes the session and seals the attendance log.
    CloseSession {},
    /// Segretario: removes a participant from the session (their connection is closed).
    Remove {
        /// Who.
        participant: String,
    },
    /// Segretario: pauses the recording (a secret item, for example).
    PauseRecording {},
    /// Segretario: resumes the recording, or starts it when the organ does not record
    /// from the opening.
    ResumeRecording {},
}

fn open_mode() -> VoteMode {
    VoteMode::Open
}

impl MeetingAction {
    /// The action's `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            MeetingAction::Identify { .. } => "identify",
            MeetingAction::Refuse { .. } => "refuse",
            MeetingAction::CheckIn { .. } => "check_in",
            MeetingAction::CheckOut { .. } => "check_out",
            MeetingAction::Away { .. } => "away",
            MeetingAction::Back { .. } => "back",
            MeetingAction::CheckQuorum {} => "check_quorum",
            MeetingAction::OpenSession {} => "open_session",
            MeetingAction::OpenItem { .. } => "open_item",
            MeetingAction::Abstain { .. } => "abstain",
            MeetingAction::OpenVote { .. } => "open_vote",
            MeetingAction::Cast { .. } => "cast",
            MeetingAction::CloseVote {} => "close_vote",
            MeetingAction::Suspend {} => "suspend",
            MeetingAction::Resume {} => "resume",
            MeetingAction::CloseSession {} => "close_session",
            MeetingAction::Remove { .. } => "remove",
            MeetingAction::PauseRecording {} => "pause_recording",
            MeetingAction::ResumeRecording {} => "resume_recording",
        }
    }
}

/// One agenda item as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgendaEntry {
    /// Item number (from 1).
    pub number: u32,
    /// Subject (oggetto).
    pub subject: String,
}

/// Whether a person's client is connected now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Signaling connected.
    Online,
    /// Connection lost; the grace period runs.
    Reconnecting,
    /// Not connected (in the chamber, or not joined).
    Offline,
}

/// One row of the attendance table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonView {
    /// Participant id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role in the session.
    #[schema(value_type = String)]
    pub role: Role,
    /// Where they stand (`{"state":"lobby"}`, `{"state":"present","mode":"remote"}`, …).
    #[schema(value_type = Object)]
    pub presence: Presence,
    /// Since when, RFC 3339 UTC (the last presence change; absent if none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Client connection.
    pub link: Link,
    /// Camera on (as the client reports it).
    pub camera_on: bool,
    /// Microphone on (as the client reports it).
    pub mic_on: bool,
}

/// The vote in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoteView {
    /// Vote number in the session (from 1).
    pub number: u32,
    /// Agenda item.
    pub item: u32,
    /// Proposal or immediate executability.
    #[schema(value_type = String)]
    pub vote: VoteKind,
    /// Members present when it opened: the only ones who may vote.
    pub entitled: Vec<String>,
    /// Ballots so far, by member (open votes are by name).
    #[schema(value_type = Object)]
    pub ballots: std::collections::BTreeMap<String, Ballot>,
    /// Live tally.
    #[schema(value_type = Object)]
    pub count: VoteCount,
    /// Opening time, RFC 3339 UTC.
    pub opened_at: String,
}

/// A closed vote and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoteResultView {
    /// Vote number in the session.
    pub number: u32,
    /// Agenda item.
    pub item: u32,
    /// Proposal or immediate executability.
    #[schema(value_type = String)]
    pub vote: VoteKind,
    /// Ballots by member.
    #[schema(value_type = Object)]
    pub ballots: std::collections::BTreeMap<String, Ballot>,
    /// Counts and result.
    #[schema(value_type = Object)]
    pub outcome: Outcome,
    /// Opening time, RFC 3339 UTC.
    pub opened_at: String,
    /// Closing time, RFC 3339 UTC.
    pub closed_at: String,
}

/// The whole state of a session as every participant sees it. Sent in full after
/// every change (a Giunta is small).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingView {
    /// Session id.
    pub session: String,
    /// Title (e.g. "Giunta comunale — seduta del 12 marzo 2026").
    pub title: String,
    /// Seat (sede).
    pub seat: String,
    /// Convened, open, suspended or closed.
    #[schema(value_type = String)]
    pub phase: Phase,
    /// The agenda.
    pub agenda: Vec<AgendaEntry>,
    /// The item under discussion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_item: Option<u32>,
    /// The quorum now, with its inputs.
    #[schema(value_type = Object)]
    pub quorum: QuorumCheck,
    /// Everyone invited, members first.
    pub people: Vec<PersonView>,
    /// The open vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<VoteView>,
    /// Closed votes, in order.
    pub results: Vec<VoteResultView>,
    /// What is lost now while the session is open (quorum, presiding member,
    /// segretario): the software proposes a suspension.
    #[schema(value_type = Vec<String>)]
    pub alerts: Vec<Lost>,
    /// Whether the session is being recorded (the state; since when is in the
    /// `recording` message).
    #[serde(default)]
    pub recording: RecordingStatus,
}
