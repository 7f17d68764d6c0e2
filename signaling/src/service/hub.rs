//! The hub: the single owner of every room. Connections and the media plane talk to it
//! through channels; it feeds [`Room`] state machines and carries out their outputs.

use std::collections::HashMap;
use std::time::Duration;

use seduta_sfu::{ParticipantId, RoomId, SfuError, SfuEvent, SfuHandle};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::auth::{Claims, Role};
use crate::protocol::{ErrorCode, MeetingAction, MeetingView, ServerMessage, SpeakerLevel};
use crate::room::{ConnId, Room, RoomInput, RoomOutput};
use crate::store::Store;

use super::host::{Gate, MeetingHost};

#[path = "hub_meeting.rs"]
mod meeting;
#[path = "recording.rs"]
mod recording;
#[path = "hub_stats.rs"]
mod stats;

pub use meeting::ActionError;
pub use recording::{RecordingFinished, RecordingSetup, StoppedRecording};

/// What the hub sends to a connection's writer.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A message to write.
    Msg(ServerMessage),
    /// Write `error` with this code, then close.
    Close(ErrorCode),
    /// Close normally (after `leave`).
    CloseNormal,
}

/// Per-connection queue depth; a client that lets it fill is too slow and is dropped.
const OUTBOUND_QUEUE: usize = 512;

/// A command to the hub.
#[derive(Debug)]
pub enum HubCommand {
    /// A verified connection enters `session`. `reply` fires once the join is done.
    Join {
        /// The session.
        session: String,
        /// The connection.
        conn: ConnId,
        /// Verified claims.
        claims: Claims,
        /// Where to write this connection's messages.
        outbound: mpsc::Sender<Outbound>,
        /// Fired after `joined` is queued and the media peers exist.
        reply: oneshot::Sender<()>,
        /// How the participant's media is connected.
        media: MediaMode,
    },
    /// Any other room input.
    Room {
        /// The session.
        session: String,
        /// The input.
        input: RoomInput,
    },
    /// A meeting action by `actor` (already authenticated, with `role`).
    Action {
        /// The session.
        session: String,
        /// Who acts.
        actor: String,
        /// Their role in the session.
        role: Role,
        /// What they do.
        action: MeetingAction,
        /// The state after the action, or why it was refused.
        reply: oneshot::Sender<Result<MeetingView, ActionError>>,
    },
    /// The state of a stored session (`None`: not a stored session).
    View {
        /// The session.
        session: String,
        /// The answer.
        reply: oneshot::Sender<Result<Option<MeetingView>, ActionError>>,
    },
    /// A snapshot for the metrics.
    Stats {
        /// The answer.
        reply: oneshot::Sender<crate::metrics::HubStats>,
    },
    /// The invitation `jti` was revoked: its holder, if connected, is removed.
    Revoke {
        /// The session.
        session: String,
        /// The invitation.
        jti: String,
    },
    /// This replica has just taken the lease on `session` (multi-node): recover it if
    /// it was running on another replica. Sent before any connection of the session.
    Adopt {
        /// The session.
        session: String,
        /// Fired once the session is ready.
        reply: oneshot::Sender<()>,
    },
    /// The session's definition changed in the store (agenda, guests): reload it.
    Reload {
        /// The session.
        session: String,
    },
    /// Time for grace periods to be checked.
    MeetingTick {
        /// The session.
        session: String,
    },
}

/// How a connection's media reaches the SFU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// A browser: a publisher and a subscriber peer connection.
    Full,
    /// A WHIP encoder (RFC 9725): it only publishes; no subscriber connection.
    PublishOnly,
}

/// The hub's command sender.
pub type HubSender = mpsc::UnboundedSender<HubCommand>;

/// Creates a connection's outbound queue.
pub fn outbound_queue() -> (mpsc::Sender<Outbound>, mpsc::Receiver<Outbound>) {
    mpsc::channel(OUTBOUND_QUEUE)
}

/// Timing settings the hub needs.
#[derive(Debug, Clone, Copy)]
pub struct HubTiming {
    /// Client ping interval announced in `joined`.
    pub heartbeat: Duration,
    /// How long a lost participant keeps its seat.
    pub reconnect_grace: Duration,
    /// Other control-plane replicas share the store (multi-node): sessions are not
    /// recovered at start but when this replica takes their lease.
    pub replicated: bool,
}

/// The owner of all rooms.
pub struct Hub {
    rooms: HashMap<String, Room>,
    conns: HashMap<ConnId, mpsc::Sender<Outbound>>,
    media_modes: HashMap<ConnId, MediaMode>,
    /// The invitation each connection joined with.
    conn_jti: HashMap<ConnId, String>,
    /// Stored sessions that are running.
    hosts: HashMap<String, MeetingHost>,
    /// The media gate last applied, by (session, participant).
    gates: HashMap<(String, String), Gate>,
    /// Where recordings go, and who hears of a stopped one.
    recording: RecordingSetup,
    /// Sessions whose recorder runs in the media plane.
    active_recordings: HashMap<String, recording::ActiveRecording>,
    /// Recordings stopped for a close that has not taken effect yet: the hook hears of
    /// them once the log is sealed.
    stopped_recordings: HashMap<String, StoppedRecording>,
    /// When each joining participant joined, until their first media peer connects.
    join_clock: HashMap<(String, String), std::time::Instant>,
    metrics: crate::metrics::Metrics,
    store: Store,
    sfu: SfuHandle,
    timing: HubTiming,
    self_tx: HubSender,
}

impl Hub {
    /// Spawns the hub task; returns its command sender.
    pub fn spawn(
        sfu: SfuHandle,
        mut events: mpsc::UnboundedReceiver<SfuEvent>,
        timing: HubTiming,
        store: Store,
        recording: RecordingSetup,
        metrics: crate::metrics::Metrics,
    ) -> HubSender {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut hub = Hub {
            rooms: HashMap::new(),
            conns: HashMap::new(),
            media_modes: HashMap::new(),
            conn_jti: HashMap::new(),
            hosts: HashMap::new(),
            gates: HashMap::new(),
            recording,
            active_recordings: HashMap::new(),
            stopped_recordings: HashMap::new(),
            join_clock: HashMap::new(),
            metrics,
            store,
            sfu,
            timing,
            self_tx: tx.clone(),
        };
        tokio::spawn(async move {
            // With replicas, a session is recovered by the replica that takes its
            // lease, when it does (`Adopt`).
            if !timing.replicated {
                hub.recover().await;
            }
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(cmd) => hub.command(cmd).await,
                        None => break,
                    },
                    ev = events.recv() => match ev {
                        Some(ev) => hub.sfu_event(ev).await,
                        None => {
                            warn!("media plane stopped; closing every session");
                            hub.close_all();
                            break;
                        }
                    },
                }
            }
        });
        tx
    }

    async fn command(&mut self, cmd: HubCommand) {
        match cmd {
            HubCommand::Join {
                session,
                conn,
                claims,
                outbound,
                reply,
                media,
            } => {
                if let Err(e) = self.ensure_host(&session).await {
                    warn!(error = %e.message, "a stored session could not be loaded");
                }
                let (who, role) = (claims.sub.clone(), claims.role);
                // Log first: a join whose presence cannot be stored is refused before
                // it enters the room (the client may join again).
                match self.record_join(&session, &who, role).await {
                    Err(e) if e.code == meeting::STORAGE => {
                        warn!(error = %e.message, "a join could not be recorded; it was refused");
                        let _ = outbound.try_send(Outbound::Close(ErrorCode::Storage));
                        let _ = reply.send(());
                        return;
                    }
                    Err(e) => warn!(code = e.code, "a join could not be recorded"),
                    Ok(()) => {}
                }
                self.conns.insert(conn, outbound);
                self.media_modes.insert(conn, media);
                if let Some(jti) = &claims.jti {
                    self.conn_jti.insert(conn, jti.clone());
                }
                self.gates.remove(&(session.clone(), who.clone()));
                let room = self.rooms.entry(session.clone()).or_default();
                let outputs = room.handle(RoomInput::Join { conn, claims });
                self.carry_out(&session, outputs).await;
                self.join_started(&session, &who);
                self.meeting_joined(&session, &who).await;
                let _ = reply.send(());
            }
            HubCommand::Room { session, input } => {
                let who = match &input {
                    RoomInput::ConnectionLost { conn } | RoomInput::Leave { conn } => self
                        .rooms
                        .get(&session)
                        .and_then(|r| r.participant_of(*conn))
                        .map(|p| p.id.clone()),
                    _ => None,
                };
                let left = matches!(input, RoomInput::Leave { .. });
                if let RoomInput::ConnectionLost { conn } = &input {
                    self.forget_conn(*conn);
                }
                let media_of = match &input {
                    RoomInput::MediaState { conn, .. } => self
                        .rooms
                        .get(&session)
                        .and_then(|r| r.participant_of(*conn))
                        .map(|p| (p.id.clone(), p.audio_muted, p.video_muted)),
                    _ => None,
                };
                let Some(room) = self.rooms.get_mut(&session) else {
                    return;
                };
                let outputs = room.handle(input);
                let changed = !outputs.is_empty();
                self.carry_out(&session, outputs).await;
                if let Some(who) = who {
                    self.meeting_connection_gone(&session, &who, left).await;
                } else if let Some((who, ..)) = media_of
                    && changed
                {
                    self.meeting_media_changed(&session, &who).await;
                }
            }
            HubCommand::Action {
                session,
                actor,
                role,
                action,
                reply,
            } => {
                let result = self.action(&session, &actor, role, action).await;
                let _ = reply.send(result);
            }
            HubCommand::View { session, reply } => {
                let result = self.ensure_host(&session).await.map(|()| {
                    self.hosts
                        .get(&session)
                        .map(|h| h.view(self.rooms.get(&session)))
                });
                let _ = reply.send(result);
            }
            HubCommand::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            HubCommand::Revoke { session, jti } => self.revoke(&session, &jti).await,
            HubCommand::Reload { session } => self.reload(&session).await,
            HubCommand::Adopt { session, reply } => {
                self.adopt(&session).await;
                let _ = reply.send(());
            }
            HubCommand::MeetingTick { session } => self.tick(&session).await,
        }
    }

    fn forget_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.media_modes.remove(&conn);
        self.conn_jti.remove(&conn);
    }

    async fn carry_out(&mut self, session: &str, outputs: Vec<RoomOutput>) {
        let room_id = RoomId(session.to_owned());
        for output in outputs {
            match output {
                RoomOutput::Broadcast { except, msg } => self.broadcast(session, except, &msg),
                RoomOutput::Joined {
                    conn,
                    participant,
                    others,
                    resumed,
                } => {
                    let tracks = match self.sfu.tracks(room_id.clone()).await {
                        Ok(tracks) => tracks
                            .into_iter()
                            .filter(|t| t.participant.0 != participant.id)
                            .collect(),
                        Err(e) => {
                            warn!(error = %e, "could not list the room's tracks");
                            Vec::new()
                        }
                    };
                    self.send(
                        conn,
                        ServerMessage::Joined {
                            participant,
                            session: session.to_owned(),
                            participants: others,
                            tracks,
                            resumed,
                            heartbeat_ms: millis(self.timing.heartbeat),
                            reconnect_grace_ms: millis(self.timing.reconnect_grace),
                        },
                    );
                }
                RoomOutput::Close { conn, code } => {
                    if let Some(tx) = self.conns.get(&conn) {
                        let _ = tx.try_send(Outbound::Close(code));
                    }
                    self.forget_conn(conn);
                }
                RoomOutput::CloseNormal { conn } => {
                    if let Some(tx) = self.conns.get(&conn) {
                        let _ = tx.try_send(Outbound::CloseNormal);
                    }
                    self.forget_conn(conn);
                }
                RoomOutput::MediaJoin { participant, fresh } => {
                    let pid = ParticipantId(participant);
                    if fresh {
                        // A resumed client brings new peer connections; the old ones go.
                        let _ = self.sfu.leave(room_id.clone(), pid.clone()).await;
                    }
                    let mode = (self.rooms.get(session))
                        .and_then(|r| r.conn_of(&pid.0))
                        .and_then(|conn| self.media_modes.get(&conn));
                    // Join with the meeting's gate already applied: someone entering
                    // the lobby must not be offered anyone's tracks, even briefly.
                    let role = (self.rooms.get(session))
                        .and_then(|r| r.participants().find(|p| p.id == pid.0))
                        .map(|p| p.role);
                    let gate = match (self.hosts.get(session), role) {
                        (Some(host), Some(role)) => host.gate(&pid.0, role),
                        _ => Gate::open(),
                    };
                    let joined = if mode == Some(&MediaMode::PublishOnly) {
                        self.sfu
                            .join_publish_only(room_id.clone(), pid.clone())
                            .await
                    } else {
                        self.sfu
                            .join(room_id.clone(), pid.clone(), gate.can_subscribe)
                            .await
                    };
                    if joined.is_ok() {
                        // The media plane's state after a join: published to
                        // everyone, not recorded, until the gate is applied.
                        self.gates.insert(
                            (session.to_owned(), pid.0.clone()),
                            Gate {
                                can_subscribe: gate.can_subscribe,
                                audience: None,
                                recorded: false,
                            },
                        );
                    }
                    if let Err(e) = joined {
                        warn!(error = %e, "media join failed");
                        if matches!(e, SfuError::NoCapacity | SfuError::Unavailable) {
                            // No media node can take the session now: the client
                            // joins again (with its backoff) until one can.
                            self.send_to(
                                session,
                                &pid.0,
                                ServerMessage::Error {
                                    code: ErrorCode::MediaLost,
                                    message: format!("{e}; rejoin with resume"),
                                    fatal: false,
                                },
                            );
                        }
                    }
                }
                RoomOutput::MediaLeave { participant } => {
                    if let Err(e) = self
                        .sfu
                        .leave(room_id.clone(), ParticipantId(participant))
                        .await
                    {
                        debug!(error = %e, "media leave");
                    }
                }
                RoomOutput::StartGraceTimer { participant, epoch } => {
                    let tx = self.self_tx.clone();
                    let grace = self.timing.reconnect_grace;
                    let session = session.to_owned();
                    tokio::spawn(async move {
                        tokio::time::sleep(grace).await;
                        let _ = tx.send(HubCommand::Room {
                            session,
                            input: RoomInput::GraceExpired { participant, epoch },
                        });
                    });
                }
                RoomOutput::Empty => {
                    self.rooms.remove(session);
                    self.gates.retain(|(s, _), _| s != session);
                    info!("a session room emptied and was released");
                }
            }
        }
    }

    async fn sfu_event(&mut self, event: SfuEvent) {
        match event {
            SfuEvent::SubscriberOffer {
                room,
                participant,
                sdp,
                tracks,
            } => self.send_to(
                &room.0,
                &participant.0,
                ServerMessage::SubscriberOffer { sdp, tracks },
            ),
            SfuEvent::TrackPublished { room, track } => {
                let except = Some(track.participant.0.clone());
                self.broadcast(&room.0, except, &ServerMessage::TrackPublished { track });
            }
            SfuEvent::TrackUnpublished {
                room,
                track,
                participant,
            } => self.broadcast(
                &room.0,
                Some(participant.0.clone()),
                &ServerMessage::TrackUnpublished {
                    track: track.0,
                    participant_id: participant.0,
                },
            ),
            SfuEvent::ActiveSpeakers { room, speakers } => {
                let speakers = speakers
                    .into_iter()
                    .map(|(p, level)| SpeakerLevel {
                        participant_id: p.0,
                        level,
                    })
                    .collect();
                self.broadcast(&room.0, None, &ServerMessage::ActiveSpeakers { speakers });
            }
            SfuEvent::PeerStateChanged {
                room,
                participant,
                peer,
                state,
                reason,
            } => {
                debug!(?peer, ?state, "peer state");
                match state {
                    seduta_sfu::PeerState::Connected => {
                        self.media_connected(&room.0, &participant.0)
                    }
                    seduta_sfu::PeerState::Closed => self.join_abandoned(&room.0, &participant.0),
                    _ => {}
                }
                if state == seduta_sfu::PeerState::Closed && reason.is_some() {
                    // A lost media connection is a disconnection for the meeting too.
                    self.meeting_media_lost(&room.0, &participant.0).await;
                    self.send_to(
                        &room.0,
                        &participant.0,
                        ServerMessage::Error {
                            code: ErrorCode::MediaLost,
                            message: "the media connection was lost; rejoin with resume".into(),
                            fatal: false,
                        },
                    );
                }
            }
            SfuEvent::RecordingFailed {
                room,
                participant,
                track,
                error,
            } => {
                self.recording_failed(&room.0, &participant.0, &track.0, &error)
                    .await
            }
            SfuEvent::RecordingAlarm { room, alarm } => self.recording_alarm(&room.0, alarm).await,
            SfuEvent::LayerChanged {
                room,
                participant,
                track,
                layer,
            } => {
                self.metrics.layer_switched();
                self.send_to(
                    &room.0,
                    &participant.0,
                    ServerMessage::LayerChanged {
                        track: track.0,
                        layer,
                    },
                )
            }
            SfuEvent::QualityChanged {
                room,
                participant,
                quality,
                ..
            } => self.broadcast(
                &room.0,
                None,
                &ServerMessage::ConnectionQuality {
                    participant_id: participant.0,
                    quality,
                },
            ),
        }
    }

    fn send_to(&mut self, session: &str, participant: &str, msg: ServerMessage) {
        let conn = self
            .rooms
            .get(session)
            .and_then(|room| room.conn_of(participant));
        if let Some(conn) = conn {
            self.send(conn, msg);
        }
    }

    fn broadcast(&mut self, session: &str, except: Option<String>, msg: &ServerMessage) {
        let Some(room) = self.rooms.get(session) else {
            return;
        };
        let targets: Vec<ConnId> = room
            .connections()
            .filter(|(_, pid)| except.as_deref() != Some(*pid))
            .map(|(c, _)| c)
            .collect();
        for conn in targets {
            self.send(conn, msg.clone());
        }
    }

    fn send(&mut self, conn: ConnId, msg: ServerMessage) {
        let Some(tx) = self.conns.get(&conn) else {
            return;
        };
        match tx.try_send(Outbound::Msg(msg)) {
            Ok(()) => {}
            // A full queue means a client that does not read: drop it, it will resume.
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!("dropping a connection whose outbound queue is full");
                self.conns.remove(&conn);
            }
            // Its socket task has ended; its `Leave` or `ConnectionLost` is on the way.
            Err(mpsc::error::TrySendError::Closed(_)) => {
                debug!("a message to a connection that has just closed");
                self.conns.remove(&conn);
            }
        }
    }

    fn close_all(&mut self) {
        for (_, tx) in self.conns.drain() {
            let _ = tx.try_send(Outbound::Close(ErrorCode::SessionClosed));
        }
        self.rooms.clear();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
