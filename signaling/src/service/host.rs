//! A stored session as the hub holds it while it runs: the meeting state machine with
//! the session's record, agenda and invited people, loaded from the store; and the
//! view every participant is sent.

use thiserror::Error;

use crate::auth::Role;
use crate::clock::rfc3339;
use crate::meeting::{Meeting, MeetingSettings, Presence};
use crate::protocol::{
    AgendaEntry, Link, MeetingView, PersonView, RecordingStatus, VoteResultView, VoteView,
};
use crate::room::Room;
use crate::store::{AgendaItem, SessionParticipant, SessionRecord, Store, StoreError};

/// Why a stored session could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session's definition is incomplete.
    #[error("the session cannot run: {0}")]
    Incomplete(&'static str),
    /// The stored state or log is damaged.
    #[error(transparent)]
    Restore(#[from] crate::meeting::RestoreError),
}

/// Who receives what of one participant's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Whether they receive others' media.
    pub can_subscribe: bool,
    /// Who receives their media: `None` for everyone, else only these.
    pub audience: Option<Vec<String>>,
    /// Whether their media is recorded (admitted people only, never the lobby).
    pub recorded: bool,
}

impl Gate {
    /// Everyone's media, seen by everyone: the media plane's default at join.
    pub fn open() -> Self {
        Self {
            can_subscribe: true,
            audience: None,
            recorded: false,
        }
    }
}

/// A stored session loaded for running.
#[derive(Debug, Clone)]
pub struct MeetingHost {
    /// The state machine (with its log).
    pub meeting: Meeting,
    /// The session's record.
    pub record: SessionRecord,
    /// The agenda.
    pub agenda: Vec<AgendaItem>,
    /// Everyone invited, in display order.
    pub people: Vec<SessionParticipant>,
    /// Whether the session is being recorded (the hub keeps it).
    pub recording: RecordingStatus,
    /// The organ's setting: recording starts when the session opens.
    pub record_from_opening: bool,
}

impl MeetingHost {
    /// Loads `session` from the store: `None` when it is not a stored session.
    pub async fn load(store: &Store, session: &str) -> Result<Option<Self>, LoadError> {
        let Some(record) = store.session(session).await? else {
            return Ok(None);
        };
        let organ = store
            .organ(&record.organ_id)
            .await?
            .ok_or(LoadError::Incomplete("its organ is missing"))?;
        let agenda = store.agenda(session).await?;
        let mut people = store.participants(session).await?;
        people.sort_by_key(|p| display_rank(p.role));
        let members: Vec<&str> = people
            .iter()
            .filter(|p| matches!(p.role, Role::Presiding | Role::Member))
            .map(|p| p.id.as_str())
            .collect();
        let presiding = people
            .iter()
            .find(|p| p.role == Role::Presiding)
            .ok_or(LoadError::Incomplete("no presiding member"))?;
        let segretario = people
            .iter()
            .find(|p| p.role == Role::Segretario)
            .ok_or(LoadError::Incomplete("no segretario"))?;
        let mut meeting = match store.meeting_snapshot(session).await? {
            Some(snapshot) => Meeting::restore(session, &snapshot, store.log(session).await?)?,
            None => {
                let numbers: Vec<u32> = agenda.iter().map(|a| a.number).collect();
                let settings = MeetingSettings {
                    rules: organ.settings.rules,
                    presence: organ.settings.presence,
                    camera_required_to_vote: organ.settings.camera_required_to_vote,
                    members_in_office: members.len() as u32,
                    presiding_and_segretario_colocated: organ
                        .settings
                        .presiding_and_segretario_colocated,
                };
                Meeting::new(
                    session,
                    settings,
                    &presiding.id,
                    &segretario.id,
                    &members,
                    &numbers,
                )
            }
        };
        for guest in people.iter().filter(|p| p.role == Role::Guest) {
            meeting.invite_guest(&guest.id);
        }
        Ok(Some(Self {
            meeting,
            record,
            agenda,
            people,
            recording: RecordingStatus::default(),
            record_from_opening: organ.settings.recording_starts_with_session,
        }))
    }

    /// The invited person `id`.
    pub fn person(&self, id: &str) -> Option<&SessionParticipant> {
        self.people.iter().find(|p| p.id == id)
    }

    /// Whether `id`'s media may flow to and from the admitted participants.
    pub fn admitted(&self, id: &str, role: Role) -> bool {
        match role {
            Role::Room => true,
            _ => matches!(
                self.meeting.presence(id),
                Some(Presence::Present { .. } | Presence::Away { .. })
            ),
        }
    }

    /// The media gate of `id`: admitted people see and are seen by every admitted
    /// person; anyone else (lobby, art. 78 out of the room) sees no one and is seen
    /// by the segretario only.
    pub fn gate(&self, id: &str, role: Role) -> Gate {
        if role == Role::Segretario || self.admitted(id, role) {
            return Gate {
                recorded: true,
                ..Gate::open()
            };
        }
        Gate {
            can_subscribe: false,
            audience: Some(vec![self.meeting.segretario().to_owned()]),
            recorded: false,
        }
    }

    /// The state as every participant sees it, with connection details from `room`.
    pub fn view(&self, room: Option<&Room>) -> MeetingView {
        let m = &self.meeting;
        let online = |id: &str| room.and_then(|r| r.participants().find(|p| p.id == id));
        let people = self
            .people
            .iter()
            .map(|p| {
                let seat = online(&p.id);
                let (presence, since) = match m.people().find(|(who, ..)| *who == p.id) {
                    Some((_, _, presence, since)) => (presence.clone(), since.map(rfc3339)),
                    None if p.role == Role::Room && seat.is_some() => (
                        Presence::Present {
                            mode: crate::meeting::Mode::InPerson,
                        },
                        None,
                    ),
                    None => (Presence::Absent, None),
                };
                PersonView {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    role: p.role,
                    presence,
                    since,
                    link: match seat.map(|s| s.connection) {
                        Some(crate::protocol::ConnectionState::Connected) => Link::Online,
                        Some(crate::protocol::ConnectionState::Reconnecting) => Link::Reconnecting,
                        None => Link::Offline,
                    },
                    camera_on: seat.is_some_and(|s| !s.video_muted),
                    mic_on: seat.is_some_and(|s| !s.audio_muted),
                }
            })
            .collect();
        let settings = m.settings();
        let vote = m.vote().map(|b| VoteView {
            number: m.vote_number(),
            item: b.item,
            vote: b.kind,
            entitled: b.frozen.keys().cloned().collect(),
            ballots: b.ballots.clone(),
            count: b.outcome(&settings.rules, settings.members_in_office).count,
            opened_at: rfc3339(b.opened_at),
        });
        let results = m
            .results()
            .iter()
            .map(|c| VoteResultView {
                number: c.number,
                item: c.ballot_box.item,
                vote: c.ballot_box.kind,
                ballots: c.ballot_box.ballots.clone(),
                outcome: c.outcome,
                opened_at: rfc3339(c.ballot_box.opened_at),
                closed_at: rfc3339(c.ballot_box.closed_at.unwrap_or(c.ballot_box.opened_at)),
            })
            .collect();
        MeetingView {
            session: self.record.id.clone(),
            title: self.record.title.clone(),
            seat: self.record.seat.clone(),
            phase: m.phase(),
            agenda: self
                .agenda
                .iter()
                .map(|a| AgendaEntry {
                    number: a.number,
                    subject: a.subject.clone(),
                })
                .collect(),
            current_item: m.current_item(),
            quorum: m.quorum(),
            people,
            vote,
            results,
            alerts: m.alerts(),
            // The state only: `since` is in the `recording` message (a restart
            // starts a new run, yet the session was being recorded all along).
            recording: RecordingStatus {
                state: self.recording.state,
                since: None,
            },
        }
    }
}

/// Members first (the presiding member at the top), then the segretario, guests and
/// the chamber.
fn display_rank(role: Role) -> u8 {
    match role {
        Role::Presiding => 0,
        Role::Member => 1,
        Role::Segretario => 2,
        Role::Guest => 3,
        Role::Room => 4,
    }
}
