//! Notices from REST handlers to the hub that runs a session: delivered here, or
//! posted to the replica that holds the session's lease
//! (`POST /internal/hub/{session}/reload`, `…/revoke/{jti}`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::warn;

use super::leases::{Route, route};
use super::relay::{RELAY_HEADER, client};
use crate::Shared;
use crate::service::HubCommand;

/// A change the hub running a session must hear of.
#[derive(Debug, Clone)]
pub(crate) enum Notice {
    /// An invitation was revoked: its connection is closed.
    Revoke {
        /// The invitation.
        jti: String,
    },
    /// The session's agenda or guests changed in the store.
    Reload,
}

impl Notice {
    fn command(self, session: String) -> HubCommand {
        match self {
            Notice::Revoke { jti } => HubCommand::Revoke { session, jti },
            Notice::Reload => HubCommand::Reload { session },
        }
    }

    fn path(&self, session: &str) -> String {
        match self {
            Notice::Revoke { jti } => format!("/internal/hub/{session}/revoke/{jti}"),
            Notice::Reload => format!("/internal/hub/{session}/reload"),
        }
    }
}

/// Tells the hub that runs `session` of `notice`, without waiting.
pub(crate) fn send(shared: &Arc<Shared>, session: &str, notice: Notice) {
    let Some(cluster) = shared.config.cluster.clone() else {
        let _ = shared.hub.send(notice.command(session.to_owned()));
        return;
    };
    let shared = shared.clone();
    let session = session.to_owned();
    tokio::spawn(async move {
        match route(&shared, &session).await {
            Ok(Route::Here) => {
                let _ = shared.hub.send(notice.command(session));
            }
            Ok(Route::There(url)) => {
                let url = format!("{}{}", url.trim_end_matches('/'), notice.path(&session));
                let sent = client()
                    .post(url)
                    .header(RELAY_HEADER, &cluster.secret)
                    .send()
                    .await;
                if !sent.is_ok_and(|r| r.status().is_success()) {
                    warn!("a notice could not reach the replica that runs the session");
                }
            }
            Err(e) => warn!(error = %e, "a notice could not be routed"),
        }
    });
}

/// The notice endpoints, present only with replicas.
pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/internal/hub/{session}/reload", post(reload))
        .route("/internal/hub/{session}/revoke/{jti}", post(revoke))
        .with_state(shared)
}

async fn reload(
    State(shared): State<Arc<Shared>>,
    Path(session): Path<String>,
    headers: HeaderMap,
) -> Response {
    deliver(&shared, &headers, Notice::Reload.command(session))
}

async fn revoke(
    State(shared): State<Arc<Shared>>,
    Path((session, jti)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    deliver(&shared, &headers, Notice::Revoke { jti }.command(session))
}

fn deliver(shared: &Shared, headers: &HeaderMap, command: HubCommand) -> Response {
    if !super::relay::is_relayed(shared, headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let _ = shared.hub.send(command);
    StatusCode::NO_CONTENT.into_response()
}
