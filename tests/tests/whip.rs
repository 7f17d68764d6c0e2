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

/// A WHIP client on GStreamer's WebRTC stack (webrtcbin, libnice, GStreamer's DTLS,
/// SRTP and RTP payloaders and encoders): what GStreamer-based encoders use. Debian's
/// `simple-whip-client` is a thin wrapper of this same stack, but bookworm's package
/// aborts at start ("libsoup2 symbols detected": it links libsoup 2.4 while libnice
/// pulls in libsoup 3 through gupnp-igd), so the few lines of WHIP around webrtcbin
/// are written here, in Python with Debian's GObject bindings.
const GST_WHIP_CLIENT: &str = r#"# A WHIP client on GStreamer's webrtcbin (libnice, GStreamer's DTLS/SRTP and RTP
# payloaders): posts its offer with the bearer token, applies the answer, streams a
# test pattern (VP8) and a tone (Opus) until killed.
import base64
import hashlib
import sys
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

URL, TOKEN, PEM = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
PIPELINE = (
    "webrtcbin name=w bundle-policy=max-bundle "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! queue ! "
    "opusenc ! rtpopuspay pt=111 ! queue ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w. "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240 ! "
    "videoconvert ! queue ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! queue ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! w."
)

Gst.init(None)
loop = GLib.MainLoop()
pipe = Gst.parse_launch(PIPELINE)
webrtc = pipe.get_by_name("w")
posted = False


def fail(message):
    print(f"gst-whip: {message}", flush=True)
    loop.quit()
    return False


def post_offer():
    global posted
    if posted:
        return False
    posted = True
    offer = webrtc.get_property("local-description").sdp.as_text()
    request = urllib.request.Request(
        URL,
        data=offer.encode(),
        method="POST",
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer = response.status, response.read().decode()
            location = response.headers.get("Location")
    except urllib.error.HTTPError as e:
        return fail(f"POST answered {e.code}: {e.read().decode(errors='replace')}")
    except OSError as e:
        return fail(f"POST failed: {e}")
    if status != 201:
        return fail(f"POST answered {status}")
    print(f"gst-whip: 201 Created, Location {location}", flush=True)
    res, sdp = GstSdp.SDPMessage.new_from_text(answer)
    if res != GstSdp.SDPResult.OK:
        return fail("the answer is not SDP")
    desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
    webrtc.emit("set-remote-description", desc, None)
    return False


def on_gathering(element, _pspec):
    state = element.get_property("ice-gathering-state")
    if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
        GLib.idle_add(post_offer)


def fingerprint(pem):
    """The SHA-256 fingerprint of the first certificate in `pem`, as SDP writes it."""
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    digest = hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def on_offer(promise, element, _data):
    reply = promise.get_reply()
    offer = reply.get_value("offer") if reply is not None and reply.has_field("offer") else None
    if offer is None:
        fail(f"no offer: {reply.to_string() if reply is not None else None}")
        return
    # webrtcbin writes the fingerprint of the certificate it made, not of the one
    # given to its DTLS element: the offer names the one really used.
    text = "\r\n".join(
        f"a=fingerprint:sha-256 {fingerprint(PEM)}" if line.startswith("a=fingerprint:") else line
        for line in offer.sdp.as_text().splitlines()
    ) + "\r\n"
    res, sdp = GstSdp.SDPMessage.new_from_text(text)
    if res != GstSdp.SDPResult.OK:
        fail("the offer could not be rewritten")
        return
    desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
    element.emit("set-local-description", desc, None)


def on_negotiation_needed(element):
    element.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, element, None))


def on_ice_state(element, _pspec):
    print(f"gst-whip: ICE {element.get_property('ice-connection-state').value_nick}", flush=True)


def on_message(_bus, message):
    if message.type == Gst.MessageType.ERROR:
        error, debug = message.parse_error()
        fail(f"pipeline error: {error.message} ({debug})")


# GStreamer 1.22 makes an RSA certificate; the SFU's DTLS accepts ECDSA only (as
# browsers use), so the encoder is given an ECDSA one, as it would be configured.
def on_element_added(_bin, _sub, element):
    factory = element.get_factory()
    if factory is not None and factory.get_name() == "dtlssrtpdec":
        element.set_property("pem", PEM)


pipe.connect("deep-element-added", on_element_added)
for i in range(2):
    transceiver = webrtc.emit("get-transceiver", i)
    if transceiver is not None:
        transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
webrtc.connect("on-negotiation-needed", on_negotiation_needed)
webrtc.connect("notify::ice-gathering-state", on_gathering)
webrtc.connect("notify::ice-connection-state", on_ice_state)
bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add_seconds(60, loop.quit)
loop.run()
pipe.set_state(Gst.State.NULL)
"#;

/// Debian's Python, which has the GObject bindings (`python3-gi`).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Whether the GStreamer WHIP client can run here.
fn gstreamer_missing() -> Option<String> {
    let check = "import gi\n\
        gi.require_version('Gst', '1.0')\n\
        gi.require_version('GstWebRTC', '1.0')\n\
        gi.require_version('GstSdp', '1.0')\n\
        from gi.repository import Gst\n\
        Gst.init(None)\n\
        missing = [e for e in ('webrtcbin', 'nicesrc', 'vp8enc', 'opusenc', 'rtpvp8pay', \
        'rtpopuspay', 'videotestsrc', 'audiotestsrc', 'dtlssrtpdec') if Gst.ElementFactory.find(e) is None]\n\
        assert not missing, missing\n";
    match std::process::Command::new(SYSTEM_PYTHON)
        .args(["-c", check])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(String::from_utf8_lossy(&out.stderr).into_owned()),
        Err(e) => Some(format!("{SYSTEM_PYTHON}: {e}")),
    }
}

/// The GStreamer WHIP client publishes a test pattern and a tone; a webrtc-rs
/// participant receives both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_whip_client_is_seen_and_heard() -> anyhow::Result<()> {
    init_logs();
    if let Some(why) = gstreamer_missing() {
        panic!(
            "\n\n*** GStreamer's WebRTC stack is not installed: this test cannot run. ***\n\
             Install python3-gi gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice \
             gstreamer1.0-plugins-good gstreamer1.0-plugins-bad (scripts/test does).\n{why}\n"
        );
    }
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
    // GStreamer 1.22 makes an RSA DTLS certificate, which the SFU's DTLS (ECDSA only,
    // like browsers) refuses; the client is configured with an ECDSA one.
    let pem = dir.join("ecdsa.pem");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=seduta-gst-whip", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?;
    anyhow::ensure!(made.status.success(), "openssl: {made:?}");
    std::fs::write(&pem, [std::fs::read(&cert)?, std::fs::read(&key)?].concat())?;
    let log_path = dir.join("gst-whip.log");
    let log = std::fs::File::create(&log_path)?;
    let mut client = tokio::process::Command::new(SYSTEM_PYTHON)
        .args(["-c", GST_WHIP_CLIENT, &url, &token])
        .arg(&pem)
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
            eprintln!("the GStreamer WHIP client exited early with {status}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let published = tracks(&srv, session).await?;
    let _ = client.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.wait()).await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        ok,
        "the member did not receive the GStreamer client's audio and video: \
         received {:?}, tracks {published:?}\n--- client log ---\n{log}",
        member.received()
    );
    assert!(log.contains("201 Created"), "client log: {log}");
    assert!(published.iter().any(|t| t.starts_with("chamber/")));

    member.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// A veth pair carrying 127.0.0.2, added only when the network namespace is the
/// test's own (nothing but `lo`), removed on drop.
struct LoopbackAlias {
    added: bool,
}

const ALIAS_IFACE: &str = "sedutawhip0";

impl LoopbackAlias {
    fn add() -> anyhow::Result<Self> {
        // This process's own network namespace (/sys may show the host's).
        let interfaces: Vec<String> = std::fs::read_to_string("/proc/self/net/dev")?
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|name| name.trim().to_owned())
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
