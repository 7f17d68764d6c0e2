use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use std::time::Instant;

use axum::Extension;

use super::client_limits::ClientIp;
use super::connection;
use crate::Shared;

/// Frames above this size are cut off by the WebSocket layer itself; frames between
/// [`crate::protocol::MAX_MESSAGE_BYTES`] and this get a `message_too_large` error.
const HARD_FRAME_LIMIT: usize = 4 * 1024 * 1024;

/// Longest accepted session id in a URL.
const MAX_SESSION_ID: usize = 128;

/// The signaling routes: `GET /ws/{session}`, the probes (`/healthz`, `/livez`,
/// `/readyz`), `GET /metrics` and WHIP ingest (`/whip/{session}`).
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws/{session}", get(ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(super::probes::livez))
        .route("/readyz", get(super::probes::readyz))
        .route("/metrics", get(super::probes::metrics))
        .with_state(shared.clone())
        .merge(super::whip::routes(shared))
}

async fn ws(
    State(shared): State<Arc<Shared>>,
    Path(session): Path<String>,
    headers: HeaderMap,
    client: Option<Extension<ClientIp>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if session.is_empty() || session.len() > MAX_SESSION_ID {
        return (StatusCode::BAD_REQUEST, "invalid session id").into_response();
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // A relayed socket's origin was checked by the replica the browser reached.
    if !crate::cluster::relay::is_relayed(&shared, &headers)
        && !origin_allowed(
            text(header::ORIGIN),
            text(header::HOST),
            &shared.config.allowed_origins,
        )
    {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    // Counted against its address while it is open.
    let slot = match client {
        Some(Extension(ClientIp(ip))) => {
            match shared.client_limits.open_websocket(ip, Instant::now()) {
                Ok(slot) => Some(slot),
                Err(refusal) => return refusal.response(),
            }
        }
        None => None,
    };
    upgrade
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            connection::serve(socket, session, shared).await;
            drop(slot);
        })
}

/// Whether a WebSocket request from a page of `origin` may proceed: no origin (not a
/// browser), the server's own origin (same host and port), or one configured.
fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    if authority.is_some() && authority == host {
        return true;
    }
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn same_origin_configured_or_no_origin_only() {
        let host = Some("seduta.comune.example.it");
        assert!(origin_allowed(None, host, &[]));
        assert!(origin_allowed(
            Some("https://seduta.comune.example.it"),
            host,
            &[]
        ));
        assert!(!origin_allowed(Some("https://evil.example"), host, &[]));
        assert!(!origin_allowed(Some("null"), host, &[]));
        assert!(!origin_allowed(
            Some("https://seduta.comune.example.it.evil.example"),
            host,
            &[]
        ));
        let allowed = ["https://intranet.comune.example.it/".to_owned()];
        assert!(origin_allowed(
            Some("https://intranet.comune.example.it"),
            host,
            &allowed
        ));
    }
}
