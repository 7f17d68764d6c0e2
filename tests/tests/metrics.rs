//! Operators' endpoints on a real server with two webrtc-rs peers exchanging media:
//! `GET /metrics` (Prometheus text format; refused without the scraper's token, absent
//! when no token is configured), `GET /livez` and `GET /readyz`.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test metrics'`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use seduta_tests::http::request;
use seduta_tests::server;

const TOKEN: &str = "scraper-token-0123456789";

/// `name{labels} value` lines of a scrape, by series.
fn series(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_probes_report_a_live_session() -> anyhow::Result<()> {
    let srv = server::start_with(|c| {
        c.metrics_token = Some(TOKEN.to_owned());
        c.preservation = false;
    })
    .await?;
    let addr = srv.http_addr;
    for path in ["/livez", "/readyz", "/healthz"] {
        let r = request(addr, "GET", path, &[], b"").await?;
        ensure!(r.status == 200, "{path}: {}", r.status);
    }
    // Without the token, or with another one: refused, and nothing is told.
    for auth in [None, Some("Bearer wrong-token")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let r = request(addr, "GET", "/metrics", &headers, b"").await?;
        ensure!(r.status == 401, "/metrics with {auth:?}: {}", r.status);
        ensure!(!r.body.contains("seduta_"));
    }

    let dir = std::env::temp_dir().join(format!("seduta-metrics-{}", std::process::id()));
    let (a, b) = server::two_peers(&srv, "metrics", &dir).await?;
    let bearer = format!("Bearer {TOKEN}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        let r = request(
            addr,
            "GET",
            "/metrics",
            &[("authorization", bearer.as_str())],
            b"",
        )
        .await?;
        ensure!(r.status == 200, "/metrics: {}", r.status);
        let text = r.body;
        let s = series(&text);
        let get = |k: &str| s.get(k).copied().unwrap_or(0.0);
        if get("seduta_join_seconds_count") >= 2.0 && get("seduta_rtp_out_packets_total") > 200.0 {
            break text;
        }
        ensure!(
            Instant::now() < deadline,
            "the metrics did not show the session:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let s = series(&scrape);
    let get = |k: &str| s.get(k).copied().unwrap_or(-1.0);
    eprintln!(
        "joins: {} in {:.3} s; rtp in {} out {}; keyframe requests out {}",
        get("seduta_join_seconds_count"),
        get("seduta_join_seconds_sum"),
        get("seduta_rtp_in_packets_total"),
        get("seduta_rtp_out_packets_total"),
        get("seduta_keyframe_requests_out_total"),
    );
    ensure!(
        get("seduta_participants") == 2.0,
        "participants: {}",
        get("seduta_participants")
    );
    ensure!(get("seduta_rtp_in_packets_total") > 200.0);
    ensure!(get("seduta_udp_out_bytes_total") > get("seduta_rtp_out_bytes_total") * 0.5);
    ensure!(get("seduta_join_seconds_bucket{le=\"+Inf\"}") >= 2.0);
    for kind in ["counter", "gauge", "histogram"] {
        ensure!(
            scrape.contains(&format!(" {kind}\n")),
            "no {kind} in the scrape"
        );
    }
    // Every sample line is `name{labels} number`; every family has HELP and TYPE.
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').context("a line without a value")?;
        ensure!(name.starts_with("seduta_"), "{line}");
        ensure!(value.parse::<f64>().is_ok(), "{line}");
    }

    a.close().await;
    b.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);

    // A server without a token has no metrics.
    let off = server::start_with(|c| c.preservation = false).await?;
    let r = request(
        off.http_addr,
        "GET",
        "/metrics",
        &[("authorization", bearer.as_str())],
        b"",
    )
    .await?;
    ensure!(
        r.status == 404,
        "/metrics without a configured token: {}",
        r.status
    );
    off.shutdown().await;
    Ok(())
}
