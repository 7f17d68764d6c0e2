//! The rules of a Giunta session, as pure functions of the organ's settings
//! (its regolamento) and of who is present: presence (lobby, identification,
//! absences, disconnections, art. 78), the quorum (numero legale), the outcome of a
//! roll-call vote, and immediate executability (TUEL art. 134 c.4).
//!
//! Nothing here does I/O or keeps state: every decision is computed from its inputs,
//! and every check can be logged with those inputs beside the result.

mod ballot_box;
mod permissions;
mod presence;
mod quorum;
mod session;
mod settings;
mod votes;

pub use ballot_box::{BallotBox, VoteError, VoteKind, VoteMode};
pub use permissions::{Forbidden, authorize};
pub use presence::{
    Mode, Presence, PresenceError, PresenceEvent, PresenceInput, PresenceRoll, PresenceSettings,
};
pub use quorum::{QuorumCheck, check_quorum};
pub use session::{
    ClosedVote, Lost, Meeting, MeetingError, MeetingInput, MeetingOutput, MeetingSettings, Phase,
    RecordingEvent, RestoreError,
};
pub use settings::{MajorityRule, OrganSettings, QuorumRule, RuleSettings, TieRule};
pub use votes::{Ballot, Outcome, VoteCount, count_votes, immediate_executability};
