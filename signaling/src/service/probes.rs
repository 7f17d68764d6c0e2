//! What operators' tools ask: `GET /livez` (the process answers), `GET /readyz` (the
//! hub answers and the database takes writes: send traffic here) and `GET /metrics`
//! (Prometheus, with the configured bearer token).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;
use tracing::warn;

use super::HubCommand;
use crate::Shared;
use crate::metrics::{Extras, HubStats, render};

/// How long a probe waits for the hub or the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the database check waits for a write lock another process holds.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(1);

/// `GET /livez`.
pub async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the hub answers and the database would take a write,
/// 503 otherwise (within about `PROBE_TIMEOUT`). A database another process holds
/// locked still answers reads, yet every change would wait and fail: not ready.
pub async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    // The check runs on its own task: should it outlast the probe, it still ends
    // normally (its connection goes back to the pool outside any transaction).
    let store = shared.store.clone();
    let writable = tokio::spawn(async move { store.check_writable(WRITE_LOCK_WAIT).await });
    let (hub, db) = tokio::join!(
        hub_stats(&shared),
        tokio::time::timeout(PROBE_TIMEOUT, writable)
    );
    let hub = hub.is_some();
    let db = match db {
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(e))) => {
            warn!(code = e.code(), error = %e, "readiness: the database cannot be written");
            false
        }
        Ok(Err(_)) | Err(_) => false,
    };
    if hub && db {
        return (StatusCode::OK, "ready").into_response();
    }
    let what = match (hub, db) {
        (false, false) => "not ready: hub, database",
        (false, true) => "not ready: hub",
        _ => "not ready: database",
    };
    (StatusCode::SERVICE_UNAVAILABLE, what).into_response()
}

/// `GET /metrics`: the text exposition, for a request with the scraper's token.
pub async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = shared.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let Some(stats) = hub_stats(&shared).await else {
        warn!("the hub did not answer a metrics scrape");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let extras = extras(&shared).await;
    let body = render(
        &shared.metrics,
        &stats,
        &seduta_sfu::Traffic::now(),
        &extras,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The media plane's gauges and the outbox's backlog, asked for together; each
/// within the probe timeout, or left out.
async fn extras(shared: &Shared) -> Extras {
    let media = async {
        match tokio::time::timeout(PROBE_TIMEOUT, shared.sfu.media_gauges()).await {
            Ok(Ok(media)) => Some(media),
            _ => {
                warn!("the media plane did not answer a metrics scrape");
                None
            }
        }
    };
    let outbox = async {
        let outbox = shared.config.packages.as_ref()?.outbox()?;
        match tokio::time::timeout(PROBE_TIMEOUT, outbox.backlog()).await {
            Ok(Ok(backlog)) => Some(backlog),
            Ok(Err(e)) => {
                warn!(code = e.code(), "the delivery backlog could not be read");
                None
            }
            Err(_) => {
                warn!("the delivery backlog was not read in time");
                None
            }
        }
    };
    let (media, outbox) = tokio::join!(media, outbox);
    let nodes = shared.config.cluster.as_ref().map(|c| c.router.nodes());
    Extras {
        media,
        outbox,
        nodes,
    }
}

async fn hub_stats(shared: &Shared) -> Option<HubStats> {
    let (reply, answer) = oneshot::channel();
    shared.hub.send(HubCommand::Stats { reply }).ok()?;
    tokio::time::timeout(PROBE_TIMEOUT, answer).await.ok()?.ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
