//! Multi-node on one machine (issue 6): two control-plane replicas on one PostgreSQL
//! and two `seduta sfu-node` processes, each a real process on loopback.
//!
//! One Giunta session with two remote members (webrtc-rs peers), each connected
//! through a different replica:
//! 1. both replicas see both nodes; the session is placed on one node and media flows
//!    both ways, the second member's signaling relayed to the replica that runs it;
//! 2. that node is killed (-9): the members are told `media_lost`, rejoin, and the
//!    session goes on on the other node, its recording resumed in a new run;
//! 3. the replica that runs the session is killed (-9): the members rejoin through
//!    the other replica, which takes the lease, recovers the session
//!    (`service_restarted`) and places it again; the log still verifies;
//! 4. a replica stopped with SIGTERM gives its sessions' leases up, and the other
//!    takes the session over at the members' next join;
//! 5. a node drained with SIGTERM takes no new session and stays until its session
//!    has ended, then exits by itself.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use seduta_tests::api::Api;
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::WebrtcPeer;
use seduta_tests::pg::{Engine, run_on};
use seduta_tests::process::{Launch, MediaNodeProcess, SedutaProcess, demo_password, invite};

const SECRET: &str = "multi-node-test-cluster-secret";
const METRICS: &str = "multi-node-metrics";

fn free_port() -> anyhow::Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(socket.local_addr()?.port())
}

async fn replica(
    dir: &Path,
    id: &str,
    port: u16,
    database: &str,
    demo: bool,
) -> anyhow::Result<SedutaProcess> {
    std::fs::create_dir_all(dir)?;
    let mut args: Vec<String> = [
        "--database-url",
        database,
        "--replica-id",
        id,
        "--replica-url",
        &format!("http://127.0.0.1:{port}"),
        "--cluster-secret",
        SECRET,
        "--metrics-token",
        METRICS,
        "--no-preservation",
        "--reconnect-grace-secs",
        "120",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !demo {
        args.push("--no-demo".into());
    }
    let launch = Launch {
        args,
        http_bind: Some(format!("127.0.0.1:{port}")),
        ..Launch::default()
    };
    SedutaProcess::launch(dir, &launch).await
}

/// `seduta_media_node_<what>{node="…"}` per node, from a replica's `/metrics`.
async fn node_gauge(api: &Api, what: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let reply = api.get("/metrics", Some(METRICS)).await?;
    ensure!(reply.status == 200, "metrics: {reply}");
    let prefix = format!("seduta_media_node_{what}{{node=\"");
    Ok(reply
        .body
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (node, value) = rest.split_once("\"} ")?;
            Some((node.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}

async fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) if Instant::now() >= deadline => return Err(e.context(what.to_owned())),
            Err(_) => {}
        }
        ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The node that carries the session's participants, per a replica's metrics.
async fn busy_node(api: &Api, participants: u64) -> anyhow::Result<String> {
    wait_for("the session's node", Duration::from_secs(20), async || {
        Ok(node_gauge(api, "participants")
            .await?
            .into_iter()
            .find(|(_, n)| *n >= participants)
            .map(|(node, _)| node))
    })
    .await
}

/// Waits until `peer` has received audio and video from `from`, beyond `before`.
async fn media_from(peer: &WebrtcPeer, from: &str, before: u64) -> anyhow::Result<()> {
    wait_for(
        &format!("media from {from}"),
        Duration::from_secs(30),
        async || {
            let got = peer.received().get(from).copied().unwrap_or_default();
            if got.video_packets > before + 20 && got.audio_packets > 20 {
                return Ok(Some(()));
            }
            Err(anyhow::anyhow!(
                "received {:?}, errors {:?}, offers answered {}",
                peer.received(),
                peer.error_codes(),
                peer.offers_answered()
            ))
        },
    )
    .await
}

struct Member {
    who: &'static str,
    token: String,
    media: SyntheticMedia,
}

impl Member {
    /// Joins through `ws_url`, trying again while the session changes hands.
    async fn join(&self, ws_url: &str) -> anyhow::Result<WebrtcPeer> {
        let who = self.who;
        wait_for(
            &format!("{who} joining"),
            Duration::from_secs(40),
            async || match WebrtcPeer::join(ws_url, &self.token, self.media.clone()).await {
                Ok(peer) => Ok(Some(peer)),
                Err(e) => Err(e),
            },
        )
        .await
    }
}

async fn log_kinds(api: &Api, session: &str, staff: &str) -> anyhow::Result<Vec<Value>> {
    let reply = api
        .get(&format!("/api/sessions/{session}/attendance"), Some(staff))
        .await?;
    ensure!(reply.status == 200, "attendance: {reply}");
    reply.json().as_array().cloned().context("log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_and_two_media_nodes_share_the_work_and_survive_losses() -> anyhow::Result<()>
{
    run_on(Engine::Postgres, "seduta_multinode", |env| async move {
        let database = env.database_url.context("PostgreSQL")?;
        scenario(&env.data_dir, &database).await
    })
    .await
}

async fn scenario(dir: &Path, database: &str) -> anyhow::Result<()> {
    let (p1, p2) = (free_port()?, free_port()?);
    // The recordings volume the replicas and the nodes share (one path everywhere).
    let recordings_root = dir.join("cp-1").join("recordings");
    std::fs::create_dir_all(&recordings_root)?;
    std::fs::create_dir_all(dir.join("cp-2"))?;
    std::os::unix::fs::symlink(&recordings_root, dir.join("cp-2").join("recordings"))?;
    let mut cp1 = replica(&dir.join("cp-1"), "cp-1", p1, database, true).await?;
    let cp2 = replica(&dir.join("cp-2"), "cp-2", p2, database, false).await?;
    let control = vec![
        format!("ws://127.0.0.1:{p1}/internal/sfu"),
        format!("ws://127.0.0.1:{p2}/internal/sfu"),
    ];
    let nodes_dir = dir.join("nodes");
    let mut node_a = MediaNodeProcess::spawn(&nodes_dir, "sfu-a", &control, SECRET, 50).await?;
    let mut node_b = MediaNodeProcess::spawn(&nodes_dir, "sfu-b", &control, SECRET, 50).await?;
    for cp in [&cp1, &cp2] {
        wait_for("both nodes attached", Duration::from_secs(20), async || {
            Ok((node_gauge(&cp.api, "capacity").await?.len() == 2).then_some(()))
        })
        .await?;
    }

    // The demo Giunta, seeded by the first replica into the shared database; the
    // second replica serves the staff and the REST API as well.
    let password = demo_password(&dir.join("cp-1"))?;
    let staff = seduta_tests::demo::login(&cp2.api, "segretario", &password).await?;
    let sessions = cp2.api.get("/api/sessions", Some(&staff)).await?;
    let session = sessions.json()[0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no session: {sessions}"))?;
    let media_dir = dir.join("media");
    std::fs::create_dir_all(&media_dir)?;
    let mut members = Vec::new();
    for (who, hz) in [("assessore-1", 440.0), ("assessore-2", 660.0)] {
        let token = invite(&cp2.api, &session, &staff, who).await?;
        let own = media_dir.join(who);
        std::fs::create_dir_all(&own)?;
        let media = SyntheticMedia::with_tone(&own, hz)?;
        members.push(Member { who, token, media });
    }
    let act = async |api: &Api, action: Value| -> anyhow::Result<()> {
        let reply = api
            .post(
                &format!("/api/sessions/{session}/actions"),
                Some(&staff),
                &action,
            )
            .await?;
        ensure!(reply.status == 200, "{action} was refused: {reply}");
        Ok(())
    };

    // 1. One member through each replica; actions through the second.
    let ws1 = cp1.ws_url(&session);
    let ws2 = cp2.ws_url(&session);
    let a1 = members[0].join(&ws1).await?;
    let a2 = members[1].join(&ws2).await?;
    for who in ["assessore-1", "assessore-2"] {
        act(
            &cp2.api,
            json!({"kind": "identify", "participant": who, "camera_on": true}),
        )
        .await?;
    }
    for who in ["sindaco", "assessore-4"] {
        act(&cp2.api, json!({"kind": "check_in", "participant": who})).await?;
    }
    act(&cp2.api, json!({"kind": "open_session"})).await?;
    media_from(&a1, "assessore-2", 0).await?;
    media_from(&a2, "assessore-1", 0).await?;
    let first = busy_node(&cp1.api, 2).await?;
    let placed: Vec<_> = [
        node_gauge(&cp1.api, "placed_sessions").await?,
        node_gauge(&cp2.api, "placed_sessions").await?,
    ]
    .concat()
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    ensure!(
        placed.len() == 1 && placed[0].0 == first,
        "one replica placed the session on {first}: {placed:?}"
    );
    let recordings = recordings_root.join(&session);
    eprintln!("multi-node: the session runs on {first}");

    // 2. That node dies.
    let (lost, survivor) = if first == "sfu-a" {
        (&mut node_a, &mut node_b)
    } else {
        (&mut node_b, &mut node_a)
    };
    lost.kill9()?;
    for peer in [&a1, &a2] {
        wait_for("media_lost", Duration::from_secs(20), async || {
            Ok(peer
                .error_codes()
                .iter()
                .any(|c| c == "media_lost")
                .then_some(()))
        })
        .await?;
    }
    // As a browser does on media_lost: join again, without leaving.
    a1.drop_connection().await;
    a2.drop_connection().await;
    let a1 = members[0].join(&ws1).await?;
    let a2 = members[1].join(&ws2).await?;
    media_from(&a1, "assessore-2", 0).await?;
    media_from(&a2, "assessore-1", 0).await?;
    let second = busy_node(&cp2.api, 2).await?;
    ensure!(
        second == survivor.name,
        "placed again on {}: {second}",
        survivor.name
    );
    let log = log_kinds(&cp1.api, &session, &staff).await?;
    ensure!(
        log.iter()
            .any(|e| e["kind"] == "recording_resumed" && e["data"]["reason"] == "media_node_lost"),
        "the recording went on in a new run: {log:?}"
    );

    // 3. The replica that runs the session dies; the other takes it over.
    let owner = sqlx_owner(database, &session).await?;
    eprintln!("multi-node: replica {owner} runs the session; killing it");
    let survivor_ws = if owner == "cp-1" {
        cp1.kill9()?;
        ws2.clone()
    } else {
        anyhow::bail!("the session's first request reached cp-1, which must hold it: {owner}");
    };
    a1.drop_connection().await;
    a2.drop_connection().await;
    let a1 = members[0].join(&survivor_ws).await?;
    let a2 = members[1].join(&survivor_ws).await?;
    media_from(&a1, "assessore-2", 0).await?;
    media_from(&a2, "assessore-1", 0).await?;
    ensure!(
        sqlx_owner(database, &session).await? == "cp-2",
        "cp-2 took the lease"
    );
    let log = log_kinds(&cp2.api, &session, &staff).await?;
    ensure!(
        log.iter().any(|e| e["kind"] == "service_restarted"),
        "the takeover is in the log"
    );
    let verified = cp2
        .api
        .get(
            &format!("/api/sessions/{session}/attendance?format=jsonl"),
            Some(&staff),
        )
        .await?;
    ensure!(verified.status == 200, "jsonl: {verified}");
    let entries = seduta_signaling::attendance::read_jsonl(&verified.body)
        .map_err(|e| anyhow::anyhow!("the exported log does not parse: {e:?}"))?;
    seduta_signaling::attendance::verify(&entries)
        .map_err(|e| anyhow::anyhow!("the log no longer verifies: {e:?}"))?;

    // 4. A replica stopped cleanly hands its sessions over at once: the first
    // replica comes back, the second stops with SIGTERM and gives up its lease, and
    // the members' next join through the first takes the session over.
    let cp1 = replica(&dir.join("cp-1"), "cp-1", p1, database, false).await?;
    let mut cp2 = cp2;
    wait_for("cp-1 sees the node", Duration::from_secs(20), async || {
        Ok((!node_gauge(&cp1.api, "capacity").await?.is_empty()).then_some(()))
    })
    .await?;
    let stopped = cp2.terminate(Duration::from_secs(20)).await?;
    ensure!(stopped.success(), "cp-2 stops cleanly: {stopped}");
    ensure!(
        sqlx_owner(database, &session).await.is_err(),
        "cp-2 gave the session's lease up when it stopped"
    );
    a1.drop_connection().await;
    a2.drop_connection().await;
    let ws1 = cp1.ws_url(&session);
    let a1 = members[0].join(&ws1).await?;
    let a2 = members[1].join(&ws1).await?;
    media_from(&a1, "assessore-2", 0).await?;
    media_from(&a2, "assessore-1", 0).await?;
    ensure!(
        sqlx_owner(database, &session).await? == "cp-1",
        "cp-1 took the session over"
    );
    let survivor_api = cp1.api;

    // 5. Drain the node that carries the session now: it stays while the session
    // runs, shows as draining, and leaves when the members have gone.
    let now_on = busy_node(&survivor_api, 2).await?;
    ensure!(
        now_on == survivor.name,
        "the session is on {}",
        survivor.name
    );
    survivor.terminate()?;
    wait_for("draining", Duration::from_secs(10), async || {
        Ok(node_gauge(&survivor_api, "draining")
            .await?
            .iter()
            .any(|(n, d)| *n == survivor.name && *d == 1)
            .then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure!(
        survivor.exited()?.is_none(),
        "a draining node waits for its session"
    );
    act(&survivor_api, json!({"kind": "close_session"}))
        .await
        .ok();
    a1.close().await;
    a2.close().await;
    let status = wait_for(
        "the drained node's exit",
        Duration::from_secs(30),
        async || survivor.exited(),
    )
    .await?;
    ensure!(status.success(), "the drained node exits cleanly: {status}");

    // Every run's files are on the shared volume: the first node's (killed), the
    // second's (stopped when the replica that drove it died) and the one after the
    // takeover; each mix decodes without an error.
    let mixes = recordings_with_media(&recordings)?;
    ensure!(
        mixes.len() >= 3,
        "a mix per run in {}: {mixes:?}",
        recordings.display()
    );
    for mix in &mixes {
        seduta_tests::media::decodes_cleanly(mix)?;
    }
    Ok(())
}

/// The replica that holds the session's lease.
async fn sqlx_owner(database: &str, session: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database).await?;
    let (owner,): (String,) =
        sqlx::query_as("SELECT replica FROM session_owners WHERE session_id = $1")
            .bind(session)
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    Ok(owner)
}

/// The mix files (one per run) in a session's recordings folder.
fn recordings_with_media(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut mixes = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("mix") && name.ends_with(".webm") {
            mixes.push(path);
        }
    }
    Ok(mixes)
}

/// What a stranger can do to a replica's cluster endpoints: nothing. A media node
/// without the secret is refused; a channel that does not introduce itself, or that
/// sends garbage after its hello, attaches nothing and breaks nothing; the notice
/// endpoints and the relay trust only the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_endpoints_refuse_strangers() -> anyhow::Result<()> {
    run_on(Engine::Postgres, "seduta_cluster_bad", |env| async move {
        let database = env.database_url.context("PostgreSQL")?;
        strangers(&env.data_dir, &database).await
    })
    .await
}

async fn strangers(dir: &Path, database: &str) -> anyhow::Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let port = free_port()?;
    let cp = replica(&dir.join("cp"), "cp-1", port, database, false).await?;
    let url = format!("ws://127.0.0.1:{port}/internal/sfu");
    let dial = |secret: Option<&str>| {
        let mut request = url.as_str().into_client_request();
        if let (Ok(request), Some(secret)) = (request.as_mut(), secret)
            && let Ok(value) = format!("Bearer {secret}").parse()
        {
            request.headers_mut().insert("authorization", value);
        }
        async move { tokio_tungstenite::connect_async(request?).await }
    };
    let nodes = async || -> anyhow::Result<Option<u64>> {
        let reply = cp.api.get("/metrics", Some(METRICS)).await?;
        Ok(reply
            .body
            .lines()
            .find_map(|l| l.strip_prefix("seduta_media_nodes "))
            .and_then(|v| v.trim().parse().ok()))
    };

    // No secret, a wrong one: 401 before any upgrade.
    for secret in [None, Some("not-the-cluster-secret")] {
        match dial(secret).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(refused)) => {
                ensure!(refused.status() == 401, "refused with {}", refused.status())
            }
            Err(e) => anyhow::bail!("unexpected failure: {e}"),
            Ok(_) => anyhow::bail!("a channel without the secret was accepted"),
        }
    }
    // The secret, then garbage instead of a hello: nothing attaches.
    let (mut ws, _) = dial(Some(SECRET)).await?;
    for junk in [
        "",
        "{",
        "[1,2,3]",
        "{\"type\":\"status\"}",
        &"x".repeat(64 * 1024),
    ] {
        // The replica hangs up at the first message that is not a hello, so a later
        // send may find the socket closed.
        if ws.send(Message::text(junk)).await.is_err() {
            break;
        }
    }
    let end = tokio::time::timeout(Duration::from_secs(15), ws.next()).await;
    ensure!(
        matches!(end, Ok(None | Some(Ok(Message::Close(_))) | Some(Err(_)))),
        "the channel without a hello is closed: {end:?}"
    );
    ensure!(nodes().await? == Some(0), "no node attached");

    // A proper hello, then garbage and a reply to nothing: still attached, and the
    // replica still answers.
    let (mut ws, _) = dial(Some(SECRET)).await?;
    let hello = json!({"type": "hello", "node": "odd", "capacity": 5,
        "status": {"rooms": 0, "participants": 0, "draining": false}});
    ws.send(Message::text(hello.to_string())).await?;
    for junk in [
        "garbage".to_owned(),
        json!({"type": "reply", "id": 999_999, "result": {"Ok": {"response": "done"}}}).to_string(),
        json!({"type": "event", "event": {"event": "explode"}}).to_string(),
        json!({"type": "hello", "node": "odd-again", "capacity": 1,
            "status": {"rooms": 0, "participants": 0, "draining": false}})
        .to_string(),
    ] {
        ws.send(Message::text(junk)).await?;
    }
    wait_for("the node attached", Duration::from_secs(10), async || {
        Ok((nodes().await? == Some(1)).then_some(()))
    })
    .await?;
    let ready = cp.api.get("/readyz", None).await?;
    ensure!(ready.status == 200, "readyz: {ready}");
    drop(ws);
    wait_for("the node gone", Duration::from_secs(10), async || {
        Ok((nodes().await? == Some(0)).then_some(()))
    })
    .await?;

    // The notice endpoints exist only for replicas holding the secret.
    for header in [None, Some("wrong")] {
        let status = post_status(port, "/internal/hub/s-1/reload", header).await?;
        ensure!(status == 404, "a notice from a stranger: {status}");
    }
    // A forged relay header does not skip the origin check.
    let mut request = format!("ws://127.0.0.1:{port}/ws/s-1").into_client_request()?;
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    request
        .headers_mut()
        .insert("x-seduta-relay", "forged-secret-of-some-length".parse()?);
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(refused)) => {
            ensure!(refused.status() == 403, "refused with {}", refused.status())
        }
        other => anyhow::bail!("a foreign page with a forged relay header: {other:?}"),
    }
    Ok(())
}

/// `POST path` on the replica with an optional relay header; returns the status.
async fn post_status(port: u16, path: &str, relay: Option<&str>) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let header = relay
        .map(|v| format!("x-seduta-relay: {v}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{header}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await??;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {text}"))
}
