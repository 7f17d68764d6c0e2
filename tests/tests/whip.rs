//! WHIP ingest (RFC 9725): the chamber publishes from an encoder over plain HTTP,
//! first a webrtc-rs peer speaking WHIP, then Meetecho's GStreamer `whip-client`
//! (Debian's `simple-whip-client`), and the session's other participants see and
//! hear it. Bad requests are refused with stable codes and change nothing.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use seduta::server::Server;
use seduta_sfu::RoomId;
use seduta_signaling::auth::Role;
use seduta_tests::http::{Response, request};
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::{Received, WebrtcPeer, WhipPublisher};
use seduta_tests::server;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
}

fn temp_dir(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("seduta-whip-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Waits until `check` holds, polling; fails with `what` after `within`.
async fn wait_for(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn from(r: &HashMap<String, Received>, publisher: &str) -> Received {
    r.get(publisher).copied().unwrap_or_default()
}

fn flowing_since(
    now: &HashMap<String, Received>,
    before: &HashMap<String, Received>,
    publisher: &str,
) -> bool {
    let (n, b) = (from(now, publisher), from(before, publisher));
    n.audio_packets > b.audio_packets + 20 && n.video_packets > b.video_packets + 20
}

/// A participant on a raw WebSocket that records every message it gets and pings
/// to stay alive.
struct Observer {
    seen: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Observer {
    async fn join(srv: &Server, session: &str, sub: &str) -> anyhow::Result<Self> {
        let token = server::token(srv, session, sub, Role::Member)?;
        let (ws, _) = tokio_tungstenite::connect_async(server::ws_url(srv, session)).await?;
        let (mut sink, mut stream) = ws.split();
        sink.send(Message::text(
            json!({"type": "join", "token": token}).to_string(),
        ))
        .await?;
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            let mut ping = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    frame = stream.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                                log.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    _ = ping.tick() => {
                        let ping = json!({"type": "ping", "ts": 1}).to_string();
                        if sink.send(Message::text(ping)).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let observer = Self { seen, task };
        wait_for(Duration::from_secs(10), "the observer's joined", || {
            observer.count(|v| v["type"] == "joined") > 0
        })
        .await;
        Ok(observer)
    }

    fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|v| pred(v))
            .count()
    }

    fn saw_join_of(&self, id: &str) -> bool {
        self.count(|v| v["type"] == "participant_joined" && v["participant"]["id"] == id) > 0
    }

    fn saw_leave_of(&self, id: &str) -> bool {
        self.count(|v| v["type"] == "participant_left" && v["participant_id"] == id) > 0
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Tracks currently published in `session`, as `publisher/mid`.
async fn tracks(srv: &Server, session: &str) -> anyhow::Result<Vec<String>> {
    Ok(srv
        .sfu()
        .tracks(RoomId(session.to_owned()))
        .await?
        .into_iter()
        .map(|t| t.id.0)
        .collect())
}

async fn post_offer(
    srv: &Server,
    session: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<Response> {
    request(
        srv.http_addr,
        "POST",
        &format!("/whip/{session}"),
        headers,
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_publisher_is_seen_and_heard_then_deleted() -> anyhow::Result<()> {
    init_logs();
    let session = "whip-rs";
    let srv = server::start().await?;
    let dir = temp_dir("rs")?;
    let media = SyntheticMedia::generate(&dir)?;
    let member = WebrtcPeer::join(
        &server::ws_url(&srv, session),
        &server::token(&srv, session, "member", Role::Member)?,
        media.clone(),
    )
    .await?;
    let observer = Observer::join(&srv, session, "observer").await?;

    let token = server::token(&srv, session, "chamber", Role::Room)?;
    let chamber = WhipPublisher::publish(srv.http_addr, session, &token, media).await?;
    assert!(
        chamber.location.starts_with(&format!("/whip/{session}/")),
        "Location {}",
        chamber.location
    );
    assert!(chamber.etag.is_some(), "no ETag");

    let before = member.received();
    wait_for(
        Duration::from_secs(30),
        "the chamber's media at the member",
        || flowing_since(&member.received(), &before, "chamber"),
    )
    .await;
    assert!(observer.saw_join_of("chamber"));

    // No trickle ICE or ICE restart; OPTIONS tells what may be posted; no CORS.
    let auth = format!("Bearer {token}");
    let patch = request(
        srv.http_addr,
        "PATCH",
        &chamber.location,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/trickle-ice-sdpfrag"),
        ],
        b"a=end-of-candidates\r\n",
    )
    .await?;
    assert_eq!(patch.status, 405, "PATCH: {patch:?}");
    let options = request(
        srv.http_addr,
        "OPTIONS",
        &format!("/whip/{session}"),
        &[("Origin", "https://elsewhere.example")],
        b"",
    )
    .await?;
    assert_eq!(options.status, 204, "OPTIONS: {options:?}");
    assert_eq!(options.header("accept-post"), Some("application/sdp"));
    assert!(options.header("access-control-allow-origin").is_none());

    // DELETE ends it: the chamber leaves and its tracks are gone.
    let location = chamber.location.clone();
    let deleted = chamber.delete(srv.http_addr, &token).await?;
    assert_eq!(deleted.status, 200, "DELETE: {deleted:?}");
    wait_for(Duration::from_secs(10), "the chamber's leave", || {
        observer.saw_leave_of("chamber")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracks(&srv, session)
        .await?
        .iter()
        .any(|t| t.starts_with("chamber/"))
    {
        assert!(Instant::now() < deadline, "the chamber's tracks stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = request(
        srv.http_addr,
        "DELETE",
        &location,
        &[("Authorization", auth.as_str())],
        b"",
    )
    .await?;
    assert_eq!(again.status, 404, "second DELETE: {again:?}");

    member.close().await;
    drop(observer);
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_bad_requests_are_refused_and_change_nothing() -> anyhow::Result<()> {
    init_logs();
    let session = "whip-bad";
    let srv = server::start().await?;
    let dir = temp_dir("bad")?;
    let (a, b) = server::two_peers(&srv, session, &dir).await?;
    let observer = Observer::join(&srv, session, "observer").await?;
    let t0 = (a.received(), b.received());
    wait_for(Duration::from_secs(30), "media between a and b", || {
        flowing_since(&a.received(), &t0.0, "b") && flowing_since(&b.received(), &t0.1, "a")
    })
    .await;
    let before_tracks = tracks(&srv, session).await?;

    let room = format!(
        "Bearer {}",
        server::token(&srv, session, "chamber", Role::Room)?
    );
    let member = format!(
        "Bearer {}",
        server::token(&srv, session, "m2", Role::Member)?
    );
    let foreign = format!(
        "Bearer {}",
        server::token(&srv, "another-session", "chamber", Role::Room)?
    );
    let sdp = ("Content-Type", "application/sdp");
    let offer =
        b"v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

    let r = post_offer(&srv, session, &[sdp], offer).await?;
    assert_eq!(r.status, 401, "no token: {r:?}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(r.body, "token_missing");

    let r = post_offer(
        &srv,
        session,
        &[("Authorization", "Bearer x.y.z"), sdp],
        offer,
    )
    .await?;
    assert_eq!(r.status, 401, "garbage token: {r:?}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let r = post_offer(
        &srv,
        session,
        &[("Authorization", foreign.as_str()), sdp],
        offer,
    )
    .await?;
    assert_eq!(r.status, 401, "another session's token: {r:?}");

    let r = post_offer(
        &srv,
        session,
        &[("Authorization", member.as_str()), sdp],
        offer,
    )
    .await?;
    assert_eq!(r.status, 403, "member token: {r:?}");

    let r = post_offer(
        &srv,
        session,
        &[
            ("Authorization", room.as_str()),
            ("Content-Type", "text/plain"),
        ],
        offer,
    )
    .await?;
    assert_eq!(r.status, 415, "wrong content type: {r:?}");
    let r = post_offer(&srv, session, &[("Authorization", room.as_str())], offer).await?;
    assert_eq!(r.status, 415, "no content type: {r:?}");

    for garbage in [&b"hello"[..], &offer[..], &[0xff, 0xfe, 0x00][..], b""] {
        let r = post_offer(
            &srv,
            session,
            &[("Authorization", room.as_str()), sdp],
            garbage,
        )
        .await?;
        assert_eq!(r.status, 400, "garbage SDP {garbage:?}: {r:?}");
        assert_eq!(r.body, "invalid_sdp");
    }

    let huge = vec![b'a'; 100 * 1024];
    let r = post_offer(
        &srv,
        session,
        &[("Authorization", room.as_str()), sdp],
        &huge,
    )
    .await?;
    assert_eq!(r.status, 413, "huge body: {r:?}");

    let r = request(
        srv.http_addr,
        "DELETE",
        &format!("/whip/{session}/0123456789abcdef0123456789abcdef"),
        &[("Authorization", room.as_str())],
        b"",
    )
    .await?;
    assert_eq!(r.status, 404, "unknown resource: {r:?}");
    let r = request(
        srv.http_addr,
        "DELETE",
        &format!("/whip/{session}/0123456789abcdef0123456789abcdef"),
        &[],
        b"",
    )
    .await?;
    assert_eq!(r.status, 401, "DELETE without a token: {r:?}");

    // Nothing changed for the participants: no one joined, media still flows.
    let t1 = (a.received(), b.received());
    wait_for(Duration::from_secs(20), "media still flowing", || {
        flowing_since(&a.received(), &t1.0, "b") && flowing_since(&b.received(), &t1.1, "a")
    })
    .await;
    assert!(!observer.saw_join_of("chamber"), "a refused request joined");
    assert_eq!(tracks(&srv, session).await?, before_tracks);

    a.close().await;
    b.close().await;
    drop(observer);
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The GStreamer WHIP client, with a test pattern and a tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_whip_client_is_seen_and_heard() -> anyhow::Result<()> {
    init_logs();
    let Some(binary) = find_binary("whip-client") else {
        panic!(
            "\n\n*** whip-client is not installed: this test cannot run. ***\n\
             Install Debian's simple-whip-client (scripts/test does: apt-get install \
             simple-whip-client gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
             gstreamer1.0-nice).\n\n"
        );
    };
    // libnice skips interfaces flagged as loopback, so inside the test's network
    // namespace (only `lo`) it would gather no candidate at all. A veth pair holding
    // 127.0.0.2 gives it a loopback-range address on a non-loopback interface; it
    // exists only in this private namespace and is removed at the end.
    let _iface = LoopbackAlias::add()?;

    let session = "whip-gst";
    let srv = server::start().await?;
    let dir = temp_dir("gst")?;
    let media = SyntheticMedia::generate(&dir)?;
    let member = WebrtcPeer::join(
        &server::ws_url(&srv, session),
        &server::token(&srv, session, "member", Role::Member)?,
        media,
    )
    .await?;
    let token = server::token(&srv, session, "chamber", Role::Room)?;
    let url = format!("http://{}/whip/{session}", srv.http_addr);
    let log_path = dir.join("whip-client.log");
    let log = std::fs::File::create(&log_path)?;
    let mut client = tokio::process::Command::new(binary)
        .args(["-u", &url, "-t", &token, "-n", "-l", "4", "-o"])
        .args([
            "-A",
            "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! queue ! \
             opusenc ! rtpopuspay pt=111 ! queue ! \
             application/x-rtp,media=audio,encoding-name=OPUS,payload=111",
        ])
        .args([
            "-V",
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240 ! \
             videoconvert ! queue ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! queue ! \
             application/x-rtp,media=video,encoding-name=VP8,payload=96",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;

    let before = member.received();
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut ok = false;
    while Instant::now() < deadline {
        if flowing_since(&member.received(), &before, "chamber") {
            ok = true;
            break;
        }
        if let Some(status) = client.try_wait()? {
            eprintln!("whip-client exited early with {status}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let published = tracks(&srv, session).await?;
    let _ = client.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.wait()).await;
    if !ok {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!(
            "the member did not receive the GStreamer client's audio and video: \
             received {:?}, tracks {published:?}\n--- whip-client log ---\n{log}",
            member.received()
        );
    }
    assert!(published.iter().any(|t| t.starts_with("chamber/")));

    member.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn find_binary(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A veth pair carrying 127.0.0.2, added only when the network namespace is the
/// test's own (nothing but `lo`), removed on drop.
struct LoopbackAlias {
    added: bool,
}

const ALIAS_IFACE: &str = "sedutawhip0";

impl LoopbackAlias {
    fn add() -> anyhow::Result<Self> {
        let interfaces: Vec<String> = std::fs::read_dir("/sys/class/net")?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if interfaces.iter().any(|i| i == ALIAS_IFACE) {
            return Ok(Self { added: false });
        }
        if interfaces.iter().any(|i| i != "lo") {
            // Not a private namespace: libnice finds the machine's own interfaces.
            return Ok(Self { added: false });
        }
        let ip = |args: &[&str]| -> anyhow::Result<()> {
            let status = std::process::Command::new("ip").args(args).status()?;
            anyhow::ensure!(status.success(), "ip {args:?} failed: {status}");
            Ok(())
        };
        ip(&[
            "link",
            "add",
            ALIAS_IFACE,
            "type",
            "veth",
            "peer",
            "name",
            "sedutawhip1",
        ])?;
        let alias = Self { added: true };
        ip(&["addr", "add", "127.0.0.2/32", "dev", ALIAS_IFACE])?;
        ip(&["link", "set", ALIAS_IFACE, "up"])?;
        ip(&["link", "set", "sedutawhip1", "up"])?;
        Ok(alias)
    }
}

impl Drop for LoopbackAlias {
    fn drop(&mut self) {
        if self.added {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", ALIAS_IFACE])
                .status();
        }
    }
}
