//! The server under test, in this process but on a thread of its own: a
//! single-threaded tokio runtime runs the whole of `seduta serve` (media loop,
//! signaling, HTTP), so that thread's CPU time is the server's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use seduta::config::Config;
use seduta_signaling::auth::{Role, TokenIssuer};
use tokio::sync::oneshot;

use crate::sys::ThreadId;

/// A running in-process server.
pub struct ServerThread {
    /// Where HTTP and WebSocket listen (loopback).
    pub http_addr: SocketAddr,
    /// The media UDP address (loopback).
    pub udp_addr: SocketAddr,
    /// The thread that runs it.
    pub tid: ThreadId,
    issuer: TokenIssuer,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    data_dir: PathBuf,
}

struct Started {
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    tid: ThreadId,
    issuer: TokenIssuer,
}

impl ServerThread {
    /// Starts a server on 127.0.0.1 (ephemeral ports, no ICE-TCP, no demo, a fresh
    /// data directory) and waits until it listens.
    pub fn start() -> anyhow::Result<Self> {
        let data_dir = std::env::temp_dir().join(format!("seduta-loadtest-{}", std::process::id()));
        let secret = format!("loadtest-{:032x}", random_u128());
        let config = Config {
            http_bind: "127.0.0.1:0".parse()?,
            udp_bind: "127.0.0.1:0".parse()?,
            tcp_bind: None,
            data_dir: data_dir.clone(),
            jwt_secret: Some(secret),
            demo: false,
            // Every synthetic participant connects from 127.0.0.1: the per-address
            // limits (meant for one town hall's NAT) would refuse most of them.
            per_ip_websockets: 10_000,
            per_ip_requests_per_second: 100_000,
            per_ip_request_burst: 100_000,
            ..Config::default()
        };
        let (started_tx, started_rx) = std::sync::mpsc::channel::<anyhow::Result<Started>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("seduta-server".into())
            .spawn(move || {
                crate::alloc::mark_server_thread();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = started_tx.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = async {
                        let tid = ThreadId::current()?;
                        let server = seduta::server::start(config).await?;
                        let issuer = server
                            .issuer()
                            .cloned()
                            .ok_or_else(|| anyhow!("the server holds no token secret"))?;
                        let udp_addr = server
                            .udp_addr
                            .ok_or_else(|| anyhow!("the server runs no media plane of its own"))?;
                        anyhow::Ok((server, tid, issuer, udp_addr))
                    }
                    .await;
                    match started {
                        Ok((server, tid, issuer, udp_addr)) => {
                            let _ = started_tx.send(Ok(Started {
                                http_addr: server.http_addr,
                                udp_addr,
                                tid,
                                issuer,
                            }));
                            let _ = stop_rx.await;
                            server.shutdown().await;
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let started = started_rx
            .recv_timeout(Duration::from_secs(30))
            .context("the server did not start within 30 s")??;
        Ok(Self {
            http_addr: started.http_addr,
            udp_addr: started.udp_addr,
            tid: started.tid,
            issuer: started.issuer,
            stop: Some(stop_tx),
            thread: Some(thread),
            data_dir,
        })
    }

    /// A join token for participant `sub` of the ad-hoc session `session` (not a
    /// stored session: a plain call, no lobby).
    pub fn token(&self, session: &str, sub: &str) -> anyhow::Result<String> {
        Ok(self
            .issuer
            .mint(sub, session, Role::Member, sub, Duration::from_secs(3600))?)
    }

    /// The WebSocket URL of `session`.
    pub fn ws_url(&self, session: &str) -> String {
        format!("ws://{}/ws/{session}", self.http_addr)
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// 128 random bits from the standard library's randomly seeded hasher.
pub(crate) fn random_u128() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    let a = RandomState::new().hash_one(std::time::Instant::now());
    let b = RandomState::new().hash_one(std::process::id());
    (u128::from(a) << 64) | u128::from(b)
}
