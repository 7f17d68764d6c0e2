//! Two independent webrtc-rs peers exchange synthetic Opus and VP8 through the SFU.

use std::time::Duration;

use seduta_tests::server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_rs_peers_exchange_audio_and_video() -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let srv = server::start().await?;
    let dir = std::env::temp_dir().join(format!("seduta-webrtc-peer-{}", std::process::id()));
    let (a, b) = server::two_peers(&srv, "rs", &dir).await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (ra, rb) = (a.received(), b.received());
        let got = |r: &std::collections::HashMap<String, seduta_tests::peer::Received>,
                   from: &str| {
            r.get(from)
                .is_some_and(|c| c.audio_packets > 20 && c.video_packets > 20)
        };
        if got(&ra, "b") && got(&rb, "a") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "media did not flow both ways: a received {ra:?}, b received {rb:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    a.close().await;
    b.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
