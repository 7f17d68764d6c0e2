use serde::{Deserialize, Serialize};

use super::settings::{MajorityRule, RuleSettings, TieRule};

/// One member's answer in a roll-call vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ballot {
    /// In favour.
    Favorevole,
    /// Against.
    Contrario,
    /// Abstains (present, counted as present, not as a voter).
    Astenuto,
}

/// The counts of a vote.
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

impl VoteCount {
    /// Those who voted for or against.
    pub fn votanti(&self) -> u32 {
        self.favorevoli + self.contrari
    }

    /// Present members who gave no answer.
    pub fn non_votanti(&self) -> u32 {
        self.presenti
            .saturating_sub(self.favorevoli + self.contrari + self.astenuti)
    }
}

/// The result of a vote under the organ's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The counts.
    pub count: VoteCount,
    /// Whether the proposal passed.
    pub approved: bool,
    /// Whether the count was tied under the majority rule.
    pub tie: bool,
    /// Whether the presiding member's vote decided a tie.
    pub decided_by_presiding: bool,
}

/// Counts `ballots` (`(is_presiding, ballot)` of each member who answered) of a vote
/// opened with `presenti` members present, and applies the majority and tie rules.
pub fn count_votes(settings: &RuleSettings, ballots: &[(bool, Ballot)], presenti: u32) -> Outcome {
    let mut count = VoteCount {
        presenti,
        ..VoteCount::default()
    };
    let mut presiding = None;
    for &(is_presiding, ballot) in ballots {
        match ballot {
            Ballot::Favorevole => count.favorevoli += 1,
            Ballot::Contrario => count.contrari += 1,
            Ballot::Astenuto => count.astenuti += 1,
        }
        if is_presiding {
            presiding = Some(ballot);
        }
    }
    // Compare favorevoli with the threshold in doubled units to stay in integers:
    // "more than half of n" is 2·f > n, a tie is 2·f = n.
    let (doubled_favour, threshold) = match settings.majority {
        MajorityRule::MoreInFavourThanAgainst => (count.favorevoli, count.contrari),
        MajorityRule::OverHalfOfVoters => (2 * count.favorevoli, count.votanti()),
        MajorityRule::OverHalfOfPresent => (2 * count.favorevoli, count.presenti),
    };
    let tie = doubled_favour == threshold && count.votanti() > 0;
    let (approved, decided_by_presiding) = if tie {
        match settings.tie {
            TieRule::PresidingPrevails => match presiding {
                Some(Ballot::Favorevole) => (true, true),
                Some(Ballot::Contrario) => (false, true),
                _ => (false, false),
            },
            TieRule::Rejected => (false, false),
        }
    } else {
        (doubled_favour > threshold, false)
    };
    Outcome {
        count,
        approved,
        tie,
        decided_by_presiding,
    }
}

/// Immediate executability (TUEL art. 134 c.4): passed only with at least
/// floor(members / 2) + 1 in favour, counted on the membership, not on those present.
pub fn immediate_executability(members: u32, favorevoli: u32) -> bool {
    favorevoli > members / 2
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rules(majority: MajorityRule, tie: TieRule) -> RuleSettings {
        RuleSettings {
            majority,
            tie,
            ..RuleSettings::default()
        }
    }

    fn ballots(f: u32, c: u32, a: u32) -> Vec<(bool, Ballot)> {
        let mut v = Vec::new();
        v.extend((0..f).map(|_| (false, Ballot::Favorevole)));
        v.extend((0..c).map(|_| (false, Ballot::Contrario)));
        v.extend((0..a).map(|_| (false, Ballot::Astenuto)));
        v
    }

    #[test]
    fn table_of_majorities() {
        use MajorityRule::*;
        // (rule, favorevoli, contrari, astenuti, presenti, approved, tie)
        let table = [
            (MoreInFavourThanAgainst, 3, 1, 1, 5, true, false),
            (MoreInFavourThanAgainst, 2, 2, 1, 5, false, true),
            (MoreInFavourThanAgainst, 1, 0, 4, 5, true, false),
            (OverHalfOfVoters, 3, 1, 1, 5, true, false),
            (OverHalfOfVoters, 2, 2, 1, 5, false, true),
            (OverHalfOfPresent, 3, 1, 1, 5, true, false),
            (OverHalfOfPresent, 2, 1, 2, 5, false, false),
            (OverHalfOfPresent, 3, 0, 3, 6, false, true),
            (OverHalfOfPresent, 1, 0, 4, 5, false, false),
        ];
        for (rule, f, c, a, p, approved, tie) in table {
            let o = count_votes(&rules(rule, TieRule::Rejected), &ballots(f, c, a), p);
            assert_eq!(
                (o.approved, o.tie),
                (approved, tie),
                "{rule:?} {f}/{c}/{a} of {p}"
            );
        }
    }

    #[test]
    fn the_presiding_vote_breaks_a_tie_when_the_rule_says_so() {
        let s = rules(
            MajorityRule::MoreInFavourThanAgainst,
            TieRule::PresidingPrevails,
        );
        let mut v = ballots(1, 2, 0);
        v.push((true, Ballot::Favorevole));
        let o = count_votes(&s, &v, 4);
        assert!(o.tie && o.approved && o.decided_by_presiding);
        let mut v = ballots(2, 1, 0);
        v.push((true, Ballot::Contrario));
        let o = count_votes(&s, &v, 4);
        assert!(o.tie && !o.approved && o.decided_by_presiding);
        let mut v = ballots(1, 1, 0);
        v.push((true, Ballot::Astenuto));
        let o = count_votes(&s, &v, 3);
        assert!(
            o.tie && !o.approved && !o.decided_by_presiding,
            "an abstaining presiding member decides nothing"
        );
    }

    #[test]
    fn immediate_executability_counts_the_membership() {
        // A Giunta of 7: 4 in favour are needed whoever is present.
        assert!(!immediate_executability(7, 3));
        assert!(immediate_executability(7, 4));
        assert!(!immediate_executability(8, 4));
        assert!(immediate_executability(8, 5));
    }

    #[test]
    fn counts_who_did_not_answer() {
        let o = count_votes(&RuleSettings::default(), &ballots(3, 1, 1), 6);
        assert_eq!(o.count.non_votanti(), 1);
        assert_eq!(o.count.votanti(), 4);
    }

    fn any_rules() -> impl Strategy<Value = RuleSettings> {
        (
            prop_oneof![
                Just(MajorityRule::MoreInFavourThanAgainst),
                Just(MajorityRule::OverHalfOfVoters),
                Just(MajorityRule::OverHalfOfPresent),
            ],
            prop_oneof![Just(TieRule::PresidingPrevails), Just(TieRule::Rejected)],
        )
            .prop_map(|(majority, tie)| rules(majority, tie))
    }

    proptest! {
        #[test]
        fn turning_a_contrario_into_a_favorevole_never_rejects_an_approved_proposal(
            s in any_rules(), f in 0u32..8, c in 1u32..8, a in 0u32..5, extra in 0u32..3
        ) {
            let presenti = f + c + a + extra;
            let before = count_votes(&s, &ballots(f, c, a), presenti);
            let after = count_votes(&s, &ballots(f + 1, c - 1, a), presenti);
            prop_assert!(!before.approved || after.approved);
        }

        #[test]
        fn no_favorevoli_never_approves(s in any_rules(), c in 0u32..8, a in 0u32..8) {
            prop_assert!(!count_votes(&s, &ballots(0, c, a), c + a).approved);
        }

        #[test]
        fn unanimity_of_voters_approves_under_every_rule_but_present(
            s in any_rules(), f in 1u32..10, a in 0u32..3
        ) {
            let o = count_votes(&s, &ballots(f, 0, a), f + a);
            if s.majority != MajorityRule::OverHalfOfPresent || 2 * f > f + a {
                prop_assert!(o.approved);
            }
        }
    }
}
