//! `GET /internal/sfu`: the endpoint media nodes dial. A node presents the cluster
//! secret, introduces itself and then serves this replica's requests on the socket.

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use seduta_sfu::cluster::{MAX_CONTROL_MESSAGE, Router as MediaRouter};
use tokio::sync::mpsc;
use tracing::warn;

use crate::Shared;

/// The route, present only with replicas.
pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/internal/sfu", get(attach))
        .with_state(shared)
}

async fn attach(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(cluster) = &shared.config.cluster else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !super::secret_matches(cluster, presented) {
        return (StatusCode::UNAUTHORIZED, "unknown media node").into_response();
    }
    let router = cluster.router.clone();
    upgrade
        .max_message_size(MAX_CONTROL_MESSAGE)
        .max_frame_size(MAX_CONTROL_MESSAGE)
        .on_upgrade(move |socket| serve(socket, router))
}

/// Bridges the socket to the router's channels until either side ends.
async fn serve(socket: WebSocket, router: Arc<MediaRouter>) {
    let (mut sink, mut stream) = socket.split();
    let (to_router, incoming) = mpsc::channel::<String>(1024);
    let (outgoing, mut from_router) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = from_router.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Text(text) if to_router.send(text.to_string()).await.is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    if let Err(e) = router.attach(incoming, outgoing).await {
        warn!(error = %e, "a media node's control channel was refused");
    }
    reader.abort();
    writer.abort();
}
