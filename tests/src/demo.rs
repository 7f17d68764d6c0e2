//! A real server with the demo Giunta (`seduta::demo`) and its segretario logged in
//! over REST: what the recording, lip-sync, package and fault tests drive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use seduta::config::Config;
use seduta::server::Server;
use serde_json::{Value, json};

use crate::api::{Api, Reply};
use crate::server::SECRET;

/// A server seeded with the demo Giunta, its convened session and a staff login.
pub struct DemoSeduta {
    /// The server, in this process.
    pub server: Server,
    /// Its REST API.
    pub api: Api,
    /// The demo session's id.
    pub session: String,
    /// The segretario's staff token.
    pub staff: String,
    /// The server's data directory.
    pub data_dir: PathBuf,
}

impl DemoSeduta {
    /// Starts a server on loopback with its data in `data_dir` (emptied first), the
    /// configuration adjusted by `adjust`, seeds the demo and logs the segretario in.
    pub async fn start(data_dir: &Path, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let _ = std::fs::remove_dir_all(data_dir);
        std::fs::create_dir_all(data_dir)?;
        let mut config = Config {
            http_bind: "127.0.0.1:0".parse()?,
            udp_bind: "127.0.0.1:0".parse()?,
            tcp_bind: None,
            data_dir: data_dir.to_path_buf(),
            jwt_secret: Some(SECRET.to_owned()),
            demo: true,
            ..Config::default()
        };
        adjust(&mut config);
        let server = seduta::server::start(config).await?;
        let issuer = server.issuer().context("no token issuer")?;
        let demo = seduta::demo::seed(server.store(), issuer, &server.local_url(), data_dir)
            .await
            .context("seeding the demo")?;
        let api = Api::new(server.http_addr);
        let password = demo
            .staff
            .iter()
            .find(|s| s.username == "segretario")
            .map(|s| s.password.clone())
            .context("no segretario")?;
        let staff = login(&api, "segretario", &password).await?;
        Ok(Self {
            server,
            api,
            session: demo.session,
            staff,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The session's WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/{}", self.server.http_addr, self.session)
    }

    /// The session's recording folder.
    pub fn folder(&self) -> PathBuf {
        self.data_dir.join("recordings").join(&self.session)
    }

    /// A meeting action by the segretario, whatever the answer.
    pub async fn try_act(&self, action: &Value) -> anyhow::Result<Reply> {
        self.api
            .post(
                &format!("/api/sessions/{}/actions", self.session),
                Some(&self.staff),
                action,
            )
            .await
    }

    /// A meeting action by the segretario that must succeed; the state after it.
    pub async fn act(&self, action: Value) -> anyhow::Result<Value> {
        let reply = self.try_act(&action).await?;
        ensure!(reply.status == 200, "{action} was refused: {reply}");
        Ok(reply.json())
    }

    /// A fresh invitation token for participant `who`.
    pub async fn invite(&self, who: &str) -> anyhow::Result<String> {
        crate::process::invite(&self.api, &self.session, &self.staff, who).await
    }

    /// Stops the server, closes the store and removes the data directory.
    pub async fn stop(self) {
        let store = self.server.store().clone();
        self.server.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), store.close()).await;
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Logs staff account `username` in; its token.
pub async fn login(api: &Api, username: &str, password: &str) -> anyhow::Result<String> {
    let reply = api
        .post(
            "/api/auth/login",
            None,
            &json!({"username": username, "password": password}),
        )
        .await?;
    ensure!(reply.status == 200, "login: {reply}");
    reply.json()["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the login answer")
}
