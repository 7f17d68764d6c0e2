//! # seduta-loadtest
//!
//! Seduta's load generator (`seduta loadtest`, or the `seduta-loadtest` binary).
//! It starts the server in this process on a thread of its own, joins synthetic
//! participants through the real protocol (the signaling WebSocket and two WebRTC
//! connections each, on loopback), has them publish pre-encoded Opus and three-layer
//! VP8 simulcast and subscribe to one another, and measures over a steady window:
//!
//! - the CPU time of the server thread (the media loop, signaling and HTTP all run
//!   on it) per forwarded RTP packet, and the packets and bytes in and out (the SFU's
//!   own counters, [`seduta_sfu::Traffic`]);
//! - loss and delay seen by the subscribers, and the join time (WebSocket connect to
//!   the first whole remote video frame);
//! - heap allocations per forwarded packet and heap held per participant on the
//!   server thread (when the counting allocator is installed, as in the binary), and
//!   the process RSS growth per participant (which includes the synthetic peers);
//!
//! then runs a bare UDP relay ([`relay`]) on the same streams for the same time: the
//! physical floor, and the SFU/relay ratio of CPU per forwarded packet.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let config = seduta_loadtest::LoadConfig::giunta(1);
//! let report = seduta_loadtest::run(&config).await?;
//! println!("{}", report.text());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod alloc;
pub mod client;
pub mod media;
pub mod relay;
pub mod report;
pub mod server;
pub mod stamp;
pub mod sys;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::watch;

use crate::client::{CountersSnapshot, Outcome, Shared, Spec, lock};
use crate::media::TestMedia;
use crate::relay::{DrainCounters, Relay, SendMode};
pub use crate::report::Report;
use crate::report::{JoinStats, RelayResult, SfuResult, percentiles};
use crate::server::ServerThread;

/// Most participants one run may create.
pub const MAX_PARTICIPANTS: usize = 400;
/// Longest measured window.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// What to run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadConfig {
    /// Rooms (sessions), all of the same shape.
    pub rooms: usize,
    /// Participants per room.
    pub participants: usize,
    /// Of those, how many publish audio and video (the first ones to join).
    pub publishers: usize,
    /// The measured window.
    pub duration: Duration,
    /// Time between the last join and the window (bandwidth estimates and layers
    /// settle).
    pub settle: Duration,
    /// Time between two joins.
    pub join_interval: Duration,
    /// `max_height` every subscriber asks for every video track (its tile size).
    pub max_height: Option<u32>,
    /// Relay runs after the SFU's window: none, or the send modes to measure.
    pub relay_modes: Vec<SendMode>,
    /// Where the encoded media are kept between runs.
    pub media_dir: PathBuf,
}

impl LoadConfig {
    /// `rooms` Giunta-shaped rooms: 9 participants, all publishing, each asking for
    /// 360 p tiles (a 3×3 grid).
    pub fn giunta(rooms: usize) -> Self {
        Self {
            rooms,
            participants: 9,
            publishers: 9,
            duration: Duration::from_secs(20),
            settle: Duration::from_secs(5),
            join_interval: Duration::from_millis(100),
            max_height: Some(360),
            relay_modes: vec![SendMode::SendTo, SendMode::SendMmsg],
            media_dir: std::env::temp_dir().join("seduta-loadtest-media"),
        }
    }

    /// One room where one publisher is seen by `subscribers` (full size).
    pub fn large(subscribers: usize) -> Self {
        Self {
            rooms: 1,
            participants: subscribers + 1,
            publishers: 1,
            max_height: None,
            ..Self::giunta(1)
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        let total = self.rooms.saturating_mul(self.participants);
        if self.rooms == 0 || self.participants < 2 {
            bail!("at least one room of two participants");
        }
        if total > MAX_PARTICIPANTS {
            bail!("{total} participants: at most {MAX_PARTICIPANTS} per run");
        }
        if self.publishers == 0 || self.publishers > self.participants {
            bail!("publishers must be between 1 and the participants per room");
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            bail!(
                "the duration must be between 1 s and {} s",
                MAX_DURATION.as_secs()
            );
        }
        if self.settle > MAX_DURATION || self.join_interval > Duration::from_secs(10) {
            bail!(
                "settle at most {} s, join interval at most 10 s",
                MAX_DURATION.as_secs()
            );
        }
        Ok(())
    }
}

/// One moment of everything measured.
#[derive(Debug, Clone, Copy)]
struct Snap {
    at: Instant,
    server_cpu: Duration,
    process_cpu: Duration,
    traffic: seduta_sfu::Traffic,
    alloc: Option<alloc::AllocCounts>,
    clients: CountersSnapshot,
    rss: u64,
    load_average: f64,
    udp_drops: sys::UdpDrops,
}

fn snap(server: &ServerThread, shared: &Shared) -> anyhow::Result<Snap> {
    let tid = server.tid;
    Ok(Snap {
        at: Instant::now(),
        server_cpu: tid.cpu()?,
        process_cpu: sys::process_cpu(),
        traffic: seduta_sfu::Traffic::now(),
        alloc: alloc::counts(),
        clients: shared.counters.snapshot(),
        rss: sys::rss_bytes(),
        load_average: sys::load_average(),
        udp_drops: sys::UdpDrops::now(server.udp_addr.port()),
    })
}

/// Runs the load described by `config` and measures it. Needs a multi-threaded
/// tokio runtime (the synthetic participants run on it; the server and the relay
/// have threads of their own). Loopback only.
pub async fn run(config: &LoadConfig) -> anyhow::Result<Report> {
    config.check()?;
    let media_dir = config.media_dir.clone();
    let media = tokio::task::spawn_blocking(move || TestMedia::prepare(&media_dir))
        .await
        .context("encoding the test media")??;
    let shared = Arc::new(Shared::new(media));
    let server = ServerThread::start()?;
    let baseline = snap(&server, &shared)?;

    // Joins, room by room in turn, publishers first in each room.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut expecting_video = 0u64;
    let room_name = |r: usize| format!("loadtest-{}-{r}", std::process::id());
    for k in 0..config.participants {
        for r in 0..config.rooms {
            let room = room_name(r);
            let id = format!("p{k:03}");
            let publish = k < config.publishers;
            let expected_video = config.publishers - usize::from(publish);
            if expected_video > 0 {
                expecting_video += 1;
            }
            let spec = Spec {
                url: server.ws_url(&room),
                token: server.token(&room, &id)?,
                measure_join: shared.room_sending(&room),
                room,
                id,
                publish,
                max_height: config.max_height,
                expected_video,
            };
            tasks.push(tokio::spawn(client::run(
                spec,
                shared.clone(),
                stop_rx.clone(),
            )));
            tokio::time::sleep(config.join_interval).await;
        }
        // Later joins are timed against media already flowing: wait until the first
        // participant of every room (a publisher) sends.
        if k == 0 {
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline
                && (0..config.rooms).any(|r| !shared.room_sending(&room_name(r)))
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.ready.load(Relaxed) < expecting_video && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = shared.ready.load(Relaxed);
    tokio::time::sleep(config.settle).await;

    // The measured window.
    shared.measuring.store(true, Relaxed);
    let start = snap(&server, &shared)?;
    tokio::time::sleep(config.duration).await;
    let end = snap(&server, &shared)?;
    shared.measuring.store(false, Relaxed);
    let sfu_delays = std::mem::take(&mut *lock(&shared.delays));

    let _ = stop_tx.send(true);
    let mut outcomes = Vec::new();
    for t in tasks {
        if let Ok(o) = t.await {
            outcomes.push(o);
        }
    }
    server.stop();

    let total = config.rooms * config.participants;
    let pairs = config.rooms * (config.participants * config.publishers - config.publishers);
    let sfu = SfuResult::from_window(
        &baseline,
        &start,
        &end,
        total,
        config.rooms,
        pairs,
        &sfu_delays,
    );
    let join = JoinStats::of(&outcomes);

    let mut relay = Vec::new();
    for &mode in &config.relay_modes {
        relay.push(
            run_relay(config, &outcomes, &shared, mode)
                .await
                .with_context(|| format!("the bare relay ({mode:?})"))?,
        );
    }
    Ok(Report::new(
        config,
        total,
        ready,
        expecting_video,
        sfu,
        join,
        relay,
        &outcomes,
    ))
}

/// Feeds the relay the streams the SFU forwarded and measures it over the same window.
async fn run_relay(
    config: &LoadConfig,
    outcomes: &[Outcome],
    shared: &Arc<Shared>,
    mode: SendMode,
) -> anyhow::Result<RelayResult> {
    let mut by_room: HashMap<&str, Vec<&Outcome>> = HashMap::new();
    for o in outcomes {
        by_room.entry(o.room.as_str()).or_default().push(o);
    }
    let publisher_ids: Vec<String> = (0..config.publishers).map(|k| format!("p{k:03}")).collect();
    let mut routes: HashMap<SocketAddr, Vec<SocketAddr>> = HashMap::new();
    let mut feeds = Vec::new();
    let mut drains = Vec::new();
    for members in by_room.values() {
        let mut drain_addr = HashMap::new();
        for o in members {
            let socket = StdUdpSocket::bind("127.0.0.1:0")?;
            drain_addr.insert(o.id.clone(), socket.local_addr()?);
            drains.push(socket);
        }
        for p in &publisher_ids {
            let streams = relay::feed_sockets()?;
            for s in &streams {
                let mut to = Vec::new();
                for o in members.iter().filter(|o| &o.id != p) {
                    let layer = match o.layers.get(p).map(String::as_str) {
                        Some("low") => 0,
                        Some("medium") => 1,
                        _ => 2,
                    };
                    if s.layer.is_none_or(|l| l == layer) {
                        to.extend(drain_addr.get(&o.id).copied());
                    }
                }
                routes.insert(s.socket.local_addr()?, to);
            }
            feeds.push(streams);
        }
    }
    let relay = Relay::start(routes, mode)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (stop_feeds_tx, stop_feeds_rx) = watch::channel(false);
    let drained = Arc::new(DrainCounters::default());
    let mut tasks = Vec::new();
    for socket in drains {
        tasks.push(tokio::spawn(relay::drain(
            socket,
            drained.clone(),
            shared.clone(),
            stop_rx.clone(),
        )));
    }
    for streams in feeds {
        tasks.push(tokio::spawn(relay::feed(
            streams,
            relay.addr,
            shared.clone(),
            stop_feeds_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    shared.measuring.store(true, Relaxed);
    let (cpu0, in0, out0, drained0, t0) = (
        relay.tid.cpu()?,
        relay.counters.packets_in.load(Relaxed),
        relay.counters.packets_out.load(Relaxed),
        drained.packets.load(Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(config.duration).await;
    let fed_until = Instant::now();
    let _ = stop_feeds_tx.send(true);
    // Packets in flight at the end of the window still arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (cpu1, in1, out1) = (
        relay.tid.cpu()?,
        relay.counters.packets_in.load(Relaxed),
        relay.counters.packets_out.load(Relaxed),
    );
    let drained1 = drained.packets.load(Relaxed);
    shared.measuring.store(false, Relaxed);
    let delays = std::mem::take(&mut *lock(&shared.delays));
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let failures = relay.counters.send_failures.load(Relaxed);
    relay.stop();
    let window = fed_until - t0;
    let cpu = cpu1.saturating_sub(cpu0);
    let out = out1 - out0;
    Ok(RelayResult {
        mode,
        window_s: window.as_secs_f64(),
        thread_cpu_s: cpu.as_secs_f64(),
        packets_in: in1 - in0,
        packets_out: out,
        send_failures: failures,
        cpu_ns_per_packet: (out > 0).then(|| cpu.as_nanos() as f64 / out as f64),
        received: drained1.saturating_sub(drained0),
        audio_delay_ms: percentiles(&delays.audio),
    })
}
