//! Which replica runs a session: the lease in the store, taken on the first request
//! that reaches a replica while no other holds it, and renewed while the replica
//! lives.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::warn;

use crate::Shared;
use crate::clock::now_ms;
use crate::service::HubCommand;
use crate::store::{SessionOwner, StoreError};

/// How long a lease lasts without renewal: after a replica dies, its sessions are
/// taken over within this time.
pub(crate) const LEASE: Duration = Duration::from_secs(10);

/// How often a replica renews its leases.
const RENEW_EVERY: Duration = Duration::from_secs(3);

/// Where a session's requests are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// By this replica (it holds the lease, or there are no replicas).
    Here,
    /// By the replica at this URL.
    There(String),
}

/// Where `session` is served, taking its lease when no other replica holds one.
/// A session taken here is recovered by the hub before this returns.
pub(crate) async fn route(shared: &Shared, session: &str) -> Result<Route, StoreError> {
    let Some(cluster) = &shared.config.cluster else {
        return Ok(Route::Here);
    };
    let me = SessionOwner {
        replica: cluster.replica.clone(),
        url: cluster.url.clone(),
    };
    let now = now_ms() as i64;
    let owner = shared
        .store
        .claim_session(session, &me, now, now + LEASE.as_millis() as i64)
        .await?;
    if owner.replica != me.replica {
        return Ok(Route::There(owner.url));
    }
    let (reply, done) = oneshot::channel();
    let adopt = HubCommand::Adopt {
        session: session.to_owned(),
        reply,
    };
    if shared.hub.send(adopt).is_ok() {
        let _ = done.await;
    }
    Ok(Route::Here)
}

/// Renews this replica's leases for as long as the service runs.
pub(crate) fn spawn_renewal(shared: Arc<Shared>) {
    let Some(cluster) = shared.config.cluster.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        loop {
            tick.tick().await;
            let until = now_ms() as i64 + LEASE.as_millis() as i64;
            if let Err(e) = shared.store.renew_sessions(&cluster.replica, until).await {
                warn!(error = %e, "this replica's session leases could not be renewed");
            }
        }
    });
}
