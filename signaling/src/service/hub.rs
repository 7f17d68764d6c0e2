//! The hub: the single owner of every room. Connections and the media plane talk to it
//! through channels; it feeds [`Room`] state machines and carries out their outputs.

use std::collections::HashMap;
use std::time::Duration;

use seduta_sfu::{ParticipantId, RoomId, SfuEvent, SfuHandle};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::auth::Claims;
use crate::protocol::{ErrorCode, ServerMessage, SpeakerLevel};
use crate::room::{ConnId, Room, RoomInput, RoomOutput};

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
    },
    /// Any other room input.
    Room {
        /// The session.
        session: String,
        /// The input.
        input: RoomInput,
    },
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
}

/// The owner of all rooms.
pub struct Hub {
    rooms: HashMap<String, Room>,
    conns: HashMap<ConnId, mpsc::Sender<Outbound>>,
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
    ) -> HubSender {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut hub = Hub {
            rooms: HashMap::new(),
            conns: HashMap::new(),
            sfu,
            timing,
            self_tx: tx.clone(),
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(cmd) => hub.command(cmd).await,
                        None => break,
                    },
                    ev = events.recv() => match ev {
                        Some(ev) => hub.sfu_event(ev),
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
            } => {
                self.conns.insert(conn, outbound);
                let room = self.rooms.entry(session.clone()).or_default();
                let outputs = room.handle(RoomInput::Join { conn, claims });
                self.carry_out(&session, outputs).await;
                let _ = reply.send(());
            }
            HubCommand::Room { session, input } => {
                if let RoomInput::ConnectionLost { conn } = &input {
                    self.conns.remove(conn);
                }
                let Some(room) = self.rooms.get_mut(&session) else {
                    return;
                };
                let outputs = room.handle(input);
                self.carry_out(&session, outputs).await;
            }
        }
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
                    if let Some(tx) = self.conns.remove(&conn) {
                        let _ = tx.try_send(Outbound::Close(code));
                    }
                }
                RoomOutput::CloseNormal { conn } => {
                    if let Some(tx) = self.conns.remove(&conn) {
                        let _ = tx.try_send(Outbound::CloseNormal);
                    }
                }
                RoomOutput::MediaJoin { participant, fresh } => {
                    let pid = ParticipantId(participant);
                    if fresh {
                        // A resumed client brings new peer connections; the old ones go.
                        let _ = self.sfu.leave(room_id.clone(), pid.clone()).await;
                    }
                    if let Err(e) = self.sfu.join(room_id.clone(), pid, true).await {
                        warn!(error = %e, "media join failed");
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
                    info!("a session room emptied and was released");
                }
            }
        }
    }

    fn sfu_event(&mut self, event: SfuEvent) {
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
                if state == seduta_sfu::PeerState::Closed && reason.is_some() {
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
            SfuEvent::LayerChanged {
                room,
                participant,
                track,
                layer,
            } => self.send_to(
                &room.0,
                &participant.0,
                ServerMessage::LayerChanged {
                    track: track.0,
                    layer,
                },
            ),
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
        if tx.try_send(Outbound::Msg(msg)).is_err() {
            // A full queue means a client that does not read: drop it, it will resume.
            warn!("dropping a connection whose outbound queue is full");
            self.conns.remove(&conn);
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
