//! `seduta sfu-node`: a media node of a multi-node deployment. It binds the media
//! sockets, dials every control-plane replica's `/internal/sfu` and carries the
//! sessions placed on it; SIGTERM or Ctrl-C starts a drain (docs/deployment.md).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use seduta_sfu::cluster::{NodeConfig, run_node};
use seduta_sfu::{Sfu, SfuConfig};

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The control channel of every control-plane replica
    /// (`ws://control-0.seduta:8080/internal/sfu`); repeatable.
    #[arg(
        long = "control",
        env = "SEDUTA_CONTROL_URLS",
        value_delimiter = ',',
        required = true
    )]
    control: Vec<String>,
    /// The secret shared with the control plane.
    #[arg(long, env = "SEDUTA_CLUSTER_SECRET", hide_env_values = true)]
    cluster_secret: String,
    /// This node's unique name (default: the host name).
    #[arg(long, env = "SEDUTA_NODE_NAME")]
    node_name: Option<String>,
    /// Participants this node takes at most.
    #[arg(long, env = "SEDUTA_NODE_CAPACITY", default_value_t = 300)]
    capacity: u64,
    /// UDP address shared by every media peer.
    #[arg(long, env = "SEDUTA_UDP_BIND", default_value = "0.0.0.0:50000")]
    udp_bind: SocketAddr,
    /// ICE-TCP (fallback) listen address.
    #[arg(long, env = "SEDUTA_TCP_BIND", default_value = "0.0.0.0:50001")]
    tcp_bind: SocketAddr,
    /// Disable the ICE-TCP fallback.
    #[arg(long)]
    no_tcp: bool,
    /// Address to advertise to browsers (1:1 NAT); repeatable.
    #[arg(
        long = "advertise-ip",
        env = "SEDUTA_ADVERTISE_IPS",
        value_delimiter = ','
    )]
    advertise_ips: Vec<IpAddr>,
    /// Do not offer H.264.
    #[arg(long)]
    no_h264: bool,
    /// Seconds a drain waits for the node's sessions to end before leaving anyway
    /// (they are then placed again on other nodes).
    #[arg(long, env = "SEDUTA_DRAIN_TIMEOUT_SECS", default_value_t = 4 * 3600)]
    drain_timeout_secs: u64,
    /// Log JSON lines.
    #[arg(long, env = "SEDUTA_LOG_JSON")]
    pub log_json: bool,
    /// Write the bound media addresses as JSON to this file once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

/// Runs the node until a signal has started a drain and the drain has ended.
pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let name = match &args.node_name {
        Some(name) => name.clone(),
        None => std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .context("set --node-name (no HOSTNAME to default to)")?,
    };
    if args.cluster_secret.len() < 16 {
        anyhow::bail!("--cluster-secret must have at least 16 characters");
    }
    let (sfu, events) = Sfu::start(SfuConfig {
        udp_bind: args.udp_bind,
        tcp_bind: (!args.no_tcp).then_some(args.tcp_bind),
        advertised_ips: args.advertise_ips.clone(),
        enable_h264: !args.no_h264,
    })
    .await
    .context("starting the media plane")?;
    let udp = sfu.udp_addr();
    let tcp = sfu.tcp_addr();
    println!(
        "Nodo media {name} / media node {name}: UDP {}",
        udp.map(|a| a.to_string()).unwrap_or_default()
    );
    if let Some(path) = &args.ready_file {
        let ready = serde_json::json!({
            "udp_addr": udp.map(|a| a.to_string()),
            "tcp_addr": tcp.map(|a| a.to_string()),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    let config = NodeConfig {
        name,
        control: args.control.clone(),
        secret: args.cluster_secret.clone(),
        capacity: args.capacity,
        drain_timeout: Duration::from_secs(args.drain_timeout_secs),
    };
    run_node(config, sfu, events, shutdown_signal())
        .await
        .context("running the media node")?;
    Ok(())
}

/// SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
