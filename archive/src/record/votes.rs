use serde::{Deserialize, Serialize};

/// What a vote decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// The deliberation on the item's proposal.
    Deliberation,
    /// The separate vote on immediate executability (TUEL art. 134 c.4), counted on
    /// the membership.
    ImmediateExecutability,
}

/// The counts of a vote, as the server computed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VoteCount {
    /// In favour.
    pub favorevoli: u32,
    /// Against.
    pub contrari: u32,
    /// Abstaining.
    pub astenuti: u32,
    /// Members present when the vote opened (presence is frozen then).
    pub presenti: u32,
}

/// A closed vote with its ballots by name and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteResult {
    /// The vote's number within the session, from 1.
    pub number: u32,
    /// What was voted.
    pub kind: VoteKind,
    /// How it was voted, in Italian as the verbale should say it ("palese, per
    /// appello nominale").
    pub mode: String,
    /// When the vote opened.
    pub opened_at: String,
    /// When it closed.
    pub closed_at: String,
    /// Participant ids voting in favour.
    pub favorevoli: Vec<String>,
    /// Participant ids voting against.
    pub contrari: Vec<String>,
    /// Participant ids abstaining.
    pub astenuti: Vec<String>,
    /// Present members who gave no answer.
    #[serde(default)]
    pub non_votanti: Vec<String>,
    /// The counts.
    pub count: VoteCount,
    /// Votes in favour required to pass, when the rule fixes a number (immediate
    /// executability: the majority of the members).
    pub required: Option<u32>,
    /// Whether the proposal passed.
    pub approved: bool,
    /// Whether the presiding member's vote decided a tie.
    #[serde(default)]
    pub decided_by_presiding: bool,
}
