use serde::{Deserialize, Serialize};

use super::settings::{QuorumRule, RuleSettings};

/// One quorum check, with its inputs, so that it can be logged as it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCheck {
    /// Members in office (in carica).
    pub in_office: u32,
    /// Members present and counted.
    pub counted: u32,
    /// Members required.
    pub required: u32,
    /// Whether the quorum holds.
    pub reached: bool,
}

/// Checks the quorum. `present` counts members present (the segretario and guests
/// are never members); `art78_abstainers` counts present members who left for the
/// current item under art. 78, who count only when the settings say so.
pub fn check_quorum(
    settings: &RuleSettings,
    in_office: u32,
    present: u32,
    art78_abstainers: u32,
) -> QuorumCheck {
    let present = present.min(in_office);
    let counted = if settings.art78_abstainer_counts_for_quorum {
        present
    } else {
        present.saturating_sub(art78_abstainers)
    };
    let required = match settings.quorum {
        QuorumRule::HalfPlusOne => in_office / 2 + 1,
        QuorumRule::HalfRoundedUp => in_office.div_ceil(2),
        QuorumRule::Fixed { members } => members,
    }
    // Never fewer than one member: an empty room is never a quorum.
    .max(1);
    QuorumCheck {
        in_office,
        counted,
        required,
        reached: counted >= required,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rules(quorum: QuorumRule, art78: bool) -> RuleSettings {
        RuleSettings {
            quorum,
            art78_abstainer_counts_for_quorum: art78,
            ..RuleSettings::default()
        }
    }

    #[test]
    fn table_of_quorum_rules() {
        // (rule, in office, present, art.78 abstainers, required, reached)
        let table = [
            (QuorumRule::HalfPlusOne, 7, 4, 0, 4, true),
            (QuorumRule::HalfPlusOne, 7, 3, 0, 4, false),
            (QuorumRule::HalfPlusOne, 8, 4, 0, 5, false),
            (QuorumRule::HalfPlusOne, 8, 5, 0, 5, true),
            (QuorumRule::HalfPlusOne, 5, 3, 0, 3, true),
            (QuorumRule::HalfRoundedUp, 7, 4, 0, 4, true),
            (QuorumRule::HalfRoundedUp, 8, 4, 0, 4, true),
            (QuorumRule::HalfRoundedUp, 8, 3, 0, 4, false),
            (QuorumRule::Fixed { members: 3 }, 9, 3, 0, 3, true),
            (QuorumRule::HalfPlusOne, 7, 4, 1, 4, false),
            (QuorumRule::HalfPlusOne, 7, 5, 1, 4, true),
            (QuorumRule::HalfPlusOne, 0, 0, 0, 1, false),
        ];
        for (rule, in_office, present, abst, required, reached) in table {
            let q = check_quorum(&rules(rule, false), in_office, present, abst);
            assert_eq!(
                (q.required, q.reached),
                (required, reached),
                "{rule:?} {in_office} {present} {abst}"
            );
        }
    }

    #[test]
    fn art78_abstainer_counts_when_the_regolamento_says_so() {
        let q = check_quorum(&rules(QuorumRule::HalfPlusOne, true), 7, 4, 1);
        assert!(q.reached);
        assert_eq!(q.counted, 4);
    }

    fn any_rule() -> impl Strategy<Value = QuorumRule> {
        prop_oneof![
            Just(QuorumRule::HalfPlusOne),
            Just(QuorumRule::HalfRoundedUp),
            (1u32..20).prop_map(|members| QuorumRule::Fixed { members }),
        ]
    }

    proptest! {
        #[test]
        fn one_more_present_member_never_breaks_a_quorum(
            rule in any_rule(), in_office in 1u32..30, present in 0u32..30, abst in 0u32..5, art78 in any::<bool>()
        ) {
            let s = rules(rule, art78);
            let present = present.min(in_office.saturating_sub(1));
            let before = check_quorum(&s, in_office, present, abst.min(present));
            let after = check_quorum(&s, in_office, present + 1, abst.min(present));
            prop_assert!(!before.reached || after.reached);
        }

        #[test]
        fn one_more_abstainer_never_makes_a_quorum(
            rule in any_rule(), in_office in 1u32..30, present in 0u32..30, abst in 0u32..5
        ) {
            let s = rules(rule, false);
            let present = present.min(in_office);
            let before = check_quorum(&s, in_office, present, abst);
            let after = check_quorum(&s, in_office, present, abst + 1);
            prop_assert!(before.reached || !after.reached);
        }

        #[test]
        fn everyone_present_is_a_quorum_under_the_proportional_rules(
            in_office in 1u32..30, half_plus_one in any::<bool>()
        ) {
            let rule = if half_plus_one { QuorumRule::HalfPlusOne } else { QuorumRule::HalfRoundedUp };
            prop_assert!(check_quorum(&rules(rule, false), in_office, in_office, 0).reached);
        }

        #[test]
        fn half_plus_one_is_a_strict_majority_of_the_office(in_office in 1u32..30, present in 0u32..30) {
            let present = present.min(in_office);
            let q = check_quorum(&rules(QuorumRule::HalfPlusOne, false), in_office, present, 0);
            prop_assert_eq!(q.reached, 2 * present > in_office);
        }
    }
}
