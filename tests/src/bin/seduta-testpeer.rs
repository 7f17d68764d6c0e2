//! `seduta-testpeer`: an independent webrtc-rs participant for end-to-end tests.
//! Joins a session, publishes synthetic Opus and VP8, and prints once a second a JSON
//! line with the packets received per publishing participant, until `--seconds` pass.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::WebrtcPeer;

/// Command-line arguments.
#[derive(Parser)]
struct Args {
    /// Signaling URL, `ws://host:port/ws/<session>`.
    #[arg(long)]
    url: String,
    /// Join token.
    #[arg(long)]
    token: String,
    /// How long to stay, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Where to write the synthetic media files.
    #[arg(long)]
    media_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.media_dir)?;
    let media = SyntheticMedia::generate(&args.media_dir)?;
    let peer = WebrtcPeer::join(&args.url, &args.token, media).await?;
    println!("{{\"joined\":true}}");
    for _ in 0..args.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let received: serde_json::Map<String, serde_json::Value> = peer
            .received()
            .into_iter()
            .map(|(who, r)| {
                let counts = serde_json::json!({"audio_packets": r.audio_packets, "video_packets": r.video_packets});
                (who, counts)
            })
            .collect();
        println!("{}", serde_json::json!({ "received": received }));
    }
    peer.close().await;
    Ok(())
}
