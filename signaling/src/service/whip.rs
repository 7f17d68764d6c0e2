//! WHIP ingest (RFC 9725): the chamber publishes from an encoder (OBS, GStreamer)
//! instead of a browser.
//!
//! `POST /whip/{session}` with the chamber's join token as a bearer token and an SDP
//! offer enters the session like a WebSocket join does, publish-only (the SFU creates
//! no subscriber connection), and answers `201 Created` with the SDP answer and the
//! resource's `Location`. `DELETE` on that resource leaves the session. Trickle ICE
//! and ICE restarts (`PATCH`) are not supported: `405`. CORS stays closed: no
//! `Access-Control-*` header is ever sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use seduta_sfu::{ParticipantId, RoomId, SfuError, offer_tracks};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

use super::connection::next_conn_id;
use super::hub::{HubCommand, MediaMode, Outbound, outbound_queue};
use crate::Shared;
use crate::auth::{Claims, Role};
use crate::protocol::{ErrorCode, ServerMessage};
use crate::room::{ConnId, RoomInput};

/// Largest accepted offer.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

/// Longest accepted session id in a URL (as for the WebSocket).
const MAX_SESSION_ID: usize = 128;

/// A live WHIP session.
struct Resource {
    session: String,
    participant: String,
    conn: ConnId,
}

/// The WHIP endpoint's state: the live resources by id.
struct Whip {
    shared: Arc<Shared>,
    resources: Mutex<HashMap<String, Resource>>,
}

impl Whip {
    fn resources(&self) -> MutexGuard<'_, HashMap<String, Resource>> {
        self.resources.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The WHIP routes: `POST`/`OPTIONS /whip/{session}` and
/// `DELETE`/`PATCH /whip/{session}/{resource}`.
pub fn routes(shared: Arc<Shared>) -> Router {
    let whip = Arc::new(Whip {
        shared,
        resources: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/whip/{session}", post(create).options(options))
        .route("/whip/{session}/{resource}", delete(remove).patch(patch))
        .with_state(whip)
}

/// An error answer: a status and a stable code as plain text.
fn refuse(status: StatusCode, code: &str) -> Response {
    let mut response = (status, code.to_owned()).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The bearer token of a request, if well formed.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies the bearer token for `session`: the claims, or the error answer.
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    session: &str,
) -> Result<Claims, Box<Response>> {
    if session.is_empty() || session.len() > MAX_SESSION_ID {
        return Err(Box::new(refuse(StatusCode::NOT_FOUND, "unknown_session")));
    }
    let Some(token) = bearer(headers) else {
        return Err(Box::new(refuse(StatusCode::UNAUTHORIZED, "token_missing")));
    };
    shared
        .verifier
        .verify(token, session)
        .map_err(|e| Box::new(refuse(StatusCode::UNAUTHORIZED, e.code().as_str())))
}

/// Whether the request says it carries `application/sdp`.
fn is_sdp(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
}

/// The status and stable code for a media-plane refusal.
fn sfu_refusal(e: &SfuError) -> Response {
    match e {
        SfuError::InvalidSdp(_) | SfuError::NegotiationFailed(_) => {
            refuse(StatusCode::BAD_REQUEST, e.code())
        }
        _ => refuse(StatusCode::SERVICE_UNAVAILABLE, e.code()),
    }
}

async fn create(
    State(whip): State<Arc<Whip>>,
    Path(session): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let shared = &whip.shared;
    let claims = match authenticate(shared, &headers, &session) {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    if claims.role != Role::Room {
        return refuse(StatusCode::FORBIDDEN, "role_not_allowed");
    }
    // A stored session admits only through a live invitation, as the WebSocket does.
    if let Err((code, _)) = super::admission::admit(&shared.store, &claims).await {
        let status = match code {
            crate::protocol::ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            crate::protocol::ErrorCode::Internal | crate::protocol::ErrorCode::Storage => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        };
        return refuse(status, code.as_str());
    }
    if !is_sdp(&headers) {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_OFFER_BYTES as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "message_too_large");
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_OFFER_BYTES).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "message_too_large");
    };
    let Ok(offer) = String::from_utf8(bytes.to_vec()) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_sdp");
    };
    // Checked before joining, so that a bad offer changes nothing in the session.
    let tracks = match offer_tracks(&offer) {
        Ok(tracks) => tracks,
        Err(e) => return sfu_refusal(&e),
    };

    let conn = next_conn_id();
    let id = format!("{:032x}", rand::random::<u128>());
    let participant = claims.sub.clone();
    let (outbound, rx) = outbound_queue();
    let (reply, done) = oneshot::channel();
    let sent = shared.hub.send(HubCommand::Join {
        session: session.clone(),
        conn,
        claims,
        outbound,
        reply,
        media: MediaMode::PublishOnly,
    });
    if sent.is_err() || done.await.is_err() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "internal");
    }
    // The session may have refused the join at once (its rules): the hub queued the
    // closing before replying.
    let mut rx = rx;
    while let Ok(out) = rx.try_recv() {
        if let Outbound::Close(code) = out {
            let status = match code {
                ErrorCode::Storage => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            return refuse(status, code.as_str());
        }
    }
    let leave = {
        let (hub, session) = (shared.hub.clone(), session.clone());
        move || {
            let _ = hub.send(HubCommand::Room {
                session,
                input: RoomInput::Leave { conn },
            });
        }
    };
    let room = RoomId(session.clone());
    let answer = match shared
        .sfu
        .publish(room, ParticipantId(participant.clone()), offer, tracks)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            debug!(error = %e, "a WHIP offer was refused");
            leave();
            return sfu_refusal(&e);
        }
    };
    whip.resources().insert(
        id.clone(),
        Resource {
            session: session.clone(),
            participant,
            conn,
        },
    );
    tokio::spawn(drain(whip.clone(), id.clone(), conn, rx, leave));
    info!("a WHIP encoder joined");

    let location = format!("/whip/{}/{id}", encode_segment(&session));
    let mut response = (StatusCode::CREATED, answer).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{:016x}\"", rand::random::<u64>())) {
        h.insert(header::ETAG, v);
    }
    response
}

/// Reads what the hub sends the WHIP connection (nobody else would) until the hub
/// closes it, then drops the resource. A lost media connection ends the session:
/// an encoder does not resume the way a browser does.
async fn drain(
    whip: Arc<Whip>,
    id: String,
    conn: ConnId,
    mut rx: mpsc::Receiver<Outbound>,
    leave: impl FnOnce(),
) {
    let mut leave = Some(leave);
    while let Some(out) = rx.recv().await {
        match out {
            Outbound::Msg(ServerMessage::Error {
                code: ErrorCode::MediaLost,
                ..
            }) => {
                if let Some(leave) = leave.take() {
                    info!("a WHIP encoder's media connection was lost; it leaves");
                    leave();
                }
            }
            Outbound::Msg(_) => {}
            Outbound::Close(_) | Outbound::CloseNormal => break,
        }
    }
    let mut resources = whip.resources();
    if resources.get(&id).is_some_and(|r| r.conn == conn) {
        resources.remove(&id);
    }
}

async fn remove(
    State(whip): State<Arc<Whip>>,
    Path((session, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let claims = match authenticate(&whip.shared, &headers, &session) {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    let conn = {
        let mut resources = whip.resources();
        let Some(resource) = resources.get(&id).filter(|r| r.session == session) else {
            return refuse(StatusCode::NOT_FOUND, "unknown_resource");
        };
        if resource.participant != claims.sub {
            return refuse(StatusCode::FORBIDDEN, "forbidden");
        }
        let conn = resource.conn;
        resources.remove(&id);
        conn
    };
    let _ = whip.shared.hub.send(HubCommand::Room {
        session,
        input: RoomInput::Leave { conn },
    });
    info!("a WHIP encoder left");
    StatusCode::OK.into_response()
}

/// Trickle ICE and ICE restarts are not supported (RFC 9725 allows that).
async fn patch() -> Response {
    let mut response = refuse(StatusCode::METHOD_NOT_ALLOWED, "not_supported");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    response
}

async fn options() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert("accept-post", HeaderValue::from_static("application/sdp"));
    h.insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    response
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_and_content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  x "),
        );
        assert_eq!(bearer(&h), Some("x"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);

        assert!(!is_sdp(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/SDP; charset=utf-8"),
        );
        assert!(is_sdp(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_sdp(&h));
    }

    #[test]
    fn locations_are_encoded() {
        assert_eq!(encode_segment("giunta-2026_03.12~a"), "giunta-2026_03.12~a");
        assert_eq!(encode_segment("a b/ç"), "a%20b%2F%C3%A7");
    }
}
