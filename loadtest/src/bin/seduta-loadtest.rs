//! `seduta-loadtest` (also `seduta loadtest`): synthetic participants against an
//! in-process Seduta server on loopback, and a bare UDP relay on the same streams.
//! Prints the report; `--json FILE` writes it as JSON too.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use seduta_loadtest::alloc::CountingAlloc;
use seduta_loadtest::relay::SendMode;
use seduta_loadtest::{LoadConfig, run};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// Rooms of 9 participants, all publishing, tiles of 360 p.
    Giunta,
    /// One room: one publisher, everyone else only subscribes, full size.
    Large,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Relay {
    /// No relay.
    None,
    /// `sendto` per destination.
    Sendto,
    /// `sendmmsg` per received datagram.
    Sendmmsg,
    /// Both, one after the other.
    Both,
}

/// Load test of the Seduta SFU (loopback only; the server runs in this process).
#[derive(Debug, Parser)]
#[command(name = "seduta loadtest")]
struct Args {
    /// The shape of the rooms; the flags below override its defaults.
    #[arg(long, value_enum, default_value = "giunta")]
    scenario: Scenario,
    /// Rooms.
    #[arg(long)]
    rooms: Option<usize>,
    /// Participants per room (giunta: 9; large: 101).
    #[arg(long)]
    participants: Option<usize>,
    /// Publishers per room (giunta: all; large: 1).
    #[arg(long)]
    publishers: Option<usize>,
    /// Seconds measured.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds between the last join and the measured window.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// Milliseconds between two joins.
    #[arg(long, default_value_t = 100)]
    join_interval_ms: u64,
    /// `max_height` each subscriber asks for every video track (0: none).
    #[arg(long)]
    max_height: Option<u32>,
    /// The bare relay measured after the SFU.
    #[arg(long, value_enum, default_value = "both")]
    relay: Relay,
    /// Where the encoded test media are kept.
    #[arg(long)]
    media_dir: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    seduta_loadtest::alloc::declare_installed();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = match args.scenario {
        Scenario::Giunta => LoadConfig::giunta(args.rooms.unwrap_or(1)),
        Scenario::Large => {
            LoadConfig::large(args.participants.map_or(100, |p| p.saturating_sub(1)))
        }
    };
    if let Some(r) = args.rooms {
        config.rooms = r;
    }
    if let Some(p) = args.participants {
        config.participants = p;
        if matches!(args.scenario, Scenario::Giunta) && args.publishers.is_none() {
            config.publishers = p;
        }
    }
    if let Some(p) = args.publishers {
        config.publishers = p;
    }
    config.duration = Duration::from_secs(args.duration);
    config.settle = Duration::from_secs(args.settle);
    config.join_interval = Duration::from_millis(args.join_interval_ms);
    if let Some(h) = args.max_height {
        config.max_height = (h > 0).then_some(h);
    }
    config.relay_modes = match args.relay {
        Relay::None => vec![],
        Relay::Sendto => vec![SendMode::SendTo],
        Relay::Sendmmsg => vec![SendMode::SendMmsg],
        Relay::Both => vec![SendMode::SendTo, SendMode::SendMmsg],
    };
    if let Some(dir) = args.media_dir {
        config.media_dir = dir;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("loadtest-peers")
        .build()?;
    let report = runtime.block_on(run(&config))?;
    print!("{}", report.text());
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    }
    if !report.media_flowed() {
        anyhow::bail!("no media flowed");
    }
    Ok(())
}
