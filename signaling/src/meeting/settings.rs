use serde::{Deserialize, Serialize};

/// How many members must be present (quorum strutturale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum QuorumRule {
    /// floor(in carica / 2) + 1, "metà più uno" (the default for a Giunta).
    HalfPlusOne,
    /// ceil(in carica / 2), "metà arrotondata per eccesso, computando il Sindaco".
    HalfRoundedUp,
    /// A fixed number set by the regolamento.
    Fixed {
        /// Members required.
        members: u32,
    },
}

/// When a proposal is approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MajorityRule {
    /// favorevoli > contrari; abstentions are neutral (the default).
    MoreInFavourThanAgainst,
    /// favorevoli > half of the votanti (those who voted for or against).
    OverHalfOfVoters,
    /// favorevoli > half of those present.
    OverHalfOfPresent,
}

/// What a tie means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// The presiding member's vote prevails.
    PresidingPrevails,
    /// The proposal is rejected.
    Rejected,
}

/// The organ's rule settings, with DOMAIN.md's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSettings {
    /// Quorum rule.
    pub quorum: QuorumRule,
    /// Majority rule.
    pub majority: MajorityRule,
    /// Tie rule.
    pub tie: TieRule,
    /// Whether a member abstaining under TUEL art. 78 c.2 still counts toward the
    /// quorum of that item (they have left the room, so by default they do not).
    pub art78_abstainer_counts_for_quorum: bool,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            quorum: QuorumRule::HalfPlusOne,
            majority: MajorityRule::MoreInFavourThanAgainst,
            tie: TieRule::Rejected,
            art78_abstainer_counts_for_quorum: false,
        }
    }
}

/// Every setting of an organ's regolamento that Seduta applies, with DOMAIN.md's
/// defaults. Stored as one JSON document per organ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganSettings {
    /// Quorum, majority and tie rules.
    pub rules: RuleSettings,
    /// Lobby, camera and grace-period settings.
    pub presence: super::presence::PresenceSettings,
    /// Whether a remote member must be on camera to cast a vote.
    pub camera_required_to_vote: bool,
    /// Whether the presiding member and the segretario must be in the same place.
    pub presiding_and_segretario_colocated: bool,
    /// Whether a remote member must state a reason for attending remotely.
    pub remote_reason_required: bool,
    /// Whether the recording starts when the session opens (otherwise the segretario
    /// starts it with `resume_recording`).
    pub recording_starts_with_session: bool,
}

impl Default for OrganSettings {
    fn default() -> Self {
        Self {
            rules: RuleSettings::default(),
            presence: super::presence::PresenceSettings::default(),
            camera_required_to_vote: true,
            presiding_and_segretario_colocated: false,
            remote_reason_required: false,
            recording_starts_with_session: true,
        }
    }
}
