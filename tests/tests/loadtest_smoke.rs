//! A few seconds of the load generator (`seduta loadtest`): one room of three
//! participants publishing and subscribing through an in-process server, then the
//! bare relay. Checks only that media flowed and that the report was produced; no
//! timing is asserted (this runs on shared CI machines, in debug builds).

use std::time::Duration;

use seduta_loadtest::relay::SendMode;
use seduta_loadtest::{LoadConfig, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_run_forwards_media_and_reports() -> anyhow::Result<()> {
    let mut config = LoadConfig::giunta(1);
    config.participants = 3;
    config.publishers = 3;
    config.duration = Duration::from_secs(2);
    config.settle = Duration::from_secs(1);
    config.join_interval = Duration::from_millis(50);
    config.relay_modes = vec![SendMode::SendTo];
    let report = run(&config).await?;
    let text = report.text();
    println!("{text}");
    assert!(report.media_flowed(), "no media flowed:\n{text}");
    assert_eq!(report.participants, 3);
    assert!(report.sfu.received.audio_frames > 0 && report.sfu.received.video_frames > 0);
    assert!(report.sfu.cpu_ns_per_forwarded_packet.is_some(), "{text}");
    let relay = report
        .relay
        .first()
        .ok_or_else(|| anyhow::anyhow!("no relay result"))?;
    assert!(relay.packets_out > 0 && relay.received > 0, "{text}");
    let json = serde_json::to_value(&report)?;
    assert!(json["sfu"]["traffic"]["rtp_out_packets"].as_u64() > Some(0));
    Ok(())
}
