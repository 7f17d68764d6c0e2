//! One WebSocket connection: authentication, limits, parsing, and dispatch.
//!
//! Frames are read and written by this one task, so a connection never has two
//! writers. Everything a connection may change goes through the hub or the SFU.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use seduta_sfu::{ParticipantId, RoomId, SfuError, SubscriptionPrefs, TrackId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant as TokioInstant, sleep_until};
use tracing::{debug, info};

use super::hub::{HubCommand, MediaMode, Outbound, outbound_queue};
use super::inbound;
use super::rate_limit::{MAX_REFUSED, MESSAGE_BURST, MESSAGES_PER_SECOND, TokenBucket};
use crate::Shared;
use crate::auth::Claims;
use crate::protocol::{ClientMessage, CloseCode, ErrorCode, MAX_MESSAGE_BYTES, ServerMessage};
use crate::room::{ConnId, RoomInput};

/// Consecutive protocol errors after which a connection is closed.
const MAX_CONSECUTIVE_ERRORS: u32 = 5;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// A fresh connection id, unique in this process (WebSocket and WHIP alike).
pub(super) fn next_conn_id() -> ConnId {
    ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed))
}

/// Why the read loop ended.
enum End {
    /// The client closed or the socket failed.
    Gone,
    /// We closed it after an error.
    Closed,
    /// We closed it after `leave`.
    Left,
}

struct Connection {
    id: ConnId,
    session: String,
    shared: Arc<Shared>,
    socket: WebSocket,
    joined: Option<Claims>,
    bucket: TokenBucket,
    refused: u32,
    consecutive_errors: u32,
}

/// Serves one upgraded WebSocket until it ends.
pub async fn serve(socket: WebSocket, session: String, shared: Arc<Shared>) {
    let now = Instant::now();
    let conn = Connection {
        id: next_conn_id(),
        session,
        shared,
        socket,
        joined: None,
        bucket: TokenBucket::new(MESSAGES_PER_SECOND, MESSAGE_BURST, now),
        refused: 0,
        consecutive_errors: 0,
    };
    conn.run().await;
}

impl Connection {
    async fn run(mut self) {
        let (out_tx, mut out_rx) = outbound_queue();
        let mut out_tx = Some(out_tx);
        let join_deadline = TokioInstant::now() + self.shared.config.join_timeout;
        let mut idle_deadline = TokioInstant::now() + self.shared.config.idle_timeout;
        let end = loop {
            let deadline = if self.joined.is_some() {
                idle_deadline
            } else {
                join_deadline.min(idle_deadline)
            };
            tokio::select! {
                frame = self.socket.recv() => {
                    idle_deadline = TokioInstant::now() + self.shared.config.idle_timeout;
                    match frame {
                        Some(Ok(msg)) => {
                            if let Some(end) = self.on_frame(msg, &mut out_tx).await {
                                break end;
                            }
                        }
                        Some(Err(e)) => {
                            debug!(error = %e, "websocket read failed");
                            break End::Gone;
                        }
                        None => break End::Gone,
                    }
                }
                out = out_rx.recv(), if self.joined.is_some() => match out {
                    Some(Outbound::Msg(msg)) => {
                        if self.write(&msg).await.is_err() {
                            break End::Gone;
                        }
                    }
                    Some(Outbound::Close(code)) => {
                        self.close_with(code, close_message(code)).await;
                        break End::Closed;
                    }
                    Some(Outbound::CloseNormal) => {
                        self.close_frame(CloseCode::Normal, "left").await;
                        break End::Left;
                    }
                    // The hub dropped us (a full queue): end, the client will resume.
                    None => break End::Gone,
                },
                () = sleep_until(deadline) => {
                    if self.joined.is_none() && TokioInstant::now() >= join_deadline {
                        self.close_with(ErrorCode::JoinTimeout, "no join message in time").await;
                        break End::Closed;
                    }
                    debug!("closing a silent connection");
                    break End::Gone;
                }
            }
        };
        if self.joined.is_some() && !matches!(end, End::Left) {
            let _ = self.shared.hub.send(HubCommand::Room {
                session: self.session.clone(),
                input: RoomInput::ConnectionLost { conn: self.id },
            });
        }
    }

    /// Handles one frame; `Some` ends the connection.
    async fn on_frame(
        &mut self,
        msg: Message,
        out_tx: &mut Option<mpsc::Sender<Outbound>>,
    ) -> Option<End> {
        let text = match msg {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return self
                    .refuse(ErrorCode::BadJson, "binary frames are not accepted")
                    .await;
            }
            Message::Close(_) => return Some(End::Gone),
            Message::Ping(_) | Message::Pong(_) => return None,
        };
        if text.len() > MAX_MESSAGE_BYTES {
            self.close_with(
                ErrorCode::MessageTooLarge,
                "a message may not exceed 65536 bytes",
            )
            .await;
            return Some(End::Closed);
        }
        if !self.bucket.take(Instant::now()) {
            self.refused += 1;
            if self.refused > MAX_REFUSED {
                self.close_with(ErrorCode::RateLimited, "message flood")
                    .await;
                return Some(End::Closed);
            }
            let _ = self
                .write(&error(ErrorCode::RateLimited, "too many messages", false))
                .await;
            return None;
        }
        let parsed = match inbound::parse(text.as_str()) {
            Ok(parsed) => parsed,
            Err((code, reason)) => return self.refuse(code, &reason).await,
        };
        self.consecutive_errors = 0;
        match (parsed, self.joined.is_some()) {
            (ClientMessage::Join { token, .. }, false) => self.join(&token, out_tx).await,
            (ClientMessage::Join { .. }, true) => {
                self.refuse(ErrorCode::AlreadyJoined, "already joined")
                    .await
            }
            (ClientMessage::Ping { ts }, _) => self
                .write(&ServerMessage::Pong { ts })
                .await
                .err()
                .map(|_| End::Gone),
            (_, false) => self.refuse(ErrorCode::NotJoined, "send join first").await,
            (msg, true) => self.joined_message(msg).await,
        }
    }

    async fn join(
        &mut self,
        token: &str,
        out_tx: &mut Option<mpsc::Sender<Outbound>>,
    ) -> Option<End> {
        let claims = match self.shared.verifier.verify(token, &self.session) {
            Ok(claims) => claims,
            Err(e) => {
                let code = e.code();
                self.close_with(code, &e.to_string()).await;
                return Some(End::Closed);
            }
        };
        if let Err((code, reason)) = super::admission::admit(&self.shared.store, &claims).await {
            self.close_with(code, reason).await;
            return Some(End::Closed);
        }
        let Some(outbound) = out_tx.take() else {
            return self
                .refuse(ErrorCode::AlreadyJoined, "already joined")
                .await;
        };
        let (reply, done) = oneshot::channel();
        let sent = self.shared.hub.send(HubCommand::Join {
            session: self.session.clone(),
            conn: self.id,
            claims: claims.clone(),
            outbound,
            reply,
            media: MediaMode::Full,
        });
        if sent.is_err() || done.await.is_err() {
            self.close_with(ErrorCode::Internal, "the session service is not available")
                .await;
            return Some(End::Closed);
        }
        info!(role = %claims.role, "participant joined");
        self.joined = Some(claims);
        None
    }

    async fn joined_message(&mut self, msg: ClientMessage) -> Option<End> {
        let Some(claims) = &self.joined else {
            return None;
        };
        let room = RoomId(self.session.clone());
        let me = ParticipantId(claims.sub.clone());
        let sfu = self.shared.sfu.clone();
        let result = match msg {
            ClientMessage::Publish { sdp, tracks } => {
                match sfu.publish(room, me, sdp, tracks).await {
                    Ok(answer) => {
                        let msg = ServerMessage::PublishAnswer { sdp: answer };
                        return self.write(&msg).await.err().map(|_| End::Gone);
                    }
                    Err(e) => Err(e),
                }
            }
            ClientMessage::SubscriberAnswer { sdp } => sfu.subscriber_answer(room, me, sdp).await,
            ClientMessage::Subscribe {
                track,
                max_height,
                paused,
            } => {
                let prefs = SubscriptionPrefs { max_height, paused };
                sfu.set_subscription(room, me, TrackId(track), prefs).await
            }
            ClientMessage::MediaState {
                audio_muted,
                video_muted,
            } => {
                let _ = self.shared.hub.send(HubCommand::Room {
                    session: self.session.clone(),
                    input: RoomInput::MediaState {
                        conn: self.id,
                        audio_muted,
                        video_muted,
                    },
                });
                Ok(())
            }
            ClientMessage::Leave => {
                let _ = self.shared.hub.send(HubCommand::Room {
                    session: self.session.clone(),
                    input: RoomInput::Leave { conn: self.id },
                });
                Ok(())
            }
            ClientMessage::Action { id, action } => {
                let (reply, answer) = oneshot::channel();
                let sent = self.shared.hub.send(HubCommand::Action {
                    session: self.session.clone(),
                    actor: claims.sub.clone(),
                    role: claims.role,
                    action,
                    reply,
                });
                let result = match (sent, answer.await) {
                    (Ok(()), Ok(result)) => result.map(|_| ()),
                    _ => Err(super::ActionError {
                        code: "internal",
                        message: "the session service is not available".into(),
                    }),
                };
                let msg = match result {
                    Ok(()) => ServerMessage::ActionResult {
                        id,
                        ok: true,
                        code: None,
                        message: None,
                    },
                    Err(e) => ServerMessage::ActionResult {
                        id,
                        ok: false,
                        code: Some(e.code.to_owned()),
                        message: Some(e.message),
                    },
                };
                return self.write(&msg).await.err().map(|_| End::Gone);
            }
            // Handled before dispatch.
            ClientMessage::Join { .. } | ClientMessage::Ping { .. } => Ok(()),
        };
        match result {
            Ok(()) => None,
            Err(e) => {
                let code = sfu_error_code(&e);
                let reply = error(code, &e.to_string(), false);
                self.write(&reply).await.err().map(|_| End::Gone)
            }
        }
    }

    /// Refuses one message; too many in a row closes the connection.
    async fn refuse(&mut self, code: ErrorCode, reason: &str) -> Option<End> {
        self.consecutive_errors += 1;
        if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
            self.close_with(code, reason).await;
            return Some(End::Closed);
        }
        self.write(&error(code, reason, false))
            .await
            .err()
            .map(|_| End::Gone)
    }

    async fn write(&mut self, msg: &ServerMessage) -> Result<(), axum::Error> {
        let text = serde_json::to_string(msg).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"serialization","fatal":false}"#
                .to_owned()
        });
        self.socket.send(Message::Text(Utf8Bytes::from(text))).await
    }

    async fn close_with(&mut self, code: ErrorCode, reason: &str) {
        let _ = self.write(&error(code, reason, true)).await;
        let close = if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
            CloseCode::ProtocolViolation
        } else {
            code.close_code()
        };
        self.close_frame(close, code.as_str()).await;
    }

    async fn close_frame(&mut self, code: CloseCode, reason: &str) {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code: code as u16,
                reason: Utf8Bytes::from(reason.to_owned()),
            })))
            .await;
    }
}

fn error(code: ErrorCode, message: &str, fatal: bool) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.to_owned(),
        fatal,
    }
}

fn close_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::SessionReplaced => "another connection joined with the same identity",
        ErrorCode::SessionClosed => "the session was closed",
        ErrorCode::Removed => "the segretario removed you from the session",
        ErrorCode::TokenRevoked => "the invitation was revoked",
        ErrorCode::Storage => {
            "your entry could not be recorded in the attendance log (the database is busy \
             or unavailable); nothing changed: join again in a moment"
        }
        _ => "connection closed by the server",
    }
}

/// Maps a media-plane error to the protocol's code.
fn sfu_error_code(e: &SfuError) -> ErrorCode {
    match e.code() {
        "invalid_sdp" => ErrorCode::InvalidSdp,
        "negotiation_failed" => ErrorCode::NegotiationFailed,
        "unknown_participant" | "unknown_track" | "no_pending_offer" => ErrorCode::UnknownTrack,
        _ => ErrorCode::NegotiationFailed,
    }
}
