//! Presence as a time series: where each person stands, changed only by events.
//!
//! A remote person waits in the lobby until the segretario identifies them on video;
//! a person in the chamber is checked in. A declared absence, a lost connection (with
//! a grace period) and a compulsory abstention (art. 78) take them out of the count.
//! Every accepted input yields the attendance events to log; a refused input
//! changes nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a present person takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// In the chamber.
    InPerson,
    /// Connected from elsewhere, identified on video.
    Remote,
}

/// Where a person stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    /// Connected, waiting to be identified; receives no one's media.
    Lobby,
    /// Present and counted (if a member).
    Present {
        /// How.
        mode: Mode,
    },
    /// Declared a temporary absence.
    Away {
        /// How they were present before.
        mode: Mode,
    },
    /// Connection lost at `since` (ms); absent for the quorum, back without a new
    /// identification if they return within the grace period (when the settings allow).
    Disconnected {
        /// When the connection was lost, in milliseconds.
        since: u64,
    },
    /// Out for one agenda item under art. 78 (conflict of interest).
    Abstaining {
        /// The item.
        item: u32,
        /// How they were present before.
        mode: Mode,
    },
    /// Not in the session.
    Absent,
}

/// The organ's presence settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceSettings {
    /// Whether a remote member may be identified with the camera off.
    pub audio_only_allowed: bool,
    /// How long a lost connection is tolerated before the person counts as absent.
    pub grace_ms: u64,
    /// Whether a person who comes back within the grace period must be identified again.
    pub reidentify_after_disconnection: bool,
}

impl Default for PresenceSettings {
    fn default() -> Self {
        Self {
            audio_only_allowed: false,
            grace_ms: 30_000,
            reidentify_after_disconnection: false,
        }
    }
}

/// Something that happened to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum PresenceInput {
    /// Their browser connected (remote).
    Connected,
    /// The segretario identified them on video and admitted them.
    Identified {
        /// Whether their camera was on.
        camera_on: bool,
    },
    /// The segretario refused them.
    Refused,
    /// The segretario checked them in, in the chamber.
    CheckedIn,
    /// They declared a temporary absence.
    DeclaredAway,
    /// They came back from a declared absence.
    Returned,
    /// Their connection was lost.
    ConnectionLost,
    /// Their connection came back.
    Reconnected,
    /// Time passed (the grace period may have ended).
    Tick,
    /// They left the session.
    Left,
    /// They leave for `item` under art. 78.
    AbstainFor {
        /// The item.
        item: u32,
    },
    /// They come back after the item.
    EndAbstention,
}

/// Why an input was refused. Stable codes for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PresenceError {
    /// Not a participant of this session.
    #[error("not a participant of this session")]
    UnknownParticipant,
    /// The input does not apply in the person's current state.
    #[error("not possible in the current state")]
    WrongState,
    /// A remote member may be identified only on camera.
    #[error("identification needs the camera on")]
    CameraRequired,
}

impl PresenceError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            PresenceError::UnknownParticipant => "unknown_participant",
            PresenceError::WrongState => "wrong_presence_state",
            PresenceError::CameraRequired => "camera_required",
        }
    }
}

/// A change to log in the attendance log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEvent {
    /// Whose presence changed.
    pub participant: String,
    /// The attendance-log kind (`entered_lobby`, `admitted`, `checked_in`, …).
    pub kind: &'static str,
    /// The new state.
    pub now: Presence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Person {
    member: bool,
    presence: Presence,
    /// When the presence last changed, in milliseconds.
    #[serde(default)]
    since: Option<u64>,
}

/// The presence of everyone in one session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PresenceRoll {
    settings: PresenceSettings,
    people: BTreeMap<String, Person>,
}

impl PresenceRoll {
    /// A roll with no one on it yet.
    pub fn new(settings: PresenceSettings) -> Self {
        Self {
            settings,
            people: BTreeMap::new(),
        }
    }

    /// Registers an invited person; `member` is true for the Sindaco and assessori
    /// (the only ones who count for the quorum).
    pub fn invite(&mut self, participant: &str, member: bool) {
        self.people.entry(participant.to_owned()).or_insert(Person {
            member,
            presence: Presence::Absent,
            since: None,
        });
    }

    /// Everyone on the roll: id, whether a member, presence, and since when (ms).
    pub fn people(&self) -> impl Iterator<Item = (&str, bool, &Presence, Option<u64>)> {
        self.people
            .iter()
            .map(|(id, p)| (id.as_str(), p.member, &p.presence, p.since))
    }

    /// A person's current state.
    pub fn presence(&self, participant: &str) -> Option<&Presence> {
        self.people.get(participant).map(|p| &p.presence)
    }

    /// Members counted as present now.
    pub fn members_present(&self) -> u32 {
        self.count(|p| matches!(p, Presence::Present { .. }))
    }

    /// Members out for an item under art. 78 (counted for the quorum only if the
    /// regolamento says so).
    pub fn members_abstaining(&self) -> u32 {
        self.count(|p| matches!(p, Presence::Abstaining { .. }))
    }

    fn count(&self, f: impl Fn(&Presence) -> bool) -> u32 {
        self.people
            .values()
            .filter(|p| p.member && f(&p.presence))
            .count() as u32
    }

    /// Applies one input for `participant` at time `now` (ms); returns the events to log.
    pub fn handle(
        &mut self,
        participant: &str,
        input: PresenceInput,
        now: u64,
    ) -> Result<Vec<PresenceEvent>, PresenceError> {
        let settings = self.settings;
        let person = self
            .people
            .get_mut(participant)
            .ok_or(PresenceError::UnknownParticipant)?;
        use Presence as P;
        use PresenceInput as I;
        let (next, kind) = match (&person.presence, input) {
            (P::Absent, I::Connected) => (P::Lobby, "entered_lobby"),
            (P::Lobby, I::Identified { camera_on }) => {
                if person.member && !camera_on && !settings.audio_only_allowed {
                    return Err(PresenceError::CameraRequired);
                }
                (P::Present { mode: Mode::Remote }, "admitted")
            }
            (P::Lobby, I::Refused) => (P::Absent, "refused"),
            (P::Absent | P::Lobby, I::CheckedIn) => (
                P::Present {
                    mode: Mode::InPerson,
                },
                "checked_in",
            ),
            (P::Present { mode }, I::DeclaredAway) => (P::Away { mode: *mode }, "away"),
            (P::Away { mode }, I::Returned) => (P::Present { mode: *mode }, "returned"),
            (
                P::Present { mode: Mode::Remote } | P::Away { mode: Mode::Remote },
                I::ConnectionLost,
            ) => (P::Disconnected { since: now }, "disconnected"),
            (P::Disconnected { since }, I::Reconnected) => {
                let within = now.saturating_sub(*since) < settings.grace_ms;
                if within && !settings.reidentify_after_disconnection {
                    (P::Present { mode: Mode::Remote }, "reconnected")
                } else {
                    (P::Lobby, "entered_lobby")
                }
            }
            (P::Disconnected { since }, I::Tick) => {
                if now.saturating_sub(*since) < settings.grace_ms {
                    return Ok(Vec::new());
                }
                (P::Absent, "absent_after_disconnection")
            }
            (P::Absent, I::Reconnected) => (P::Lobby, "entered_lobby"),
            (P::Present { mode }, I::AbstainFor { item }) => {
                (P::Abstaining { item, mode: *mode }, "art78_out")
            }
            (P::Abstaining { mode, .. }, I::EndAbstention) => {
                (P::Present { mode: *mode }, "art78_back")
            }
            (P::Absent, I::Left) => return Ok(Vec::new()),
            (_, I::Left) => (P::Absent, "left"),
            (_, I::Tick) => return Ok(Vec::new()),
            _ => return Err(PresenceError::WrongState),
        };
        person.presence = next.clone();
        person.since = Some(now);
        Ok(vec![PresenceEvent {
            participant: participant.to_owned(),
            kind,
            now: next,
        }])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn giunta() -> PresenceRoll {
        let mut a = PresenceRoll::new(PresenceSettings::default());
        for m in ["sindaco", "a1", "a2", "a3", "a4"] {
            a.invite(m, true);
        }
        a.invite("segretario", false);
        a
    }

    #[test]
    fn lobby_identification_and_check_in() {
        let mut a = giunta();
        a.handle("a1", PresenceInput::Connected, 0).expect("lobby");
        assert_eq!(a.members_present(), 0, "the lobby does not count");
        assert_eq!(
            a.handle("a1", PresenceInput::Identified { camera_on: false }, 1),
            Err(PresenceError::CameraRequired)
        );
        assert_eq!(
            a.presence("a1"),
            Some(&Presence::Lobby),
            "a refusal changes nothing"
        );
        a.handle("a1", PresenceInput::Identified { camera_on: true }, 2)
            .expect("admit");
        a.handle("sindaco", PresenceInput::CheckedIn, 3)
            .expect("check in");
        a.handle("segretario", PresenceInput::CheckedIn, 3)
            .expect("check in");
        assert_eq!(a.members_present(), 2, "the segretario never counts");
    }

    #[test]
    fn disconnection_counts_as_absence_after_the_grace_period() {
        let mut a = giunta();
        a.handle("a1", PresenceInput::Connected, 0).expect("lobby");
        a.handle("a1", PresenceInput::Identified { camera_on: true }, 0)
            .expect("admit");
        let ev = a
            .handle("a1", PresenceInput::ConnectionLost, 1_000)
            .expect("lost");
        assert_eq!(ev[0].kind, "disconnected");
        assert_eq!(
            a.members_present(),
            0,
            "absent for the quorum while disconnected"
        );
        assert!(
            a.handle("a1", PresenceInput::Tick, 20_000)
                .expect("tick")
                .is_empty()
        );
        let ev = a.handle("a1", PresenceInput::Tick, 31_000).expect("tick");
        assert_eq!(ev[0].kind, "absent_after_disconnection");
        let ev = a
            .handle("a1", PresenceInput::Reconnected, 40_000)
            .expect("back");
        assert_eq!(
            ev[0].now,
            Presence::Lobby,
            "after the grace period: identified again"
        );
    }

    #[test]
    fn quick_return_needs_no_new_identification_unless_the_settings_say_so() {
        let mut a = giunta();
        a.handle("a1", PresenceInput::Connected, 0).expect("lobby");
        a.handle("a1", PresenceInput::Identified { camera_on: true }, 0)
            .expect("admit");
        a.handle("a1", PresenceInput::ConnectionLost, 1_000)
            .expect("lost");
        let ev = a
            .handle("a1", PresenceInput::Reconnected, 5_000)
            .expect("back");
        assert_eq!(ev[0].now, Presence::Present { mode: Mode::Remote });

        let mut strict = PresenceRoll::new(PresenceSettings {
            reidentify_after_disconnection: true,
            ..PresenceSettings::default()
        });
        strict.invite("a1", true);
        strict
            .handle("a1", PresenceInput::Connected, 0)
            .expect("lobby");
        strict
            .handle("a1", PresenceInput::Identified { camera_on: true }, 0)
            .expect("admit");
        strict
            .handle("a1", PresenceInput::ConnectionLost, 1_000)
            .expect("lost");
        let ev = strict
            .handle("a1", PresenceInput::Reconnected, 2_000)
            .expect("back");
        assert_eq!(ev[0].now, Presence::Lobby);
    }

    #[test]
    fn away_and_art78_leave_the_count_and_come_back() {
        let mut a = giunta();
        a.handle("a2", PresenceInput::CheckedIn, 0).expect("in");
        a.handle("a2", PresenceInput::DeclaredAway, 1)
            .expect("away");
        assert_eq!(a.members_present(), 0);
        a.handle("a2", PresenceInput::Returned, 2).expect("back");
        a.handle("a2", PresenceInput::AbstainFor { item: 3 }, 3)
            .expect("art78");
        assert_eq!((a.members_present(), a.members_abstaining()), (0, 1));
        let ev = a
            .handle("a2", PresenceInput::EndAbstention, 4)
            .expect("back");
        assert_eq!(
            ev[0].now,
            Presence::Present {
                mode: Mode::InPerson
            }
        );
    }

    #[test]
    fn refused_inputs_change_nothing() {
        let mut a = giunta();
        assert_eq!(
            a.handle("nobody", PresenceInput::Connected, 0),
            Err(PresenceError::UnknownParticipant)
        );
        assert_eq!(
            a.handle("a3", PresenceInput::Returned, 0),
            Err(PresenceError::WrongState)
        );
        assert_eq!(
            a.handle("a3", PresenceInput::Identified { camera_on: true }, 0),
            Err(PresenceError::WrongState)
        );
        assert_eq!(a.presence("a3"), Some(&Presence::Absent));
    }

    fn any_input() -> impl Strategy<Value = PresenceInput> {
        prop_oneof![
            Just(PresenceInput::Connected),
            any::<bool>().prop_map(|camera_on| PresenceInput::Identified { camera_on }),
            Just(PresenceInput::Refused),
            Just(PresenceInput::CheckedIn),
            Just(PresenceInput::DeclaredAway),
            Just(PresenceInput::Returned),
            Just(PresenceInput::ConnectionLost),
            Just(PresenceInput::Reconnected),
            Just(PresenceInput::Tick),
            Just(PresenceInput::Left),
            (1u32..5).prop_map(|item| PresenceInput::AbstainFor { item }),
            Just(PresenceInput::EndAbstention),
        ]
    }

    proptest! {
        #[test]
        fn the_count_only_moves_with_an_event_and_never_exceeds_the_members(
            steps in proptest::collection::vec((0usize..6, any_input(), 0u64..5_000), 0..60)
        ) {
            let names = ["sindaco", "a1", "a2", "a3", "a4", "segretario"];
            let mut a = giunta();
            let mut now = 0;
            for (who, input, dt) in steps {
                now += dt;
                let before = (a.members_present(), a.members_abstaining());
                match a.handle(names[who], input, now) {
                    Ok(events) if events.is_empty() => prop_assert_eq!(before, (a.members_present(), a.members_abstaining())),
                    Ok(_) => {}
                    Err(_) => prop_assert_eq!(before, (a.members_present(), a.members_abstaining())),
                }
                prop_assert!(a.members_present() + a.members_abstaining() <= 5);
            }
        }
    }
}
