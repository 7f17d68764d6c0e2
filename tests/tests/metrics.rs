//! Operators' endpoints on a real server with two webrtc-rs peers exchanging media:
//! `GET /metrics` (Prometheus text format; refused without the scraper's token, absent
//! when no token is configured), `GET /livez` and `GET /readyz`.
//!
//! One peer loses one in 20 of its video packets, on the way out and on the way in,
//! so the scrape shows NACKs both ways. A package is enqueued in the server's own
//! delivery outbox for a folder sink whose folder does not exist yet: the backlog
//! shows it waiting, then delivered once the folder appears.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test metrics'`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use seduta_delivery::{
    DeliveryConfig, FolderSinkConfig, Package, PackageId, RetryPolicy, SinkConfig, SinkKind,
    WorkerConfig,
};
use seduta_signaling::auth::Role;
use seduta_tests::http::request;
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::WebrtcPeer;
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

/// Scrapes `/metrics` until `done` holds for its series (at most `secs` seconds).
async fn scrape_until(
    addr: std::net::SocketAddr,
    secs: u64,
    what: &str,
    done: impl Fn(&dyn Fn(&str) -> f64) -> bool,
) -> anyhow::Result<String> {
    let bearer = format!("Bearer {TOKEN}");
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = request(
            addr,
            "GET",
            "/metrics",
            &[("authorization", bearer.as_str())],
            b"",
        )
        .await?;
        ensure!(r.status == 200, "/metrics: {}", r.status);
        let s = series(&r.body);
        if done(&|k: &str| s.get(k).copied().unwrap_or(0.0)) {
            return Ok(r.body);
        }
        ensure!(
            Instant::now() < deadline,
            "the metrics did not show {what}:\n{}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_probes_report_a_live_session() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("seduta-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // The sink's folder is missing at first: each attempt fails and is retried.
    let sink_dir = dir.join("conservazione");
    let delivery = DeliveryConfig {
        sinks: vec![SinkConfig {
            name: "archivio".into(),
            kind: SinkKind::Folder(FolderSinkConfig {
                path: sink_dir.clone(),
            }),
        }],
        retry: RetryPolicy {
            initial_backoff_secs: 1,
            max_backoff_secs: 2,
            ..RetryPolicy::default()
        },
        worker: WorkerConfig {
            poll_interval_secs: 1,
            ..WorkerConfig::default()
        },
    };
    let srv = server::start_with(|c| {
        c.metrics_token = Some(TOKEN.to_owned());
        c.preservation = false;
        c.delivery = delivery;
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

    // A package in the server's outbox, before any media: it waits for the folder.
    let zip = dir.join("metrics-v1.zip");
    std::fs::write(&zip, b"PK\x05\x06 a stand-in for a session package")?;
    let outbox = srv
        .packages()
        .outbox()
        .context("the server has no outbox")?;
    let rows = outbox
        .enqueue(&Package {
            id: PackageId {
                session_id: "metrics".into(),
                version: 1,
            },
            zip_path: zip.clone(),
        })
        .await?;
    ensure!(rows.len() == 1, "{rows:?}");

    // `a` loses video both ways; `b` is clean.
    let media = SyntheticMedia::generate(&dir)?;
    let url = server::ws_url(&srv, "metrics");
    let a = WebrtcPeer::join_lossy(
        &url,
        &server::token(&srv, "metrics", "a", Role::Member)?,
        media.clone(),
        20,
    )
    .await?;
    let b = WebrtcPeer::join(
        &url,
        &server::token(&srv, "metrics", "b", Role::Presiding)?,
        media,
    )
    .await?;
    let scrape = scrape_until(addr, 45, "the session", |get| {
        get("seduta_join_seconds_count") >= 2.0
            && get("seduta_rtp_out_packets_total") > 200.0
            && get("seduta_nacks_in_total") > 0.0
            && get("seduta_nacks_out_total") > 0.0
            && get("seduta_subscriber_estimates") >= 2.0
            && get("seduta_tracks{kind=\"video\",source=\"camera\"}") >= 2.0
            && get("seduta_publisher_ingress_bps{kind=\"video\"}") > 0.0
            && get("seduta_delivery_oldest_waiting_seconds") > 0.0
    })
    .await?;
    let s = series(&scrape);
    let get = |k: &str| s.get(k).copied().unwrap_or(-1.0);
    eprintln!(
        "joins: {} in {:.3} s; rtp in {} out {}; keyframe requests out {}; \
         video packets lost by a: {}; NACKs in {} out {}; subscriber estimates {} \
         summing {} bps ({} at most 1.2 Mbps); publishers' video {} bps, audio {} bps; \
         deliveries pending {} in flight {}, the oldest waiting {} s",
        get("seduta_join_seconds_count"),
        get("seduta_join_seconds_sum"),
        get("seduta_rtp_in_packets_total"),
        get("seduta_rtp_out_packets_total"),
        get("seduta_keyframe_requests_out_total"),
        a.dropped(),
        get("seduta_nacks_in_total"),
        get("seduta_nacks_out_total"),
        get("seduta_subscriber_estimates"),
        get("seduta_subscriber_estimate_bps_sum"),
        get("seduta_subscribers_by_estimate{le=\"1200000\"}"),
        get("seduta_publisher_ingress_bps{kind=\"video\"}"),
        get("seduta_publisher_ingress_bps{kind=\"audio\"}"),
        get("seduta_deliveries{state=\"pending\"}"),
        get("seduta_deliveries{state=\"in_flight\"}"),
        get("seduta_delivery_oldest_waiting_seconds"),
    );
    ensure!(a.dropped() > 0, "the lossy peer lost nothing");
    // Tracks: each peer publishes a camera and a microphone.
    ensure!(get("seduta_tracks{kind=\"video\",source=\"camera\"}") == 2.0);
    ensure!(get("seduta_tracks{kind=\"audio\",source=\"microphone\"}") == 2.0);
    ensure!(get("seduta_tracks{kind=\"video\",source=\"screen\"}") == 0.0);
    // Estimates: two subscribers; the buckets are cumulative and end at the count.
    let count = get("seduta_subscriber_estimates");
    ensure!(get("seduta_subscribers_by_estimate{le=\"+Inf\"}") == count);
    ensure!(get("seduta_subscriber_estimate_bps_sum") > 0.0);
    let mut below = 0.0;
    for le in seduta_signaling::metrics::ESTIMATE_BUCKETS_BPS {
        let n = get(&format!("seduta_subscribers_by_estimate{{le=\"{le}\"}}"));
        ensure!(n >= below && n <= count, "bucket {le}: {n}");
        below = n;
    }
    ensure!(get("seduta_publisher_ingress_bps{kind=\"audio\"}") > 0.0);
    // The outbox: the one delivery waits (pending, or in flight during an attempt).
    ensure!(
        get("seduta_deliveries{state=\"pending\"}") + get("seduta_deliveries{state=\"in_flight\"}")
            == 1.0
    );
    ensure!(get("seduta_deliveries{state=\"delivered\"}") == 0.0);
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

    // The folder appears: the next attempt delivers, and nothing waits any more.
    std::fs::create_dir_all(&sink_dir)?;
    let after = scrape_until(addr, 30, "the delivery", |get| {
        get("seduta_deliveries{state=\"delivered\"}") == 1.0
    })
    .await?;
    let s = series(&after);
    let get = |k: &str| s.get(k).copied().unwrap_or(-1.0);
    ensure!(get("seduta_deliveries{state=\"pending\"}") == 0.0);
    ensure!(get("seduta_deliveries{state=\"in_flight\"}") == 0.0);
    ensure!(get("seduta_deliveries{state=\"dead\"}") == 0.0);
    ensure!(get("seduta_delivery_oldest_waiting_seconds") == 0.0);
    ensure!(sink_dir.join("metrics-v1.zip").is_file());

    a.close().await;
    b.close().await;
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);

    // A server without a token has no metrics.
    let bearer = format!("Bearer {TOKEN}");
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
