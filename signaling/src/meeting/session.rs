//! A session as one sans-IO state machine: presence, agenda, votes, suspensions and
//! the attendance log, driven by [`Meeting::handle`]. Every accepted input is logged
//! (hash-chained) before its effects are returned; a refused input changes nothing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;

use super::ballot_box::{BallotBox, VoteError, VoteKind, VoteMode};
use super::presence::{
    Mode, Presence, PresenceError, PresenceInput, PresenceRoll, PresenceSettings,
};
use super::quorum::{QuorumCheck, check_quorum};
use super::settings::RuleSettings;
use super::votes::{Ballot, Outcome};
use crate::attendance::{AppendError, AttendanceLog, Entry};

/// The organ's settings that a session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingSettings {
    /// Quorum, majority and tie rules.
    pub rules: RuleSettings,
    /// Lobby, camera and grace settings.
    pub presence: PresenceSettings,
    /// Whether a remote member must be on camera to cast a vote.
    pub camera_required_to_vote: bool,
    /// Members in office (in carica).
    pub members_in_office: u32,
    /// Whether the presiding member and the segretario must be in the same place: the
    /// session then opens (and resumes) only if they are not one in the chamber and
    /// the other remote.
    #[serde(default)]
    pub presiding_and_segretario_colocated: bool,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Convened, not yet opened.
    Convened,
    /// Open.
    Open,
    /// Suspended; resumes only after a roll call that finds the quorum.
    Suspended,
    /// Closed; the log is sealed.
    Closed,
}

/// What the segretario, the members or the connections report.
#[derive(Debug, Clone, PartialEq)]
pub enum MeetingInput {
    /// A presence change of one person.
    Presence {
        /// Who.
        who: String,
        /// What.
        input: PresenceInput,
    },
    /// The presiding member opens the session.
    Open,
    /// The segretario brings an agenda item forward.
    OpenItem {
        /// Item number.
        item: u32,
    },
    /// A member leaves the current item under art. 78.
    Abstain {
        /// Who.
        who: String,
    },
    /// Opens a vote on the current item.
    OpenVote {
        /// Deliberation or immediate executability.
        kind: VoteKind,
        /// Open or secret.
        mode: VoteMode,
    },
    /// A ballot, cast by the member or called by the segretario.
    Cast {
        /// The member.
        member: String,
        /// The answer.
        ballot: Ballot,
        /// Whether the member is on camera (in person counts as on camera).
        on_camera: bool,
        /// Who recorded it when not the member (the segretario, by roll call).
        recorded_by: Option<String>,
    },
    /// A quorum check on request; logged with its inputs.
    CheckQuorum,
    /// The service restarted (after a crash or an upgrade): every remote connection
    /// was lost with it, so remote people present or away become disconnected (their
    /// grace period starts now). Logged, so the record shows the gap.
    ServiceRestarted,
    /// Someone switched their microphone or camera (logged: being on camera matters
    /// for identification and for voting).
    Media {
        /// Who.
        who: String,
        /// Microphone on.
        mic_on: bool,
        /// Camera on.
        camera_on: bool,
    },
    /// Closes the open vote.
    CloseVote,
    /// Suspends the session.
    Suspend,
    /// Resumes after a roll call.
    Resume,
    /// Closes the session and seals the log.
    Close,
    /// The recording started, paused, resumed, stopped or failed: the recorder is the
    /// service's, the log shows what it did (`data`: folder, files, run…).
    Recording {
        /// What happened.
        event: RecordingEvent,
        /// Its details.
        data: serde_json::Value,
    },
}

/// A change of the session's recording, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingEvent {
    /// Recording began (at the opening, or started by the segretario).
    Started,
    /// The segretario paused it.
    Paused,
    /// It goes on: resumed by the segretario, or after a restart of the service.
    Resumed,
    /// It ended (at the close); `data` holds the summary of what was recorded.
    Stopped,
    /// A file of it failed (disk full, a media error); the rest goes on.
    Failed,
}

impl RecordingEvent {
    /// The log entry's kind.
    pub fn kind(self) -> &'static str {
        match self {
            RecordingEvent::Started => "recording_started",
            RecordingEvent::Paused => "recording_paused",
            RecordingEvent::Resumed => "recording_resumed",
            RecordingEvent::Stopped => "recording_stopped",
            RecordingEvent::Failed => "recording_failed",
        }
    }
}

/// Something the outside must act on or show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum MeetingOutput {
    /// An entry was appended to the attendance log (store it before acknowledging).
    Logged {
        /// The entry.
        entry: Entry,
    },
    /// The quorum now.
    Quorum {
        /// The check, with its inputs.
        check: QuorumCheck,
    },
    /// Something that calls for a suspension.
    Alert {
        /// What was lost.
        lost: Lost,
    },
    /// A vote closed.
    VoteClosed {
        /// Item.
        item: u32,
        /// Kind.
        kind: VoteKind,
        /// Result.
        outcome: Outcome,
    },
}

/// What a session can lose while open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lost {
    /// The quorum.
    Quorum,
    /// The presiding member.
    Presiding,
    /// The segretario.
    Segretario,
}

/// Why a stored session could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    /// The snapshot does not parse.
    #[error("the stored meeting state is unreadable: {0}")]
    Snapshot(String),
    /// The stored log is broken.
    #[error("the stored attendance log is broken: {0}")]
    Log(String),
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeetingError {
    /// Not possible in the session's phase.
    #[error("not possible while the session is {0:?}")]
    WrongPhase(Phase),
    /// No such agenda item.
    #[error("no such agenda item")]
    UnknownItem,
    /// A vote is open; close it first.
    #[error("a vote is open")]
    VoteOpen,
    /// No vote is open.
    #[error("no vote is open")]
    NoVote,
    /// The quorum does not hold.
    #[error("the quorum does not hold")]
    NoQuorum,
    /// The presiding member and the segretario must be in the same place.
    #[error("the presiding member and the segretario must be in the same place")]
    NotColocated,
    /// A presence change was refused.
    #[error(transparent)]
    Presence(#[from] PresenceError),
    /// A vote action was refused.
    #[error(transparent)]
    Vote(#[from] VoteError),
    /// The log refused the entry.
    #[error(transparent)]
    Log(#[from] AppendError),
}

impl MeetingError {
    /// A stable snake_case code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            MeetingError::WrongPhase(_) => "wrong_phase",
            MeetingError::UnknownItem => "unknown_item",
            MeetingError::VoteOpen => "vote_open",
            MeetingError::NoVote => "no_vote_open",
            MeetingError::NoQuorum => "no_quorum",
            MeetingError::NotColocated => "not_colocated",
            MeetingError::Presence(e) => e.code(),
            MeetingError::Vote(e) => e.code(),
            MeetingError::Log(_) => "log_sealed",
        }
    }
}

/// A closed vote, kept for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedVote {
    /// Vote number in the session, from 1.
    pub number: u32,
    /// The ballots, frozen presence and times.
    pub ballot_box: BallotBox,
    /// The result.
    pub outcome: Outcome,
}

/// One Giunta session. Serializes to a snapshot of its state without the log (the
/// log is stored entry by entry; [`Meeting::restore`] joins them again).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meeting {
    settings: MeetingSettings,
    phase: Phase,
    presiding: String,
    segretario: String,
    members: BTreeSet<String>,
    agenda: BTreeSet<u32>,
    current_item: Option<u32>,
    roll: PresenceRoll,
    vote: Option<BallotBox>,
    #[serde(default)]
    results: Vec<ClosedVote>,
    #[serde(skip)]
    log: AttendanceLog,
    /// Who takes the input being applied (recorded as `by` in its log entries).
    #[serde(skip)]
    actor: Option<String>,
}

impl Meeting {
    /// A convened session: `members` includes `presiding`; the segretario is not a member.
    pub fn new(
        session: &str,
        settings: MeetingSettings,
        presiding: &str,
        segretario: &str,
        members: &[&str],
        agenda: &[u32],
    ) -> Self {
        let mut roll = PresenceRoll::new(settings.presence);
        for m in members {
            roll.invite(m, true);
        }
        roll.invite(segretario, false);
        Self {
            settings,
            phase: Phase::Convened,
            presiding: presiding.to_owned(),
            segretario: segretario.to_owned(),
            members: members.iter().map(|m| m.to_string()).collect(),
            agenda: agenda.iter().copied().collect(),
            current_item: None,
            roll,
            vote: None,
            results: Vec::new(),
            log: AttendanceLog::new(session),
            actor: None,
        }
    }

    /// Rebuilds a session from its stored snapshot and log.
    pub fn restore(
        session: &str,
        snapshot: &str,
        entries: Vec<Entry>,
    ) -> Result<Self, RestoreError> {
        let mut meeting: Meeting =
            serde_json::from_str(snapshot).map_err(|e| RestoreError::Snapshot(e.to_string()))?;
        meeting.log = AttendanceLog::from_entries(session, entries)
            .map_err(|b| RestoreError::Log(b.to_string()))?;
        Ok(meeting)
    }

    /// The snapshot to store beside the log (everything but the log).
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Replaces the agenda's item numbers (the agenda may change until the session opens).
    pub fn set_agenda(&mut self, items: &[u32]) {
        if self.phase == Phase::Convened {
            self.agenda = items.iter().copied().collect();
        }
    }

    /// Adds an invited non-member (a guest) who never counts and never votes.
    pub fn invite_guest(&mut self, who: &str) {
        self.roll.invite(who, false);
    }

    /// The settings.
    pub fn settings(&self) -> &MeetingSettings {
        &self.settings
    }

    /// The presiding member's id.
    pub fn presiding(&self) -> &str {
        &self.presiding
    }

    /// The segretario's id.
    pub fn segretario(&self) -> &str {
        &self.segretario
    }

    /// Whether `who` is a member of the organ in this session.
    pub fn is_member(&self, who: &str) -> bool {
        self.members.contains(who)
    }

    /// The agenda item under discussion.
    pub fn current_item(&self) -> Option<u32> {
        self.current_item
    }

    /// The open vote.
    pub fn vote(&self) -> Option<&BallotBox> {
        self.vote.as_ref()
    }

    /// The number the open vote has (or the next one will have).
    pub fn vote_number(&self) -> u32 {
        self.results.len() as u32 + 1
    }

    /// Closed votes, in order.
    pub fn results(&self) -> &[ClosedVote] {
        &self.results
    }

    /// Everyone on the roll: id, whether a member, presence, since when (ms).
    pub fn people(&self) -> impl Iterator<Item = (&str, bool, &Presence, Option<u64>)> {
        self.roll.people()
    }

    /// Where `who` stands.
    pub fn presence(&self, who: &str) -> Option<&Presence> {
        self.roll.presence(who)
    }

    /// What is lost now while the session is open (empty otherwise).
    pub fn alerts(&self) -> Vec<Lost> {
        if self.phase == Phase::Open {
            self.losses()
        } else {
            Vec::new()
        }
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The log so far.
    pub fn log(&self) -> &AttendanceLog {
        &self.log
    }

    /// The quorum now, for the current item.
    pub fn quorum(&self) -> QuorumCheck {
        // Art. 78 abstainers are present in the session, out of the room for the item.
        let abstaining = self.roll.members_abstaining();
        check_quorum(
            &self.settings.rules,
            self.settings.members_in_office,
            self.roll.members_present() + abstaining,
            abstaining,
        )
    }

    /// Applies one input at `now` (ms since the epoch; `at` is the same instant in
    /// RFC 3339 UTC, for the log).
    pub fn handle(
        &mut self,
        input: MeetingInput,
        now: u64,
        at: &str,
    ) -> Result<Vec<MeetingOutput>, MeetingError> {
        if self.phase == Phase::Closed {
            return Err(MeetingError::WrongPhase(Phase::Closed));
        }
        // Work on a copy: a refusal anywhere leaves the session as it was.
        let mut next = self.clone();
        let outputs = next.apply(input, now, at)?;
        next.actor = None;
        *self = next;
        Ok(outputs)
    }

    /// Like [`Meeting::handle`], for an input taken by `actor` (the segretario, or a
    /// member acting for themselves): each log entry records `by`.
    pub fn handle_by(
        &mut self,
        input: MeetingInput,
        now: u64,
        at: &str,
        actor: &str,
    ) -> Result<Vec<MeetingOutput>, MeetingError> {
        self.actor = Some(actor.to_owned());
        let result = self.handle(input, now, at);
        self.actor = None;
        result
    }

    fn apply(
        &mut self,
        input: MeetingInput,
        now: u64,
        at: &str,
    ) -> Result<Vec<MeetingOutput>, MeetingError> {
        let before = self.losses();
        let mut out = Vec::new();
        match input {
            MeetingInput::Presence { who, input } => {
                for e in self.roll.handle(&who, input, now)? {
                    self.log_to(
                        &mut out,
                        at,
                        e.kind,
                        json!({ "participant": e.participant, "now": e.now }),
                    )?;
                }
            }
            MeetingInput::Open => {
                self.expect_phase(Phase::Convened)?;
                let q = self.quorum();
                if !q.reached {
                    return Err(MeetingError::NoQuorum);
                }
                self.expect_colocated()?;
                self.phase = Phase::Open;
                self.log_to(&mut out, at, "session_opened", json!({ "quorum": q }))?;
            }
            MeetingInput::OpenItem { item } => {
                self.expect_phase(Phase::Open)?;
                if self.vote.is_some() {
                    return Err(MeetingError::VoteOpen);
                }
                if !self.agenda.contains(&item) {
                    return Err(MeetingError::UnknownItem);
                }
                // Art. 78 abstainers of the previous item come back.
                for who in self.abstainers() {
                    for e in self.roll.handle(&who, PresenceInput::EndAbstention, now)? {
                        self.log_to(
                            &mut out,
                            at,
                            e.kind,
                            json!({ "participant": e.participant }),
                        )?;
                    }
                }
                self.current_item = Some(item);
                self.log_to(&mut out, at, "item_opened", json!({ "item": item }))?;
            }
            MeetingInput::Abstain { who } => {
                let item = self.current_item.ok_or(MeetingError::UnknownItem)?;
                if self.vote.is_some() {
                    return Err(MeetingError::VoteOpen);
                }
                for e in self
                    .roll
                    .handle(&who, PresenceInput::AbstainFor { item }, now)?
                {
                    self.log_to(
                        &mut out,
                        at,
                        e.kind,
                        json!({ "participant": e.participant, "item": item }),
                    )?;
                }
            }
            MeetingInput::OpenVote { kind, mode } => {
                self.expect_phase(Phase::Open)?;
                let item = self.current_item.ok_or(MeetingError::UnknownItem)?;
                if self.vote.is_some() {
                    return Err(MeetingError::VoteOpen);
                }
                let present = self.present_members();
                let telematic = present.iter().any(|(_, _, mode)| *mode == Mode::Remote);
                let frozen: Vec<(String, bool)> =
                    present.iter().map(|(m, p, _)| (m.clone(), *p)).collect();
                let q = self.quorum();
                let ballot_box = BallotBox::open(item, kind, mode, telematic, &frozen, q, now)?;
                self.log_to(
                    &mut out,
                    at,
                    "vote_opened",
                    json!({
                        "item": item, "kind": kind, "mode": mode, "quorum": q,
                        "present": frozen.iter().map(|(m, _)| m).collect::<Vec<_>>(),
                    }),
                )?;
                self.vote = Some(ballot_box);
            }
            MeetingInput::Media {
                who,
                mic_on,
                camera_on,
            } => {
                if self.roll.presence(&who).is_none() {
                    return Err(MeetingError::Presence(PresenceError::UnknownParticipant));
                }
                self.log_to(
                    &mut out,
                    at,
                    "media_changed",
                    json!({ "participant": who, "mic_on": mic_on, "camera_on": camera_on }),
                )?;
            }
            MeetingInput::ServiceRestarted => {
                self.log_to(&mut out, at, "service_restarted", json!({}))?;
                let remote: Vec<String> = self
                    .roll
                    .people()
                    .filter(|(_, _, p, _)| {
                        matches!(
                            p,
                            Presence::Present { mode: Mode::Remote }
                                | Presence::Away { mode: Mode::Remote }
                        )
                    })
                    .map(|(id, ..)| id.to_owned())
                    .collect();
                for who in remote {
                    for e in self.roll.handle(&who, PresenceInput::ConnectionLost, now)? {
                        self.log_to(
                            &mut out,
                            at,
                            e.kind,
                            json!({ "participant": e.participant, "now": e.now }),
                        )?;
                    }
                }
            }
            MeetingInput::CheckQuorum => {
                let q = self.quorum();
                self.log_to(&mut out, at, "quorum_checked", json!({ "quorum": q }))?;
            }
            MeetingInput::Cast {
                member,
                ballot,
                on_camera,
                recorded_by,
            } => {
                let required = self.settings.camera_required_to_vote
                    && matches!(
                        self.roll.presence(&member),
                        Some(Presence::Present { mode: Mode::Remote })
                    );
                let vote = self.vote.as_mut().ok_or(MeetingError::NoVote)?;
                vote.cast(&member, ballot, required, on_camera)?;
                let item = vote.item;
                let mut data = json!({ "item": item, "member": member, "ballot": ballot });
                if let Some(by) = recorded_by {
                    data["recorded_by"] = json!(by);
                }
                self.log_to(&mut out, at, "vote_cast", data)?;
            }
            MeetingInput::CloseVote => {
                let mut vote = self.vote.take().ok_or(MeetingError::NoVote)?;
                let outcome =
                    vote.close(&self.settings.rules, self.settings.members_in_office, now)?;
                self.log_to(
                    &mut out,
                    at,
                    "vote_closed",
                    json!({ "item": vote.item, "kind": vote.kind, "outcome": outcome }),
                )?;
                out.push(MeetingOutput::VoteClosed {
                    item: vote.item,
                    kind: vote.kind,
                    outcome,
                });
                self.results.push(ClosedVote {
                    number: self.results.len() as u32 + 1,
                    ballot_box: vote,
                    outcome,
                });
            }
            MeetingInput::Suspend => {
                self.expect_phase(Phase::Open)?;
                if self.vote.is_some() {
                    return Err(MeetingError::VoteOpen);
                }
                self.phase = Phase::Suspended;
                self.log_to(
                    &mut out,
                    at,
                    "session_suspended",
                    json!({ "quorum": self.quorum() }),
                )?;
            }
            MeetingInput::Resume => {
                self.expect_phase(Phase::Suspended)?;
                let q = self.quorum();
                let roll_call: Vec<String> = self
                    .present_members()
                    .into_iter()
                    .map(|(m, _, _)| m)
                    .collect();
                if !q.reached {
                    return Err(MeetingError::NoQuorum);
                }
                self.expect_colocated()?;
                self.phase = Phase::Open;
                self.log_to(
                    &mut out,
                    at,
                    "session_resumed",
                    json!({ "quorum": q, "roll_call": roll_call }),
                )?;
            }
            MeetingInput::Recording { event, data } => {
                let data = if data.is_object() { data } else { json!({}) };
                self.log_to(&mut out, at, event.kind(), data)?;
            }
            MeetingInput::Close => {
                if self.vote.is_some() {
                    return Err(MeetingError::VoteOpen);
                }
                self.phase = Phase::Closed;
                self.log_to(&mut out, at, "session_closed", json!({}))?;
                let entry = self.log.seal(at)?.clone();
                out.push(MeetingOutput::Logged { entry });
                return Ok(out);
            }
        }
        out.push(MeetingOutput::Quorum {
            check: self.quorum(),
        });
        if self.phase == Phase::Open {
            for lost in self.losses() {
                if !before.contains(&lost) {
                    out.push(MeetingOutput::Alert { lost });
                }
            }
        }
        Ok(out)
    }

    /// With the co-location setting, the presiding member and the segretario may not
    /// be one in the chamber and the other remote.
    fn expect_colocated(&self) -> Result<(), MeetingError> {
        if !self.settings.presiding_and_segretario_colocated {
            return Ok(());
        }
        let mode = |who: &str| match self.roll.presence(who) {
            Some(Presence::Present { mode }) => Some(*mode),
            _ => None,
        };
        match (mode(&self.presiding), mode(&self.segretario)) {
            (Some(a), Some(b)) if a != b => Err(MeetingError::NotColocated),
            _ => Ok(()),
        }
    }

    fn expect_phase(&self, phase: Phase) -> Result<(), MeetingError> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(MeetingError::WrongPhase(self.phase))
        }
    }

    fn log_to(
        &mut self,
        out: &mut Vec<MeetingOutput>,
        at: &str,
        kind: &str,
        mut data: serde_json::Value,
    ) -> Result<(), MeetingError> {
        if let (Some(actor), Some(map)) = (&self.actor, data.as_object_mut()) {
            map.insert("by".to_owned(), json!(actor));
        }
        let entry = self.log.append(at, kind, data)?.clone();
        out.push(MeetingOutput::Logged { entry });
        Ok(())
    }

    /// Members present now: (id, presides, mode).
    fn present_members(&self) -> Vec<(String, bool, Mode)> {
        self.members
            .iter()
            .filter_map(|m| match self.roll.presence(m) {
                Some(Presence::Present { mode }) => Some((m.clone(), *m == self.presiding, *mode)),
                _ => None,
            })
            .collect()
    }

    fn abstainers(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| matches!(self.roll.presence(m), Some(Presence::Abstaining { .. })))
            .cloned()
            .collect()
    }

    fn losses(&self) -> Vec<Lost> {
        let present = |who: &str| matches!(self.roll.presence(who), Some(Presence::Present { .. }));
        let mut lost = Vec::new();
        if !self.quorum().reached {
            lost.push(Lost::Quorum);
        }
        if !present(&self.presiding) {
            lost.push(Lost::Presiding);
        }
        if !present(&self.segretario) {
            lost.push(Lost::Segretario);
        }
        lost
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
