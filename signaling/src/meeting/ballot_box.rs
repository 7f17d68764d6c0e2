//! One vote from opening to outcome. Presence is frozen when the vote opens: only
//! the members present then may vote, each once, until it closes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::quorum::QuorumCheck;
use super::settings::RuleSettings;
use super::votes::{Ballot, Outcome, count_votes, immediate_executability};

/// What is voted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// The proposal of the item.
    Deliberation,
    /// The separate vote on immediate executability (TUEL art. 134 c.4).
    ImmediateExecutability,
}

/// How the vote is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteMode {
    /// Open, by name (palese): cast by the members or called by the segretario.
    Open,
    /// Secret ballot (votes on persons).
    Secret,
}

/// Why a vote action was refused. Nothing changes when one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VoteError {
    /// A secret ballot cannot be held honestly with remote members.
    #[error(
        "a secret ballot is not possible in a session with remote members: the secrecy of each vote cannot be guaranteed"
    )]
    SecretBallotInTelematicMode,
    /// The quorum does not hold.
    #[error("the quorum does not hold")]
    NoQuorum,
    /// Not a member present when the vote opened (absent, in the lobby, away, abstaining, or not a member).
    #[error("only members present when the vote opened may vote")]
    NotEntitled,
    /// This member has voted already.
    #[error("this member has already voted")]
    AlreadyVoted,
    /// The vote is closed.
    #[error("the vote is closed")]
    Closed,
    /// The member must be on camera to vote.
    #[error("the camera must be on to vote")]
    CameraRequired,
}

impl VoteError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            VoteError::SecretBallotInTelematicMode => "secret_ballot_refused",
            VoteError::NoQuorum => "no_quorum",
            VoteError::NotEntitled => "not_entitled_to_vote",
            VoteError::AlreadyVoted => "already_voted",
            VoteError::Closed => "vote_closed",
            VoteError::CameraRequired => "camera_required",
        }
    }
}

/// A vote in progress or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotBox {
    /// The agenda item.
    pub item: u32,
    /// What is voted on.
    pub kind: VoteKind,
    /// Members present at opening, with whether each presides.
    pub frozen: BTreeMap<String, bool>,
    /// Ballots so far.
    pub ballots: BTreeMap<String, Ballot>,
    /// The quorum check made at opening.
    pub quorum: QuorumCheck,
    /// Opening time, ms.
    pub opened_at: u64,
    /// Closing time, ms, once closed.
    pub closed_at: Option<u64>,
}

impl BallotBox {
    /// Opens a vote. `present` lists the members present now (id, presides);
    /// `telematic` is true when any member takes part remotely.
    pub fn open(
        item: u32,
        kind: VoteKind,
        mode: VoteMode,
        telematic: bool,
        present: &[(String, bool)],
        quorum: QuorumCheck,
        now: u64,
    ) -> Result<Self, VoteError> {
        if mode == VoteMode::Secret && telematic {
            return Err(VoteError::SecretBallotInTelematicMode);
        }
        if !quorum.reached {
            return Err(VoteError::NoQuorum);
        }
        Ok(Self {
            item,
            kind,
            frozen: present.iter().cloned().collect(),
            ballots: BTreeMap::new(),
            quorum,
            opened_at: now,
            closed_at: None,
        })
    }

    /// Records `member`'s ballot, cast by them or called by the segretario.
    /// `on_camera` is checked when `camera_required` (a setting for remote members).
    pub fn cast(
        &mut self,
        member: &str,
        ballot: Ballot,
        camera_required: bool,
        on_camera: bool,
    ) -> Result<(), VoteError> {
        if self.closed_at.is_some() {
            return Err(VoteError::Closed);
        }
        if !self.frozen.contains_key(member) {
            return Err(VoteError::NotEntitled);
        }
        if self.ballots.contains_key(member) {
            return Err(VoteError::AlreadyVoted);
        }
        if camera_required && !on_camera {
            return Err(VoteError::CameraRequired);
        }
        self.ballots.insert(member.to_owned(), ballot);
        Ok(())
    }

    /// Closes the vote and applies the rules; `members_in_office` is the membership
    /// that immediate executability is counted on.
    pub fn close(
        &mut self,
        settings: &RuleSettings,
        members_in_office: u32,
        now: u64,
    ) -> Result<Outcome, VoteError> {
        if self.closed_at.is_some() {
            return Err(VoteError::Closed);
        }
        self.closed_at = Some(now);
        Ok(self.outcome(settings, members_in_office))
    }

    /// The outcome from the ballots so far.
    pub fn outcome(&self, settings: &RuleSettings, members_in_office: u32) -> Outcome {
        let ballots: Vec<(bool, Ballot)> = self
            .ballots
            .iter()
            .map(|(m, b)| (self.frozen.get(m).copied().unwrap_or(false), *b))
            .collect();
        let mut outcome = count_votes(settings, &ballots, self.frozen.len() as u32);
        if self.kind == VoteKind::ImmediateExecutability {
            outcome.approved = immediate_executability(members_in_office, outcome.count.favorevoli);
            outcome.tie = false;
            outcome.decided_by_presiding = false;
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::check_quorum;

    fn present(names: &[&str]) -> Vec<(String, bool)> {
        names
            .iter()
            .map(|n| (n.to_string(), *n == "sindaco"))
            .collect()
    }

    fn open(kind: VoteKind, names: &[&str]) -> BallotBox {
        let q = check_quorum(&RuleSettings::default(), 7, names.len() as u32, 0);
        BallotBox::open(3, kind, VoteMode::Open, true, &present(names), q, 0).expect("open")
    }

    /// Sindaco, a1, a2 in favour; a3 against; a4 abstaining.
    fn three_one_one(b: &mut BallotBox) {
        for (m, v) in [
            ("sindaco", Ballot::Favorevole),
            ("a1", Ballot::Favorevole),
            ("a2", Ballot::Favorevole),
            ("a3", Ballot::Contrario),
            ("a4", Ballot::Astenuto),
        ] {
            b.cast(m, v, true, true).expect("cast");
        }
    }

    #[test]
    fn three_for_one_against_one_abstaining_is_approved() {
        let mut b = open(VoteKind::Deliberation, &["sindaco", "a1", "a2", "a3", "a4"]);
        three_one_one(&mut b);
        let o = b.close(&RuleSettings::default(), 7, 10).expect("close");
        assert!(o.approved);
        assert_eq!(
            (o.count.favorevoli, o.count.contrari, o.count.astenuti),
            (3, 1, 1)
        );
    }

    #[test]
    fn immediate_executability_fails_with_too_few_in_favour() {
        // A Giunta of 7 needs 4 in favour, whoever is present.
        let mut b = open(
            VoteKind::ImmediateExecutability,
            &["sindaco", "a1", "a2", "a3", "a4"],
        );
        three_one_one(&mut b);
        let o = b.close(&RuleSettings::default(), 7, 10).expect("close");
        assert!(!o.approved, "3 of 7 is not floor(7/2)+1");
    }

    #[test]
    fn refusals_have_codes_and_change_nothing() {
        let q = check_quorum(&RuleSettings::default(), 7, 5, 0);
        let secret = BallotBox::open(
            1,
            VoteKind::Deliberation,
            VoteMode::Secret,
            true,
            &present(&["a1"]),
            q,
            0,
        );
        assert_eq!(
            secret.map(|_| ()).map_err(|e| e.code()),
            Err("secret_ballot_refused")
        );
        let no_q = check_quorum(&RuleSettings::default(), 7, 3, 0);
        let err = BallotBox::open(
            1,
            VoteKind::Deliberation,
            VoteMode::Open,
            false,
            &present(&["a1"]),
            no_q,
            0,
        );
        assert_eq!(err.map(|_| ()), Err(VoteError::NoQuorum));

        let mut b = open(VoteKind::Deliberation, &["sindaco", "a1", "a2", "a3"]);
        b.cast("a1", Ballot::Favorevole, true, true).expect("cast");
        let before = b.clone();
        assert_eq!(
            b.cast("a1", Ballot::Contrario, true, true),
            Err(VoteError::AlreadyVoted)
        );
        assert_eq!(
            b.cast("a5", Ballot::Favorevole, true, true),
            Err(VoteError::NotEntitled),
            "absent or in the lobby at opening"
        );
        assert_eq!(
            b.cast("segretario", Ballot::Favorevole, true, true),
            Err(VoteError::NotEntitled)
        );
        assert_eq!(
            b.cast("ospite", Ballot::Favorevole, true, true),
            Err(VoteError::NotEntitled)
        );
        assert_eq!(
            b.cast("a2", Ballot::Favorevole, true, false),
            Err(VoteError::CameraRequired)
        );
        assert_eq!(b, before);
        b.close(&RuleSettings::default(), 7, 5).expect("close");
        assert_eq!(
            b.cast("a3", Ballot::Favorevole, true, true),
            Err(VoteError::Closed)
        );
        assert_eq!(
            b.close(&RuleSettings::default(), 7, 6).map(|_| ()),
            Err(VoteError::Closed)
        );
    }

    #[test]
    fn a_secret_ballot_is_possible_when_everyone_is_in_the_chamber() {
        let q = check_quorum(&RuleSettings::default(), 7, 5, 0);
        assert!(
            BallotBox::open(
                1,
                VoteKind::Deliberation,
                VoteMode::Secret,
                false,
                &present(&["a1"]),
                q,
                0
            )
            .is_ok()
        );
    }
}
