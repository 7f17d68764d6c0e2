use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::connection;
use crate::Shared;

/// Frames above this size are cut off by the WebSocket layer itself; frames between
/// [`crate::protocol::MAX_MESSAGE_BYTES`] and this get a `message_too_large` error.
const HARD_FRAME_LIMIT: usize = 4 * 1024 * 1024;

/// Longest accepted session id in a URL.
const MAX_SESSION_ID: usize = 128;

/// The signaling routes: `GET /ws/{session}` and `GET /healthz`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws/{session}", get(ws))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(shared)
}

async fn ws(
    State(shared): State<Arc<Shared>>,
    Path(session): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if session.is_empty() || session.len() > MAX_SESSION_ID {
        return (StatusCode::BAD_REQUEST, "invalid session id").into_response();
    }
    upgrade
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| connection::serve(socket, session, shared))
}
