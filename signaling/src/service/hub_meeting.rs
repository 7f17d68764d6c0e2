//! The hub's meeting side: feeding a stored session's [`Meeting`] from connections
//! and actions, storing every log entry before anyone is told, and gating media by
//! presence (the lobby receives nothing and is seen by the segretario only).

use std::time::Duration;

use seduta_sfu::{Audience, ParticipantId, RoomId};
use tracing::{info, warn};

use super::{Hub, HubCommand, Outbound};
use crate::auth::Role;
use crate::clock::{now_ms, rfc3339};
use crate::meeting::{
    ClosedVote, MeetingError, MeetingInput, MeetingOutput, Mode, Phase, Presence, PresenceInput,
    authorize,
};
use crate::protocol::{ErrorCode, MeetingAction, MeetingView, ServerMessage};
use crate::room::RoomInput;
use crate::service::host::{Gate, LoadError, MeetingHost};
use crate::store::{LogWrite, SessionStatus, StoreError, VoteRecord};

/// Why a meeting action was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    /// Stable code (`forbidden`, `no_quorum`, `already_voted`, `not_found`, …).
    pub code: &'static str,
    /// English explanation.
    pub message: String,
}

impl ActionError {
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn not_found() -> Self {
        Self::new("not_found", "no such stored session")
    }

    /// A write the store refused: `storage`, with what the operator can do about it.
    pub(super) fn storage(e: &StoreError) -> Self {
        let message = match e {
            StoreError::Busy(_) => {
                "the database is locked by another process (a transaction left open in \
                 a sqlite3 shell, a tool) and the change could not be stored in time; \
                 nothing changed: try again once it is released"
            }
            _ => "the change could not be stored; nothing changed",
        };
        Self::new(STORAGE, message)
    }
}

/// The code of a change the store could not take (nothing changed).
pub(super) const STORAGE: &str = "storage";

/// How long a close waits for the database to take a write before it is refused.
const CLOSE_STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl From<MeetingError> for ActionError {
    fn from(e: MeetingError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl Hub {
    /// Loads a stored session into `hosts` if it is not there yet.
    pub(super) async fn ensure_host(&mut self, session: &str) -> Result<(), ActionError> {
        if self.hosts.contains_key(session) {
            return Ok(());
        }
        match MeetingHost::load(&self.store, session).await {
            Ok(Some(host)) => {
                self.hosts.insert(session.to_owned(), host);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(LoadError::Store(e)) => Err(ActionError::storage(&e)),
            Err(e) => Err(ActionError::new(STORAGE, e.to_string())),
        }
    }

    /// At start: every session that was running when the service stopped is loaded,
    /// and its remote people, whose connections died with the service, become
    /// disconnected (logged), so the quorum is not inflated by people who are gone.
    pub(super) async fn recover(&mut self) {
        let sessions = match self.store.list_sessions(None).await {
            Ok(sessions) => sessions,
            Err(e) => {
                warn!(error = %e, "sessions could not be listed for recovery");
                return;
            }
        };
        for session in sessions {
            if session.status == SessionStatus::Closed {
                continue;
            }
            self.adopt(&session.id).await;
        }
    }

    /// Takes up a session that was running elsewhere or before a restart (its remote
    /// people's connections are gone): loads it, logs `service_restarted` so they
    /// become disconnected, and records again if it was being recorded. A session
    /// already hosted here, or not running, is left as it is.
    pub(super) async fn adopt(&mut self, session: &str) {
        if self.hosts.contains_key(session) {
            return;
        }
        let running = matches!(self.store.meeting_snapshot(session).await, Ok(Some(_)));
        if !running {
            return;
        }
        if let Err(e) = self.ensure_host(session).await {
            warn!(code = e.code, "a running session could not be recovered");
            return;
        }
        if let Err(e) = self
            .meeting_input(session, MeetingInput::ServiceRestarted)
            .await
        {
            warn!(code = e.code, "a restart could not be recorded");
        }
        self.recover_recording(session).await;
        info!("a running session was recovered");
    }

    /// A participant's connection is joining: they enter the lobby (or, for the
    /// segretario, who is authenticated by their staff account, are present). Stored
    /// before the connection enters the room: a join that cannot be logged is refused.
    pub(super) async fn record_join(
        &mut self,
        session: &str,
        who: &str,
        role: Role,
    ) -> Result<(), ActionError> {
        let Some(host) = self.hosts.get(session) else {
            return Ok(());
        };
        let presence = host.meeting.presence(who).cloned();
        let inputs: Vec<PresenceInput> = match (role, presence) {
            (Role::Room, _) | (_, None) => Vec::new(),
            (_, Some(Presence::Disconnected { .. })) => vec![PresenceInput::Reconnected],
            (Role::Segretario, Some(Presence::Absent)) => vec![
                PresenceInput::Connected,
                PresenceInput::Identified { camera_on: true },
            ],
            (Role::Segretario, Some(Presence::Lobby)) => {
                vec![PresenceInput::Identified { camera_on: true }]
            }
            (_, Some(Presence::Absent)) => vec![PresenceInput::Connected],
            _ => Vec::new(),
        };
        if inputs.is_empty() {
            return Ok(());
        }
        let inputs = inputs
            .into_iter()
            .map(|input| MeetingInput::Presence {
                who: who.to_owned(),
                input,
            })
            .collect();
        // One transaction: the segretario is never left connected but unidentified.
        self.meeting_inputs_by(session, inputs, None).await
    }

    /// A participant's connection joined (its presence already recorded): gates,
    /// views and their own presence and recording state.
    pub(super) async fn meeting_joined(&mut self, session: &str, who: &str) {
        if !self.hosts.contains_key(session) {
            return;
        }
        // A reconnection that lands in the lobby needs the segretario again.
        self.regate(session).await;
        self.push_view(session);
        self.tell_presence(session, who);
        self.tell_recording(session, who);
    }

    /// A participant's signaling connection closed (`left`: they said goodbye).
    pub(super) async fn meeting_connection_gone(&mut self, session: &str, who: &str, left: bool) {
        let Some(host) = self.hosts.get(session) else {
            return;
        };
        let input = match host.meeting.presence(who) {
            None | Some(Presence::Absent) => return,
            Some(Presence::Lobby) => PresenceInput::Left,
            _ if left => PresenceInput::Left,
            Some(
                Presence::Present { mode: Mode::Remote } | Presence::Away { mode: Mode::Remote },
            ) => PresenceInput::ConnectionLost,
            _ => return,
        };
        let input = MeetingInput::Presence {
            who: who.to_owned(),
            input,
        };
        if let Err(e) = self.meeting_input(session, input).await {
            warn!(code = e.code, "a disconnection could not be recorded");
        }
        self.push_view(session);
    }

    /// A participant switched their microphone or camera: logged, then shown.
    pub(super) async fn meeting_media_changed(&mut self, session: &str, who: &str) {
        let Some(seat) = self
            .rooms
            .get(session)
            .and_then(|r| r.participants().find(|p| p.id == who))
            .map(|p| (!p.audio_muted, !p.video_muted))
        else {
            return;
        };
        let known = self
            .hosts
            .get(session)
            .is_some_and(|h| h.meeting.presence(who).is_some());
        if known {
            let input = MeetingInput::Media {
                who: who.to_owned(),
                mic_on: seat.0,
                camera_on: seat.1,
            };
            if let Err(e) = self.meeting_input_by(session, input, Some(who)).await {
                warn!(
                    code = e.code,
                    "a microphone or camera change could not be recorded"
                );
            }
        }
        self.push_view(session);
    }

    /// A participant's media connection was lost.
    pub(super) async fn meeting_media_lost(&mut self, session: &str, who: &str) {
        self.meeting_connection_gone(session, who, false).await;
    }

    /// An action from a participant or the REST API.
    pub(super) async fn action(
        &mut self,
        session: &str,
        actor: &str,
        role: Role,
        action: MeetingAction,
    ) -> Result<MeetingView, ActionError> {
        self.ensure_host(session).await?;
        let host = self.hosts.get(session).ok_or_else(ActionError::not_found)?;
        let subject = authorize(role, actor, &action)
            .map_err(|e| ActionError::new(e.code(), e.to_string()))?;
        if let Some(who) = &subject
            && host.person(who).is_none()
        {
            return Err(ActionError::new(
                "unknown_participant",
                "not a participant of this session",
            ));
        }
        match action {
            MeetingAction::PauseRecording {} => {
                self.pause_recording(session, actor).await?;
                return self.view_of(session);
            }
            MeetingAction::ResumeRecording {} => {
                self.resume_recording(session, actor).await?;
                return self.view_of(session);
            }
            MeetingAction::CloseSession {} => {
                // The close must be possible before the recording is ended for it.
                let mut probe = host.meeting.clone();
                let now = now_ms();
                probe.handle_by(MeetingInput::Close, now, &rfc3339(now), actor)?;
                // And storable: a database another process holds locked would refuse
                // the close after the recording had already been ended for it.
                self.store
                    .check_writable(CLOSE_STORE_WAIT)
                    .await
                    .map_err(|e| ActionError::storage(&e))?;
                self.stop_recording_for_close(session, actor).await;
            }
            _ => {}
        }
        let who = subject.clone().unwrap_or_default();
        let presence = |input| MeetingInput::Presence {
            who: who.clone(),
            input,
        };
        let mut remove_after = None;
        let input = match action {
            MeetingAction::Identify { camera_on, .. } => {
                presence(PresenceInput::Identified { camera_on })
            }
            MeetingAction::Refuse { .. } => {
                remove_after = Some(ErrorCode::Removed);
                presence(PresenceInput::Refused)
            }
            MeetingAction::CheckIn { .. } => presence(PresenceInput::CheckedIn),
            MeetingAction::CheckOut { .. } => presence(PresenceInput::Left),
            MeetingAction::Away { .. } => presence(PresenceInput::DeclaredAway),
            MeetingAction::Back { .. } => presence(PresenceInput::Returned),
            MeetingAction::CheckQuorum {} => MeetingInput::CheckQuorum,
            MeetingAction::OpenSession {} => MeetingInput::Open,
            MeetingAction::OpenItem { item } => MeetingInput::OpenItem { item },
            MeetingAction::Abstain { .. } => MeetingInput::Abstain { who: who.clone() },
            MeetingAction::OpenVote { vote, mode } => MeetingInput::OpenVote { kind: vote, mode },
            MeetingAction::Cast { ballot, .. } => {
                let by_segretario = who != actor;
                // In the chamber, or called by the segretario who sees them: on camera.
                let on_camera = by_segretario
                    || self
                        .rooms
                        .get(session)
                        .and_then(|r| r.participants().find(|p| p.id == who))
                        .is_some_and(|p| !p.video_muted);
                MeetingInput::Cast {
                    member: who.clone(),
                    ballot,
                    on_camera,
                    recorded_by: by_segretario.then(|| actor.to_owned()),
                }
            }
            MeetingAction::CloseVote {} => MeetingInput::CloseVote,
            MeetingAction::Suspend {} => MeetingInput::Suspend,
            MeetingAction::Resume {} => MeetingInput::Resume,
            MeetingAction::CloseSession {} => MeetingInput::Close,
            MeetingAction::Remove { .. } => {
                remove_after = Some(ErrorCode::Removed);
                presence(PresenceInput::Left)
            }
            MeetingAction::PauseRecording {} | MeetingAction::ResumeRecording {} => {
                return self.view_of(session);
            }
        };
        let closing = matches!(input, MeetingInput::Close);
        let opening = matches!(input, MeetingInput::Open);
        match self.meeting_input_by(session, input, Some(actor)).await {
            Ok(()) => {}
            // Removing someone already absent still removes their connection.
            Err(e) if remove_after.is_some() && e.code == "wrong_presence_state" => {}
            Err(e) => return Err(e),
        }
        if let Some(code) = remove_after {
            self.remove_participant(session, &who, code).await;
        }
        if opening {
            self.recording_after_open(session, actor).await;
        }
        self.regate(session).await;
        self.push_view(session);
        if let Some(who) = &subject {
            self.tell_presence(session, who);
        }
        let view = self.view_of(session)?;
        if closing {
            self.end_session(session).await;
        }
        Ok(view)
    }

    /// The state of a stored session as everyone sees it.
    fn view_of(&self, session: &str) -> Result<MeetingView, ActionError> {
        self.hosts
            .get(session)
            .map(|h| h.view(self.rooms.get(session)))
            .ok_or_else(ActionError::not_found)
    }

    /// Applies one input: the log entries are stored (with the new state) before
    /// the change takes effect in memory and before anyone is told.
    async fn meeting_input(
        &mut self,
        session: &str,
        input: MeetingInput,
    ) -> Result<(), ActionError> {
        self.meeting_input_by(session, input, None).await
    }

    /// Like `meeting_input`, for an input taken by `actor` (recorded in the log).
    pub(super) async fn meeting_input_by(
        &mut self,
        session: &str,
        input: MeetingInput,
        actor: Option<&str>,
    ) -> Result<(), ActionError> {
        self.meeting_inputs_by(session, vec![input], actor).await
    }

    /// Applies `inputs` all or none: their entries, the new state, the session's
    /// status and a closed vote are stored in one transaction before anything takes
    /// effect in memory. A refused write (the database locked by another process past
    /// the busy timeout, or down) leaves the meeting exactly as it was, so the same
    /// action may simply be taken again.
    async fn meeting_inputs_by(
        &mut self,
        session: &str,
        inputs: Vec<MeetingInput>,
        actor: Option<&str>,
    ) -> Result<(), ActionError> {
        let host = self.hosts.get(session).ok_or_else(ActionError::not_found)?;
        let mut next = host.meeting.clone();
        let phase_before = next.phase();
        let now = now_ms();
        let mut outputs = Vec::new();
        for input in inputs {
            outputs.extend(match actor {
                Some(actor) => next.handle_by(input, now, &rfc3339(now), actor)?,
                None => next.handle(input, now, &rfc3339(now))?,
            });
        }
        let entries: Vec<_> = outputs
            .iter()
            .filter_map(|o| match o {
                MeetingOutput::Logged { entry } => Some(entry.clone()),
                _ => None,
            })
            .collect();
        let phase = next.phase();
        let status = (phase != phase_before).then_some(match phase {
            Phase::Convened => SessionStatus::Convened,
            Phase::Open => SessionStatus::Open,
            Phase::Suspended => SessionStatus::Suspended,
            Phase::Closed => SessionStatus::Closed,
        });
        let vote = outputs
            .iter()
            .any(|o| matches!(o, MeetingOutput::VoteClosed { .. }))
            .then(|| {
                next.results()
                    .last()
                    .map(|closed| vote_record(session, closed))
            })
            .flatten();
        if !entries.is_empty() {
            let snapshot = next.snapshot();
            let write = LogWrite {
                snapshot: Some(&snapshot),
                status: status.map(|s| (s, now as i64)),
                vote: vote.as_ref(),
            };
            self.store
                .append_log_with(session, &entries, &write)
                .await
                .map_err(|e| {
                    warn!(error = %e, code = e.code(), "the attendance log could not be stored; the change was refused");
                    ActionError::storage(&e)
                })?;
        }
        let grace = next.settings().presence.grace_ms;
        if let Some(host) = self.hosts.get_mut(session) {
            host.meeting = next;
            if let Some(status) = status {
                host.record.status = status;
            }
        }
        for output in &outputs {
            match output {
                MeetingOutput::Alert { lost } => {
                    self.broadcast(session, None, &ServerMessage::MeetingAlert { lost: *lost })
                }
                MeetingOutput::Logged { entry } if entry.kind == "disconnected" => {
                    self.schedule_tick(session, grace)
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn schedule_tick(&self, session: &str, grace_ms: u64) {
        let tx = self.self_tx.clone();
        let session = session.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(grace_ms.saturating_add(50))).await;
            let _ = tx.send(HubCommand::MeetingTick { session });
        });
    }

    /// Grace periods: a disconnected person past theirs becomes absent.
    pub(super) async fn tick(&mut self, session: &str) {
        let Some(host) = self.hosts.get(session) else {
            return;
        };
        let waiting: Vec<String> = host
            .meeting
            .people()
            .filter(|(_, _, p, _)| matches!(p, Presence::Disconnected { .. }))
            .map(|(id, ..)| id.to_owned())
            .collect();
        for who in waiting {
            let input = MeetingInput::Presence {
                who,
                input: PresenceInput::Tick,
            };
            if let Err(e) = self.meeting_input(session, input).await {
                warn!(code = e.code, "a grace period could not be recorded");
            }
        }
        self.push_view(session);
    }

    /// An invitation was revoked: whoever joined with it goes at once.
    pub(super) async fn revoke(&mut self, session: &str, jti: &str) {
        let conns: Vec<_> = self
            .conn_jti
            .iter()
            .filter(|(_, j)| j.as_str() == jti)
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            let who = self
                .rooms
                .get(session)
                .and_then(|r| r.participant_of(conn))
                .map(|p| p.id.clone());
            if let Some(who) = who {
                if let Some(host) = self.hosts.get(session)
                    && !matches!(host.meeting.presence(&who), None | Some(Presence::Absent))
                {
                    let input = MeetingInput::Presence {
                        who: who.clone(),
                        input: PresenceInput::Left,
                    };
                    if let Err(e) = self.meeting_input(session, input).await {
                        warn!(code = e.code, "a revocation could not be recorded");
                    }
                }
                self.remove_participant(session, &who, ErrorCode::TokenRevoked)
                    .await;
                info!("a connection was closed because its invitation was revoked");
            }
        }
        self.regate(session).await;
        self.push_view(session);
    }

    /// Reloads a session's definition (agenda, participants) from the store.
    pub(super) async fn reload(&mut self, session: &str) {
        let Some(current) = self.hosts.get(session) else {
            return;
        };
        match MeetingHost::load(&self.store, session).await {
            Ok(Some(mut fresh)) => {
                // Keep the running state machine unless nothing has happened yet.
                if !current.meeting.log().entries().is_empty() {
                    let numbers: Vec<u32> = fresh.agenda.iter().map(|a| a.number).collect();
                    let mut meeting = current.meeting.clone();
                    meeting.set_agenda(&numbers);
                    for guest in fresh.people.iter().filter(|p| p.role == Role::Guest) {
                        meeting.invite_guest(&guest.id);
                    }
                    fresh.meeting = meeting;
                }
                fresh.recording = current.recording.clone();
                self.hosts.insert(session.to_owned(), fresh);
                self.push_view(session);
            }
            Ok(None) => {
                self.hosts.remove(session);
            }
            Err(e) => warn!(error = %e, "a session could not be reloaded"),
        }
    }

    async fn remove_participant(&mut self, session: &str, who: &str, code: ErrorCode) {
        let Some(room) = self.rooms.get_mut(session) else {
            return;
        };
        let outputs = room.handle(RoomInput::Remove {
            participant: who.to_owned(),
            code,
        });
        self.carry_out(session, outputs).await;
        self.gates.remove(&(session.to_owned(), who.to_owned()));
    }

    /// After the close: everyone is told and disconnected; the host is dropped.
    async fn end_session(&mut self, session: &str) {
        let conns: Vec<_> = self
            .rooms
            .get(session)
            .map(|r| r.connections().map(|(c, _)| c).collect())
            .unwrap_or_default();
        for conn in conns {
            if let Some(tx) = self.conns.get(&conn) {
                let _ = tx.try_send(Outbound::Close(ErrorCode::SessionClosed));
            }
            self.forget_conn(conn);
        }
        let people: Vec<String> = self
            .rooms
            .remove(session)
            .map(|r| r.participants().map(|p| p.id.clone()).collect())
            .unwrap_or_default();
        let room_id = RoomId(session.to_owned());
        for who in people {
            let _ = self.sfu.leave(room_id.clone(), ParticipantId(who)).await;
        }
        self.gates.retain(|(s, _), _| s != session);
        self.hosts.remove(session);
        self.active_recordings.remove(session);
        info!("a session was closed and its log sealed");
        if let Some(stopped) = self.stopped_recordings.remove(session)
            && let Some(hook) = &self.recording.on_finished
        {
            hook.finished(stopped);
        }
    }

    /// Applies each connected participant's media gate when it changed.
    pub(super) async fn regate(&mut self, session: &str) {
        let (Some(host), Some(room)) = (self.hosts.get(session), self.rooms.get(session)) else {
            return;
        };
        let wanted: Vec<(String, Gate)> = room
            .participants()
            .map(|p| (p.id.clone(), host.gate(&p.id, p.role)))
            .collect();
        let room_id = RoomId(session.to_owned());
        for (who, gate) in wanted {
            let key = (session.to_owned(), who.clone());
            let applied = self.gates.get(&key).cloned().unwrap_or_else(Gate::open);
            if applied == gate {
                continue;
            }
            let pid = ParticipantId(who);
            let audience = match &gate.audience {
                None => Audience::Everyone,
                Some(ids) => Audience::Only(ids.iter().cloned().map(ParticipantId).collect()),
            };
            // Narrow first, widen last, so nothing leaks in between.
            let calls = if gate.can_subscribe {
                (
                    self.sfu
                        .set_audience(room_id.clone(), pid.clone(), audience)
                        .await,
                    self.sfu
                        .set_can_subscribe(room_id.clone(), pid, gate.can_subscribe)
                        .await,
                )
            } else {
                (
                    self.sfu
                        .set_can_subscribe(room_id.clone(), pid.clone(), gate.can_subscribe)
                        .await,
                    self.sfu.set_audience(room_id.clone(), pid, audience).await,
                )
            };
            // Recorded while admitted (never in the lobby).
            let recorded = if applied.recorded != gate.recorded {
                self.sfu
                    .set_recorded(room_id.clone(), ParticipantId(key.1.clone()), gate.recorded)
                    .await
            } else {
                Ok(())
            };
            match (calls, recorded) {
                ((Ok(()), Ok(())), Ok(())) => {
                    self.gates.insert(key, gate);
                }
                ((a, b), c) => {
                    let e = a
                        .err()
                        .or(b.err())
                        .or(c.err())
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    warn!(error = %e, "a media gate could not be applied");
                }
            }
        }
    }

    /// Sends everyone in the session its current state.
    pub(super) fn push_view(&mut self, session: &str) {
        let Some(host) = self.hosts.get(session) else {
            return;
        };
        let view = host.view(self.rooms.get(session));
        self.broadcast(
            session,
            None,
            &ServerMessage::Meeting {
                state: Box::new(view),
            },
        );
    }

    fn tell_presence(&mut self, session: &str, who: &str) {
        let Some(presence) = self
            .hosts
            .get(session)
            .and_then(|h| h.meeting.presence(who).cloned())
        else {
            return;
        };
        self.send_to(session, who, ServerMessage::YourPresence { presence });
    }
}

/// A closed vote as the votes table keeps it (the log holds it already; the table is
/// for reading it back).
fn vote_record(session: &str, closed: &ClosedVote) -> VoteRecord {
    let b = &closed.ballot_box;
    VoteRecord {
        session_id: session.to_owned(),
        number: closed.number,
        item: b.item,
        kind: serde_json::to_value(b.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        mode: "open".to_owned(),
        opened_at_ms: b.opened_at as i64,
        closed_at_ms: b.closed_at.unwrap_or(b.opened_at) as i64,
        ballots: serde_json::to_value(&b.ballots).unwrap_or_default(),
        outcome: serde_json::to_value(closed.outcome).unwrap_or_default(),
    }
}
