//! The lobby at the media level: a participant that may not subscribe receives no
//! one's media, and its own media reaches only its audience (the segretario), while
//! three independent webrtc-rs peers keep publishing. Driven through the SFU handle
//! directly, below the meeting rules.

use std::collections::HashMap;
use std::time::Duration;

use seduta_sfu::{Audience, ParticipantId, RoomId};
use seduta_signaling::auth::Role;
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::{Received, WebrtcPeer};
use seduta_tests::server;
use tokio::time::Instant;

const SESSION: &str = "lobby";

fn from(r: &HashMap<String, Received>, publisher: &str) -> Received {
    r.get(publisher).copied().unwrap_or_default()
}

/// Packets received from `publisher` since `before`.
fn delta(
    now: &HashMap<String, Received>,
    before: &HashMap<String, Received>,
    publisher: &str,
) -> Received {
    let (n, b) = (from(now, publisher), from(before, publisher));
    Received {
        audio_packets: n.audio_packets - b.audio_packets,
        video_packets: n.video_packets - b.video_packets,
    }
}

fn flowing(r: Received) -> bool {
    r.audio_packets > 20 && r.video_packets > 20
}

/// Waits until `check` holds, polling; fails with `what` after `within`.
async fn wait_for(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lobby_participant_receives_nothing_and_reaches_only_its_audience() -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let srv = server::start().await?;
    let dir = std::env::temp_dir().join(format!("seduta-lobby-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let media = SyntheticMedia::generate(&dir)?;
    let url = server::ws_url(&srv, SESSION);
    let join = |sub: &'static str, role: Role| {
        let (url, media) = (url.clone(), media.clone());
        let token = server::token(&srv, SESSION, sub, role);
        async move { WebrtcPeer::join(&url, &token?, media).await }
    };
    let a = join("a", Role::Segretario).await?;
    let b = join("b", Role::Member).await?;
    let c = join("c", Role::Member).await?;

    // Everyone sees and hears everyone.
    let t0 = (a.received(), b.received(), c.received());
    wait_for(Duration::from_secs(30), "media between all three", || {
        let (ra, rb, rc) = (a.received(), b.received(), c.received());
        flowing(delta(&ra, &t0.0, "b"))
            && flowing(delta(&ra, &t0.0, "c"))
            && flowing(delta(&rb, &t0.1, "a"))
            && flowing(delta(&rb, &t0.1, "c"))
            && flowing(delta(&rc, &t0.2, "a"))
            && flowing(delta(&rc, &t0.2, "b"))
    })
    .await;

    // C goes to the lobby: it receives nothing, and only A (the segretario) gets C.
    let sfu = srv.sfu();
    let room = RoomId(SESSION.to_owned());
    let pc = ParticipantId("c".to_owned());
    let (c_offers, b_offers) = (c.offers_answered(), b.offers_answered());
    sfu.set_can_subscribe(room.clone(), pc.clone(), false)
        .await?;
    sfu.set_audience(
        room.clone(),
        pc.clone(),
        Audience::Only(vec![ParticipantId("a".to_owned())]),
    )
    .await?;
    // Forwarding stops at once; both subscribers lose their m-lines in a new offer.
    wait_for(Duration::from_secs(15), "C and B renegotiated", || {
        c.offers_answered() > c_offers && b.offers_answered() > b_offers
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = (a.received(), b.received(), c.received());
    wait_for(Duration::from_secs(20), "A still receiving C and B", || {
        let ra = a.received();
        flowing(delta(&ra, &base.0, "c")) && flowing(delta(&ra, &base.0, "b"))
    })
    .await;
    // Some more seconds of media, counted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ra, rb, rc) = (a.received(), b.received(), c.received());
    for publisher in ["a", "b"] {
        assert_eq!(
            delta(&rc, &base.2, publisher),
            Received::default(),
            "C in the lobby received packets from {publisher}: before {:?}, now {rc:?}",
            base.2
        );
    }
    assert_eq!(
        delta(&rb, &base.1, "c"),
        Received::default(),
        "B received packets from C in the lobby: before {:?}, now {rb:?}",
        base.1
    );
    assert!(
        flowing(delta(&rb, &base.1, "a")),
        "B still receives A: {rb:?}"
    );
    let a_from_c = delta(&ra, &base.0, "c");
    assert!(
        flowing(a_from_c),
        "A receives C's audio and video: {a_from_c:?}"
    );

    // Admitted: C receives everyone again, and everyone receives C.
    sfu.set_audience(room.clone(), pc.clone(), Audience::Everyone)
        .await?;
    sfu.set_can_subscribe(room.clone(), pc.clone(), true)
        .await?;
    let back = (b.received(), c.received());
    wait_for(Duration::from_secs(30), "media to and from C again", || {
        let (rb, rc) = (b.received(), c.received());
        flowing(delta(&rc, &back.1, "a"))
            && flowing(delta(&rc, &back.1, "b"))
            && flowing(delta(&rb, &back.0, "c"))
    })
    .await;

    a.close().await;
    b.close().await;
    c.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
