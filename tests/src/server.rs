//! Starting a real Seduta server in-process on loopback, with a known token secret.

use std::time::Duration;

use seduta::config::Config;
use seduta::server::{self, Server};
use seduta_signaling::auth::Role;

/// The secret test servers sign tokens with.
pub const SECRET: &str = "integration-test-secret-0123456789";

/// A server on 127.0.0.1 with ephemeral ports and no demo.
pub async fn start() -> anyhow::Result<Server> {
    start_with(|_| {}).await
}

/// Like [`start`], with the configuration adjusted by `adjust`.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Server> {
    // One data directory (and SQLite database) per server, even within one process.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data_dir = std::env::temp_dir().join(format!("seduta-it-{}-{n}", std::process::id()));
    let mut config = Config {
        http_bind: "127.0.0.1:0".parse()?,
        udp_bind: "127.0.0.1:0".parse()?,
        tcp_bind: Some("127.0.0.1:0".parse()?),
        data_dir,
        jwt_secret: Some(SECRET.to_owned()),
        demo: false,
        ..Config::default()
    };
    adjust(&mut config);
    server::start(config).await
}

/// A join token for `sub` in `session`.
pub fn token(server: &Server, session: &str, sub: &str, role: Role) -> anyhow::Result<String> {
    let issuer = server
        .issuer()
        .ok_or_else(|| anyhow::anyhow!("server has no issuer"))?;
    Ok(issuer.mint(sub, session, role, sub, Duration::from_secs(600))?)
}

/// The WebSocket URL of `session`.
pub fn ws_url(server: &Server, session: &str) -> String {
    format!("ws://{}/ws/{session}", server.http_addr)
}

/// Two webrtc-rs peers, `a` (a member) and `b` (the presiding member), joined to
/// `session` and publishing synthetic media encoded into `dir`.
pub async fn two_peers(
    server: &Server,
    session: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(crate::peer::WebrtcPeer, crate::peer::WebrtcPeer)> {
    use crate::media::SyntheticMedia;
    use crate::peer::WebrtcPeer;
    std::fs::create_dir_all(dir)?;
    let media = SyntheticMedia::generate(dir)?;
    let url = ws_url(server, session);
    let a = WebrtcPeer::join(
        &url,
        &token(server, session, "a", Role::Member)?,
        media.clone(),
    )
    .await?;
    let b = WebrtcPeer::join(&url, &token(server, session, "b", Role::Presiding)?, media).await?;
    Ok((a, b))
}
