//! The `seduta` binary as a child process on loopback with the demo Giunta, for the
//! fault tests that must kill it or give it a world of its own (a small disk).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use crate::api::Api;
use crate::server::SECRET;

/// The `seduta` binary next to the running test's executable (`target/<profile>/`).
pub fn seduta_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("seduta"))
        .context("no target directory")?;
    ensure!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p seduta --bin seduta)",
        bin.display()
    );
    Ok(bin)
}

/// How the child is started besides the defaults (loopback, the test secret, no TCP).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// More `seduta serve` arguments.
    pub args: Vec<String>,
    /// A shell command run first in the child's own mount namespace (`unshare -m`),
    /// e.g. mounting a small tmpfs; `None`: the binary is started directly.
    pub prepare: Option<String>,
    /// The HTTP address to listen on; `None`: a free loopback port.
    pub http_bind: Option<String>,
}

/// A `seduta serve` child process on loopback with the demo.
pub struct SedutaProcess {
    child: Child,
    /// Its REST API.
    pub api: Api,
    /// Its HTTP address (`127.0.0.1:port`).
    pub http: String,
}

impl SedutaProcess {
    /// Starts `seduta serve` on `data_dir` and waits until it listens.
    pub async fn spawn(data_dir: &Path) -> anyhow::Result<Self> {
        Self::launch(data_dir, &Launch::default()).await
    }

    /// Starts `seduta serve` on `data_dir` as `launch` says and waits until it listens.
    pub async fn launch(data_dir: &Path, launch: &Launch) -> anyhow::Result<Self> {
        let ready = data_dir.join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let bin = seduta_bin()?;
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--jwt-secret".into(),
            SECRET.into(),
            "--http-bind".into(),
            launch
                .http_bind
                .clone()
                .unwrap_or_else(|| "127.0.0.1:0".into()),
            "--udp-bind".into(),
            "127.0.0.1:0".into(),
            "--no-tcp".into(),
            "--ready-file".into(),
            ready.display().to_string(),
        ];
        args.extend(launch.args.iter().cloned());
        let mut command = match &launch.prepare {
            None => {
                let mut c = Command::new(bin);
                c.args(&args);
                c
            }
            Some(prepare) => {
                // unshare execs the shell, which execs seduta: one process, whose pid
                // is the child's, so `/proc/<pid>/root` shows its mounts.
                let mut c = Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-ec"])
                    .arg(format!("{prepare}\nexec \"$0\" \"$@\""))
                    .arg(bin)
                    .args(&args);
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting seduta serve")?;
        let mut process = Self {
            child,
            api: Api::new("127.0.0.1:1".parse()?),
            http: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&ready)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && let Some(url) = v["http_url"].as_str()
            {
                break url.to_owned();
            }
            if let Some(status) = process.child.try_wait()? {
                bail!("seduta serve exited: {status}");
            }
            ensure!(Instant::now() < deadline, "seduta serve did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let addr = url.trim_start_matches("http://").to_owned();
        process.api = Api::new(addr.parse()?);
        process.http = addr;
        Ok(process)
    }

    /// `path` as the child sees it (through its mount namespace, when it has one).
    pub fn view(&self, path: &Path) -> PathBuf {
        let relative = path.strip_prefix("/").unwrap_or(path);
        PathBuf::from(format!("/proc/{}/root", self.child.id())).join(relative)
    }

    /// The signaling WebSocket of `session`.
    pub fn ws_url(&self, session: &str) -> String {
        format!("ws://{}/ws/{session}", self.http)
    }

    /// SIGKILL: no chance to close anything.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits up to `limit` for the process to exit by itself.
    pub async fn terminate(&mut self, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
        sigterm(self.child.id())?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            ensure!(
                Instant::now() < deadline,
                "seduta serve did not stop after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn sigterm(pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("running kill")?;
    ensure!(status.success(), "SIGTERM failed: {status}");
    Ok(())
}

/// A `seduta sfu-node` child process on loopback (multi-node tests).
pub struct MediaNodeProcess {
    child: Child,
    /// The node's name.
    pub name: String,
}

impl MediaNodeProcess {
    /// Starts a media node named `name` that dials every control URL in `control`,
    /// and waits until its media socket is bound.
    pub async fn spawn(
        dir: &Path,
        name: &str,
        control: &[String],
        secret: &str,
        capacity: u64,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let ready = dir.join(format!("{name}.ready.json"));
        let _ = std::fs::remove_file(&ready);
        let mut command = Command::new(seduta_bin()?);
        command.args([
            "sfu-node",
            "--node-name",
            name,
            "--cluster-secret",
            secret,
            "--capacity",
            &capacity.to_string(),
            "--udp-bind",
            "127.0.0.1:0",
            "--no-tcp",
            "--ready-file",
            &ready.display().to_string(),
        ]);
        for url in control {
            command.args(["--control", url]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting seduta sfu-node")?;
        let mut node = Self {
            child,
            name: name.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            if let Some(status) = node.child.try_wait()? {
                bail!("seduta sfu-node exited: {status}");
            }
            ensure!(
                Instant::now() < deadline,
                "seduta sfu-node did not get ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(node)
    }

    /// SIGKILL: the node vanishes with its sessions.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM: the node drains.
    pub fn terminate(&self) -> anyhow::Result<()> {
        sigterm(self.child.id())
    }

    /// Whether the process has exited (and its status, if so).
    pub fn exited(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }
}

impl Drop for MediaNodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SedutaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo segretario's password, from the credentials the demo wrote in `data_dir`.
pub fn demo_password(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("demo-credentials.json");
    let text = std::fs::read_to_string(&path).context("demo credentials")?;
    let staff: Value = serde_json::from_str(&text)?;
    staff
        .as_array()
        .and_then(|a| a.iter().find(|s| s["username"] == "segretario"))
        .and_then(|s| s["password"].as_str())
        .map(str::to_owned)
        .context("no segretario password")
}

/// Mints an invitation for `who` of `session` as `staff`; returns its join token.
pub async fn invite(api: &Api, session: &str, staff: &str, who: &str) -> anyhow::Result<String> {
    let reply = api
        .post(
            &format!("/api/sessions/{session}/invitations"),
            Some(staff),
            &serde_json::json!({"participant_id": who}),
        )
        .await?;
    ensure!(reply.status == 201, "invitation for {who}: {reply}");
    reply.json()[0]["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token")
}

/// The demo Giunta's quorum of the fault tests: assessore-1 and assessore-2 join
/// remotely with webrtc-rs peers (440 and 660 Hz tones, VP8) and are identified on
/// camera; the sindaco and assessore-4 are checked in, in the chamber.
pub async fn two_remote_two_present(
    api: &Api,
    session: &str,
    staff: &str,
    ws_url: &str,
    media_dir: &Path,
) -> anyhow::Result<Vec<crate::peer::WebrtcPeer>> {
    let act = |action: Value| async move {
        let reply = api
            .post(
                &format!("/api/sessions/{session}/actions"),
                Some(staff),
                &action,
            )
            .await?;
        ensure!(reply.status == 200, "{action} was refused: {reply}");
        anyhow::Ok(())
    };
    std::fs::create_dir_all(media_dir)?;
    let mut peers = Vec::new();
    for (who, hz) in [("assessore-1", 440.0), ("assessore-2", 660.0)] {
        let token = invite(api, session, staff, who).await?;
        let media = crate::media::SyntheticMedia::with_tone(media_dir, hz)?;
        peers.push(crate::peer::WebrtcPeer::join(ws_url, &token, media).await?);
        act(serde_json::json!({"kind": "identify", "participant": who, "camera_on": true})).await?;
    }
    for who in ["sindaco", "assessore-4"] {
        act(serde_json::json!({"kind": "check_in", "participant": who})).await?;
    }
    Ok(peers)
}
