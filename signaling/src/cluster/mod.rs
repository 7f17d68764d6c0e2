//! Multi-node: control-plane replicas on one PostgreSQL, and media nodes in their
//! own processes.
//!
//! - A session is run by one replica at a time, the holder of its lease in the store
//!   (`leases`). Any replica takes any request: one for a session held elsewhere is
//!   relayed to its holder (`relay`: the WebSocket frame by frame, REST and WHIP
//!   requests whole); a lapsed lease is taken by the replica that the next request
//!   reaches, which recovers the session from the store as after a restart.
//! - Media nodes dial every replica's `/internal/sfu` (`nodes`); each replica places
//!   the sessions it runs on the node with the most room
//!   ([`seduta_sfu::cluster::Router`]).
//! - `notify`: the hub notices that REST handlers send (an invitation revoked, a
//!   session's definition changed), delivered to the replica that runs the session.
//!
//! The replicas, the nodes and the relay trust each other through one shared secret.

use std::sync::Arc;

use seduta_sfu::cluster::Router;

pub(crate) mod leases;
pub(crate) mod nodes;
pub(crate) mod notify;
pub(crate) mod relay;

/// This replica's place among the others.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The replica's unique id (a pod name).
    pub replica: String,
    /// Where the other replicas reach this one (`http://10.0.0.7:8080`).
    pub url: String,
    /// The secret shared by the replicas and the media nodes: media nodes present it
    /// on their control channel, replicas on relayed requests.
    pub secret: String,
    /// The media nodes attached to this replica and the sessions placed on them.
    pub router: Arc<Router>,
}

/// Whether `presented` is the cluster secret, compared in constant time.
pub(crate) fn secret_matches(settings: &ClusterSettings, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    !settings.secret.is_empty()
        && bool::from(settings.secret.as_bytes().ct_eq(presented.as_bytes()))
}
