//! Who may do what in a session: the role × action matrix, as one pure function.
//!
//! The segretario runs the session (lobby, check-in, agenda, votes, suspension,
//! pausing and resuming the recording, close). A member (the presiding member included) acts only for themselves:
//! declares an absence and return, leaves an item under art. 78, casts their own
//! ballot. Guests and the chamber endpoint act on nothing.

use thiserror::Error;

use crate::auth::Role;
use crate::protocol::MeetingAction;

/// The action is not allowed for this role (or not on someone else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("this action is not allowed for the role `{role}`")]
pub struct Forbidden {
    /// The actor's role.
    pub role: Role,
}

impl Forbidden {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        "forbidden"
    }
}

/// Decides whether `actor` (with `role`) may take `action`. On success returns the
/// participant the action is about, when it is about one (`None` for the whole
/// session), with "oneself" resolved to `actor`.
pub fn authorize(
    role: Role,
    actor: &str,
    action: &MeetingAction,
) -> Result<Option<String>, Forbidden> {
    use MeetingAction as A;
    let forbidden = Err(Forbidden { role });
    let subject = |p: &Option<String>| p.clone().unwrap_or_else(|| actor.to_owned());
    match role {
        Role::Segretario => Ok(match action {
            A::Identify { participant, .. }
            | A::Refuse { participant }
            | A::CheckIn { participant }
            | A::CheckOut { participant }
            | A::Remove { participant } => Some(participant.clone()),
            A::Away { participant }
            | A::Back { participant }
            | A::Abstain { participant }
            | A::Cast { participant, .. } => Some(subject(participant)),
            A::CheckQuorum {}
            | A::OpenSession {}
            | A::OpenItem { .. }
            | A::OpenVote { .. }
            | A::CloseVote {}
            | A::Suspend {}
            | A::Resume {}
            | A::CloseSession {}
            | A::PauseRecording {}
            | A::ResumeRecording {} => None,
        }),
        Role::Presiding | Role::Member => match action {
            A::Away { participant }
            | A::Back { participant }
            | A::Abstain { participant }
            | A::Cast { participant, .. }
                if participant.as_deref().is_none_or(|p| p == actor) =>
            {
                Ok(Some(actor.to_owned()))
            }
            _ => forbidden,
        },
        Role::Guest | Role::Room => forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::{Ballot, VoteKind, VoteMode};

    fn every_action(other: &str) -> Vec<MeetingAction> {
        let p = || other.to_owned();
        vec![
            MeetingAction::Identify {
                participant: p(),
                camera_on: true,
            },
            MeetingAction::Refuse { participant: p() },
            MeetingAction::CheckIn { participant: p() },
            MeetingAction::CheckOut { participant: p() },
            MeetingAction::Away {
                participant: Some(p()),
            },
            MeetingAction::Back {
                participant: Some(p()),
            },
            MeetingAction::CheckQuorum {},
            MeetingAction::OpenSession {},
            MeetingAction::OpenItem { item: 1 },
            MeetingAction::Abstain {
                participant: Some(p()),
            },
            MeetingAction::OpenVote {
                vote: VoteKind::Deliberation,
                mode: VoteMode::Open,
            },
            MeetingAction::Cast {
                ballot: Ballot::Favorevole,
                participant: Some(p()),
            },
            MeetingAction::CloseVote {},
            MeetingAction::Suspend {},
            MeetingAction::Resume {},
            MeetingAction::CloseSession {},
            MeetingAction::Remove { participant: p() },
            MeetingAction::PauseRecording {},
            MeetingAction::ResumeRecording {},
        ]
    }

    #[test]
    fn segretario_may_do_everything() {
        for action in every_action("a1") {
            assert!(
                authorize(Role::Segretario, "seg", &action).is_ok(),
                "{action:?}"
            );
        }
    }

    #[test]
    fn guests_and_the_chamber_may_do_nothing() {
        for role in [Role::Guest, Role::Room] {
            for action in every_action("a1").into_iter().chain(every_action("me")) {
                assert_eq!(
                    authorize(role, "me", &action),
                    Err(Forbidden { role }),
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn members_act_only_for_themselves() {
        for role in [Role::Presiding, Role::Member] {
            for action in every_action("other") {
                assert_eq!(
                    authorize(role, "me", &action),
                    Err(Forbidden { role }),
                    "{role} on someone else: {action:?}"
                );
            }
            let own = [
                MeetingAction::Away { participant: None },
                MeetingAction::Back {
                    participant: Some("me".into()),
                },
                MeetingAction::Abstain { participant: None },
                MeetingAction::Cast {
                    ballot: Ballot::Astenuto,
                    participant: None,
                },
            ];
            for action in own {
                assert_eq!(
                    authorize(role, "me", &action),
                    Ok(Some("me".to_owned())),
                    "{role} {action:?}"
                );
            }
        }
    }
}
