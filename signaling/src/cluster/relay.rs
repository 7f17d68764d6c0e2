//! A session's requests that reach a replica other than the one running it are
//! relayed there: a WebSocket frame by frame in both directions (close codes
//! included), a REST or WHIP request whole. The holder trusts a relayed request by
//! the cluster secret in [`RELAY_HEADER`]; it has already passed the origin check and
//! the per-address limits at the replica the client reached.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{self, WebSocket};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{
    CloseFrame, WebSocketConfig, frame::coding::CloseCode,
};
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::{debug, warn};

use super::leases::{Route, route};
use crate::Shared;
use crate::api::ApiError;
use crate::service::client_limits::ClientIp;

/// The header a relaying replica puts the cluster secret in.
pub(crate) const RELAY_HEADER: &str = "x-seduta-relay";

/// Largest REST or WHIP body relayed (the API's own limits are far below).
const MAX_RELAY_BODY: usize = 8 * 1024 * 1024;

/// Largest WebSocket message relayed: the signaling socket's own hard limit.
const MAX_RELAY_FRAME: usize = 4 * 1024 * 1024;

/// Whether a request comes from another replica of this cluster.
pub(crate) fn is_relayed(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(cluster) = &shared.config.cluster else {
        return false;
    };
    headers
        .get(RELAY_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| super::secret_matches(cluster, v))
}

/// The HTTP client for relayed requests and notices.
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// The session a path belongs to, for the routes the session's hub serves.
fn session_of(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("ws"), Some(session), None, _) => Some(session),
        (Some("whip"), Some(session), _, _) => Some(session),
        (Some("api"), Some("sessions"), Some(session), Some("state" | "actions")) => Some(session),
        (Some("internal"), Some("hub"), Some(session), Some(_)) => Some(session),
        _ => None,
    }
    .filter(|s| !s.is_empty() && s.len() <= 128)
}

/// The middleware: serves a session's request here when this replica runs the
/// session (taking the lease if no one holds it), or relays it to the one that does.
pub(crate) async fn forward(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(session) = session_of(request.uri().path()).map(str::to_owned) else {
        return next.run(request).await;
    };
    match route(&shared, &session).await {
        Ok(Route::Here) => next.run(request).await,
        Ok(Route::There(url)) => {
            if is_relayed(&shared, request.headers()) {
                // Relayed to us by a replica that thought we run it: never twice.
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "session_moving",
                    "the session is moving between replicas; try again",
                )
                .into_response();
            }
            let upgrade = request
                .headers()
                .get(header::UPGRADE)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
            if upgrade {
                relay_websocket(&shared, request, &url).await
            } else {
                relay_request(&shared, request, &url).await
            }
        }
        Err(e) => {
            warn!(error = %e, "a session's replica could not be looked up");
            ApiError::from(e).into_response()
        }
    }
}

fn unreachable_replica() -> Response {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "replica_unreachable",
        "the replica that runs the session cannot be reached; try again",
    )
    .into_response()
}

fn target(base: &str, request_uri: &axum::http::Uri) -> String {
    let path = request_uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Headers that belong to one hop and are not passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "content-length"
    ) || name.as_str() == RELAY_HEADER
}

async fn relay_request(shared: &Shared, request: Request, base: &str) -> Response {
    let Some(cluster) = &shared.config.cluster else {
        return unreachable_replica();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_RELAY_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        )
        .into_response();
    };
    let mut out = client().request(parts.method.clone(), target(base, &parts.uri));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) && name != header::FORWARDED && name.as_str() != "x-forwarded-for" {
            out = out.header(name, value);
        }
    }
    if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>() {
        out = out.header("x-forwarded-for", ip.to_string());
    }
    let answer = match out
        .header(RELAY_HEADER, &cluster.secret)
        .body(body)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            debug!(error = %e, "relay failed");
            return unreachable_replica();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(bytes) = answer.bytes().await else {
        return unreachable_replica();
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

async fn relay_websocket(shared: &Arc<Shared>, request: Request, base: &str) -> Response {
    let Some(cluster) = &shared.config.cluster else {
        return unreachable_replica();
    };
    let (mut parts, _body) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, shared).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let url = target(base, &parts.uri)
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let Ok(mut upstream_request) = url.into_client_request() else {
        return unreachable_replica();
    };
    let headers = upstream_request.headers_mut();
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        headers.insert(header::ORIGIN, origin.clone());
    }
    if let Ok(secret) = cluster.secret.parse() {
        headers.insert(RELAY_HEADER, secret);
    }
    if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>()
        && let Ok(value) = ip.to_string().parse()
    {
        headers.insert("x-forwarded-for", value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_RELAY_FRAME))
        .max_frame_size(Some(MAX_RELAY_FRAME));
    let upstream =
        match tokio_tungstenite::connect_async_with_config(upstream_request, Some(config), false)
            .await
        {
            Ok((upstream, _)) => upstream,
            Err(tungstenite::Error::Http(refused)) => {
                // The holder refused the upgrade (a full session, a limit): say so.
                return refused.status().into_response();
            }
            Err(e) => {
                debug!(error = %e, "websocket relay failed");
                return unreachable_replica();
            }
        };
    upgrade
        .max_message_size(MAX_RELAY_FRAME)
        .max_frame_size(MAX_RELAY_FRAME)
        .on_upgrade(move |client| pump(client, upstream))
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Copies frames both ways until one side closes, then closes the other with the
/// same code.
async fn pump(client: WebSocket, upstream: Upstream) {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut up_tx, mut up_rx) = upstream.split();
    let from_client = async {
        while let Some(Ok(message)) = client_rx.next().await {
            let close = matches!(message, ws::Message::Close(_));
            if up_tx.send(to_upstream(message)).await.is_err() || close {
                break;
            }
        }
        let _ = up_tx.close().await;
    };
    let from_upstream = async {
        while let Some(Ok(message)) = up_rx.next().await {
            let Some(message) = to_client(message) else {
                continue;
            };
            let close = matches!(message, ws::Message::Close(_));
            if client_tx.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = client_tx.close().await;
    };
    tokio::select! {
        () = from_client => {}
        () = from_upstream => {}
    }
}

fn to_upstream(message: ws::Message) -> Message {
    match message {
        ws::Message::Text(text) => Message::Text(text.as_str().into()),
        ws::Message::Binary(bytes) => Message::Binary(bytes),
        ws::Message::Ping(bytes) => Message::Ping(bytes),
        ws::Message::Pong(bytes) => Message::Pong(bytes),
        ws::Message::Close(frame) => Message::Close(frame.map(|f| CloseFrame {
            code: CloseCode::from(f.code),
            reason: f.reason.as_str().into(),
        })),
    }
}

fn to_client(message: Message) -> Option<ws::Message> {
    Some(match message {
        Message::Text(text) => ws::Message::Text(text.as_str().into()),
        Message::Binary(bytes) => ws::Message::Binary(bytes),
        Message::Ping(bytes) => ws::Message::Ping(bytes),
        Message::Pong(bytes) => ws::Message::Pong(bytes),
        Message::Close(frame) => ws::Message::Close(frame.map(|f| ws::CloseFrame {
            code: u16::from(f.code),
            reason: f.reason.as_str().into(),
        })),
        Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::session_of;

    #[test]
    fn only_a_sessions_own_routes_are_relayed() {
        assert_eq!(session_of("/ws/s-1"), Some("s-1"));
        assert_eq!(session_of("/whip/s-1"), Some("s-1"));
        assert_eq!(session_of("/whip/s-1/resource-9"), Some("s-1"));
        assert_eq!(session_of("/api/sessions/s-1/actions"), Some("s-1"));
        assert_eq!(session_of("/api/sessions/s-1/state"), Some("s-1"));
        assert_eq!(session_of("/internal/hub/s-1/reload"), Some("s-1"));
        // Stored data is served by any replica.
        assert_eq!(session_of("/api/sessions/s-1/attendance"), None);
        assert_eq!(session_of("/api/sessions"), None);
        assert_eq!(session_of("/ws/"), None);
        assert_eq!(session_of("/ws/a/b"), None);
        assert_eq!(session_of(&format!("/ws/{}", "x".repeat(200))), None);
        assert_eq!(session_of("/metrics"), None);
    }
}
