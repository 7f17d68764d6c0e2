//! Bad input gets a clear error with a stable code, changes nothing, and never
//! disturbs anyone else's media.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use seduta_signaling::auth::{Claims, Role, TokenIssuer};
use seduta_tests::peer::{Received, WebrtcPeer};
use seduta_tests::server::{self, SECRET};
use seduta_tests::ws::{Ending, WsClient};
use serde_json::json;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn claims(session: &str, exp: u64, nbf: u64, aud: &str) -> Claims {
    Claims {
        sub: "tester".into(),
        session: session.into(),
        role: Role::Member,
        name: "Tester".into(),
        exp,
        nbf,
        aud: aud.into(),
        jti: None,
    }
}

async fn joined_client(url: &str, token: &str) -> anyhow::Result<WsClient> {
    let mut c = WsClient::connect(url).await?;
    c.json(json!({"type": "join", "token": token})).await?;
    c.next_of("joined").await?;
    Ok(c)
}

#[tokio::test]
async fn malformed_messages_get_stable_codes_and_change_nothing() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let url = server::ws_url(&srv, "s1");
    let mut c = WsClient::connect(&url).await?;

    c.text("{not json").await?;
    assert!(!c.expect_error("bad_json").await?);
    c.text("[1,2,3]").await?;
    assert!(!c.expect_error("bad_json").await?);
    c.binary(vec![0, 1, 2, 3]).await?;
    assert!(!c.expect_error("bad_json").await?);
    c.assert_alive().await?; // a good message resets the run of errors
    c.text(r#"{"type":"teleport"}"#).await?;
    assert!(!c.expect_error("unknown_type").await?);
    c.text(r#"{"type":"ping","ts":"soon"}"#).await?;
    assert!(!c.expect_error("invalid_message").await?);
    c.text(r#"{"type":"ping","ts":1,"extra":true}"#).await?;
    assert!(!c.expect_error("invalid_message").await?);
    c.assert_alive().await?;
    c.json(json!({"type": "leave"})).await?;
    assert!(!c.expect_error("not_joined").await?);
    c.assert_alive().await?;

    // Joined: bad SDP is refused, the connection stays usable.
    let token = server::token(&srv, "s1", "member-1", Role::Member)?;
    c.json(json!({"type": "join", "token": token})).await?;
    c.next_of("joined").await?;
    c.json(json!({"type": "join", "token": token})).await?;
    assert!(!c.expect_error("already_joined").await?);
    c.json(json!({"type": "publish", "sdp": "this is not SDP", "tracks": []}))
        .await?;
    assert!(!c.expect_error("invalid_sdp").await?);
    c.json(json!({"type": "publish", "sdp": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "tracks": []})).await?;
    let v = c.next_of("error").await?;
    assert!(
        v["code"] == "invalid_sdp" || v["code"] == "negotiation_failed",
        "{v}"
    );
    c.json(json!({"type": "subscriber_answer", "sdp": "garbage"}))
        .await?;
    assert!(!c.expect_error("invalid_sdp").await?);
    c.json(json!({"type": "subscribe", "track": "nobody/0"}))
        .await?;
    assert!(!c.expect_error("unknown_track").await?);
    c.assert_alive().await?;
    srv.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn repeated_protocol_errors_close_the_connection() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let mut c = WsClient::connect(&server::ws_url(&srv, "s1")).await?;
    for _ in 0..4 {
        c.text("nope").await?;
        assert!(!c.expect_error("bad_json").await?);
    }
    c.text("nope").await?;
    assert!(c.expect_error("bad_json").await?, "the fifth is fatal");
    assert_eq!(c.ending().await?, Ending::Close(4002));
    srv.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn oversized_message_is_refused_and_closed() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let mut c = WsClient::connect(&server::ws_url(&srv, "s1")).await?;
    let big = format!(
        r#"{{"type":"ping","ts":1,"pad":"{}"}}"#,
        "x".repeat(1_000_000)
    );
    c.text(big).await?;
    assert!(c.expect_error("message_too_large").await?);
    assert_eq!(c.ending().await?, Ending::Close(1009));
    srv.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_code() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let url = server::ws_url(&srv, "s1");
    let ours = TokenIssuer::hs256(SECRET.as_bytes(), "seduta");
    let t = now();
    let cases =
        [
            (
                ours.mint_claims(&claims("s1", t - 120, t - 600, "seduta"))?,
                "token_expired",
            ),
            (
                ours.mint_claims(&claims("s1", t + 900, t + 600, "seduta"))?,
                "token_not_yet_valid",
            ),
            (
                ours.mint_claims(&claims("s1", t + 600, t, "elsewhere"))?,
                "token_wrong_audience",
            ),
            (
                ours.mint_claims(&claims("other-session", t + 600, t, "seduta"))?,
                "token_wrong_session",
            ),
            (
                TokenIssuer::hs256(b"a forged secret that is long", "seduta")
                    .mint_claims(&claims("s1", t + 600, t, "seduta"))?,
                "token_invalid",
            ),
            ("not-a-token".to_owned(), "token_invalid"),
        ];
    for (token, code) in cases {
        let mut c = WsClient::connect(&url).await?;
        c.json(json!({"type": "join", "token": token})).await?;
        assert!(c.expect_error(code).await?, "{code} is fatal");
        assert_eq!(c.ending().await?, Ending::Close(4001), "{code}");
    }
    srv.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn join_must_come_in_time() -> anyhow::Result<()> {
    let srv = server::start_with(|c| c.join_timeout_secs = 1).await?;
    let mut c = WsClient::connect(&server::ws_url(&srv, "s1")).await?;
    assert!(c.expect_error("join_timeout").await?);
    assert_eq!(c.ending().await?, Ending::Close(4001));
    srv.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_closed() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let token = server::token(&srv, "s1", "flooder", Role::Member)?;
    let mut c = joined_client(&server::ws_url(&srv, "s1"), &token).await?;
    for i in 0..2000u32 {
        if c.json(json!({"type": "ping", "ts": i})).await.is_err() {
            break; // closed while flooding
        }
    }
    let mut limited = false;
    let ending = loop {
        match c.next().await {
            Ok(v) if v["code"] == "rate_limited" => limited = true,
            Ok(_) => {}
            Err(_) => break c.ending().await.unwrap_or(Ending::Dropped),
        }
    };
    assert!(limited, "rate_limited was reported");
    assert!(
        matches!(ending, Ending::Close(4008) | Ending::Dropped),
        "{ending:?}"
    );
    srv.shutdown().await;
    Ok(())
}

fn grew(before: &Received, after: &Received) -> bool {
    after.audio_packets > before.audio_packets + 20
        && after.video_packets > before.video_packets + 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_does_not_disturb_other_participants_media() -> anyhow::Result<()> {
    let srv = server::start().await?;
    let dir = std::env::temp_dir().join(format!("seduta-abuse-{}", std::process::id()));
    let (a, b) = server::two_peers(&srv, "room", &dir).await?;
    let url = server::ws_url(&srv, "room");
    let flowing =
        |peer: &WebrtcPeer, from: &str| peer.received().get(from).copied().unwrap_or_default();
    tokio::time::timeout(Duration::from_secs(20), async {
        while flowing(&a, "b").video_packets == 0 || flowing(&b, "a").video_packets == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await?;
    let (a0, b0) = (flowing(&a, "b"), flowing(&b, "a"));

    // Garbage on every port: UDP datagrams, a TCP stream, and signaling abuse,
    // including from a joined participant of the same room.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let media = srv
        .udp_addr
        .ok_or_else(|| anyhow::anyhow!("the server has no media socket"))?;
    let mut stun_like = vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42];
    stun_like.extend_from_slice(&[0xff; 20]);
    let rtp_like = [
        0x80u8, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3,
    ];
    for i in 0..2000u32 {
        let junk: Vec<u8> = (0..(i % 1400) as usize + 1)
            .map(|j| (j as u32 * 31 + i) as u8)
            .collect();
        let _ = udp.send_to(&junk, media).await;
        let _ = udp.send_to(&stun_like, media).await;
        let _ = udp.send_to(&rtp_like, media).await;
    }
    if let Some(tcp_addr) = srv.tcp_addr {
        use tokio::io::AsyncWriteExt;
        let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await?;
        let _ = tcp.write_all(&[0xff; 4096]).await;
        let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await?;
        let _ = tcp
            .write_all(&[0x00, 0x05, 1, 2, 3, 4, 5, 0x00, 0x10])
            .await;
    }
    let mut abuser =
        joined_client(&url, &server::token(&srv, "room", "abuser", Role::Guest)?).await?;
    abuser
        .json(json!({"type": "publish", "sdp": "v=0\r\nm=video 0 RTP/AVP 0\r\n", "tracks": []}))
        .await?;
    abuser
        .json(json!({"type": "subscriber_answer", "sdp": "m=\r\n\r\n"}))
        .await?;
    for _ in 0..300 {
        let _ = abuser.text("{garbage").await;
    }
    let big = "y".repeat(1_000_000);
    let _ = abuser.text(big).await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    let (a1, b1) = (flowing(&a, "b"), flowing(&b, "a"));
    assert!(
        grew(&a0, &a1),
        "a's media from b kept flowing: {a0:?} -> {a1:?}"
    );
    assert!(
        grew(&b0, &b1),
        "b's media from a kept flowing: {b0:?} -> {b1:?}"
    );
    a.close().await;
    b.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn a_page_of_another_site_cannot_open_the_websocket() -> anyhow::Result<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let srv = server::start().await?;
    let url = server::ws_url(&srv, "s1");
    let mut foreign = url.as_str().into_client_request()?;
    foreign
        .headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    match tokio_tungstenite::connect_async(foreign).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!(
            "a foreign origin must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    let mut own = url.as_str().into_client_request()?;
    let origin = format!("http://{}", srv.http_addr);
    own.headers_mut().insert("origin", origin.parse()?);
    let (ws, _) = tokio_tungstenite::connect_async(own).await?;
    drop(ws);
    srv.shutdown().await;
    Ok(())
}
