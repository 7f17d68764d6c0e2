//! The forwarding hot path without sockets: the sans-IO [`Core`] driven by str0m
//! peers in memory (a publisher sending Opus and three-layer VP8 simulcast, each
//! subscriber receiving what the SFU forwards), on a virtual clock.
//!
//! Criterion times the core's work per 20 ms of media (one audio frame and every
//! other step a video frame per layer from every publisher), and before that a fixed
//! run prints, counted inside the core's calls only: CPU per forwarded RTP packet and
//! heap allocations per forwarded RTP packet (a counting global allocator).
//!
//! `cargo bench -p seduta-sfu --bench forward`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use seduta_sfu::sansio::{self, Core};
use seduta_sfu::{
    Layer, ParticipantId, PublishedTrackInfo, RoomId, SfuEvent, SubscriptionPrefs, TrackId,
    TrackKind, TrackSource,
};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaKind, MediaTime, Mid, Pt, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Counts heap allocations made while `COUNTING` is set on the allocating thread.
struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call to the system allocator; the counting allocates nothing.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Media time of one step.
const STEP: Duration = Duration::from_millis(20);
/// Simulcast layers: rid, frame size in bytes (about 150, 450, 1300 kbit/s at 25 fps),
/// keyframe width and height.
const LAYERS: [(&str, usize, u16, u16); 3] = [
    ("q", 750, 320, 180),
    ("h", 2_250, 640, 360),
    ("f", 6_500, 1280, 720),
];

fn sfu_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 50_000))
}

/// A str0m peer of one participant, on a made-up address.
struct Client {
    rtc: Rtc,
    addr: SocketAddr,
    timeout: Instant,
    video_frames: u64,
}

impl Client {
    fn new(addr: SocketAddr, now: Instant) -> Self {
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_stats_interval(None)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        Self {
            rtc,
            addr,
            timeout: now,
            video_frames: 0,
        }
    }
}

struct Publisher {
    client: usize,
    audio: Mid,
    video: Mid,
    pts: Option<(Pt, Pt)>,
    frame: u64,
    force_key: [bool; 3],
}

/// The core and its peers on a virtual clock.
struct World {
    now: Instant,
    start: Instant,
    steps: u64,
    core: Core,
    room: RoomId,
    clients: Vec<Client>,
    by_addr: HashMap<SocketAddr, usize>,
    subscriber_of: HashMap<ParticipantId, usize>,
    publishers: Vec<Publisher>,
    /// Time spent inside the core's calls.
    core_time: Duration,
    /// Allocations inside the core's calls.
    core_allocs: u64,
    /// RTP packets the core sent, probes (padding bit set) aside.
    forwarded: u64,
    to_sfu: Vec<(SocketAddr, Vec<u8>)>,
    /// `max_height` every subscriber asks for every video track.
    max_height: Option<u32>,
    /// The layer forwarded per (subscriber, track), from the core's events.
    layers: HashMap<(ParticipantId, TrackId), Layer>,
}

fn is_rtp(bytes: &[u8]) -> bool {
    matches!(bytes, [first, second, ..] if first >> 6 == 2 && !(192..=223).contains(second))
}

impl World {
    /// `participants` in one room, the first `publishers` of them publishing, every
    /// subscriber asking `max_height` (if any) for every video track; runs for
    /// [`SETTLE`] so that bandwidth estimates and layers settle.
    fn new(participants: usize, publishers: usize, max_height: Option<u32>) -> Self {
        let now = Instant::now();
        let candidate = Candidate::host(sfu_addr(), "udp").expect("candidate");
        let mut w = World {
            now,
            start: now,
            steps: 0,
            core: Core::new(vec![candidate], false, now),
            room: RoomId("bench".into()),
            clients: Vec::new(),
            by_addr: HashMap::new(),
            subscriber_of: HashMap::new(),
            publishers: Vec::new(),
            core_time: Duration::ZERO,
            core_allocs: 0,
            forwarded: 0,
            to_sfu: Vec::new(),
            max_height,
            layers: HashMap::new(),
        };
        for i in 0..participants {
            let id = ParticipantId(format!("p{i}"));
            sansio::join(&mut w.core, w.room.clone(), id.clone(), w.now).expect("join");
            let c = w.add_client();
            w.subscriber_of.insert(id.clone(), c);
            if i < publishers {
                w.publish(id);
            }
            w.handle_events();
        }
        let settle = w.now + SETTLE;
        while w.now < settle {
            w.step();
            if std::env::var_os("FORWARD_TRACE").is_some() && w.steps.is_multiple_of(50) {
                let t = (w.now - w.start).as_secs_f64();
                eprintln!("{t:.1} s: layers low/medium/high {:?}", w.layer_counts());
            }
        }
        w
    }

    /// (subscriber, track) pairs per forwarded layer.
    fn layer_counts(&self) -> [usize; 3] {
        let mut n = [0; 3];
        for l in self.layers.values() {
            n[*l as usize] += 1;
        }
        n
    }

    fn add_client(&mut self) -> usize {
        let n = self.clients.len();
        let addr = SocketAddr::from(([10, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8], 40_000));
        self.clients.push(Client::new(addr, self.now));
        self.by_addr.insert(addr, n);
        n
    }

    fn publish(&mut self, id: ParticipantId) {
        let c = self.add_client();
        let rtc = &mut self.clients[c].rtc;
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let mut simulcast = Simulcast::new();
        for (rid, ..) in LAYERS {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let video = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            None,
            None,
            Some(simulcast),
        );
        let (offer, pending) = api.apply().expect("offer");
        let tracks = vec![
            PublishedTrackInfo {
                mid: audio.to_string(),
                kind: TrackKind::Audio,
                source: TrackSource::Microphone,
            },
            PublishedTrackInfo {
                mid: video.to_string(),
                kind: TrackKind::Video,
                source: TrackSource::Camera,
            },
        ];
        let answer = sansio::publish(
            &mut self.core,
            self.room.clone(),
            id,
            offer.to_sdp_string(),
            tracks,
            self.now,
        )
        .expect("publish");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("answer");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("accept");
        self.publishers.push(Publisher {
            client: c,
            audio,
            video,
            pts: None,
            frame: 0,
            force_key: [true; 3],
        });
    }

    /// Answers the core's subscriber offers.
    fn handle_events(&mut self) {
        for event in std::mem::take(&mut self.core.events) {
            if let SfuEvent::LayerChanged {
                participant,
                track,
                layer,
                ..
            } = event
            {
                self.layers.insert((participant, track), layer);
            } else if let SfuEvent::SubscriberOffer {
                participant,
                sdp,
                tracks,
                ..
            } = event
            {
                let c = self.subscriber_of[&participant];
                let offer = SdpOffer::from_sdp_string(&sdp).expect("offer");
                let answer = self.clients[c]
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .expect("accept offer");
                sansio::subscriber_answer(
                    &mut self.core,
                    self.room.clone(),
                    participant.clone(),
                    answer.to_sdp_string(),
                    self.now,
                )
                .expect("subscriber answer");
                for t in tracks.into_iter().filter(|t| t.kind == TrackKind::Video) {
                    let prefs = SubscriptionPrefs {
                        max_height: self.max_height,
                        paused: false,
                    };
                    sansio::set_subscription(
                        &mut self.core,
                        self.room.clone(),
                        participant.clone(),
                        t.track,
                        prefs,
                        self.now,
                    )
                    .expect("subscription");
                }
            }
        }
    }

    /// Runs `f` on the core, timing it and counting its allocations.
    fn in_core<R>(&mut self, f: impl FnOnce(&mut Core, Instant) -> R) -> R {
        let now = self.now;
        COUNTING.with(|c| c.set(true));
        let before = ALLOCS.load(Relaxed);
        let t = Instant::now();
        let r = f(&mut self.core, now);
        self.core_time += t.elapsed();
        self.core_allocs += ALLOCS.load(Relaxed) - before;
        COUNTING.with(|c| c.set(false));
        r
    }

    /// Moves packets between the peers and the core until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for c in 0..self.clients.len() {
                let client = &mut self.clients[c];
                loop {
                    match client.rtc.poll_output().expect("poll") {
                        Output::Transmit(t) => {
                            self.to_sfu.push((client.addr, t.contents.to_vec()));
                        }
                        Output::Timeout(t) => {
                            client.timeout = t;
                            break;
                        }
                        Output::Event(Event::MediaData(d))
                            if d.params.spec().codec == Codec::Vp8 =>
                        {
                            client.video_frames += 1;
                        }
                        Output::Event(Event::KeyframeRequest(req)) => {
                            if let Some(p) = self.publishers.iter_mut().find(|p| p.client == c) {
                                for (l, (rid, ..)) in LAYERS.iter().enumerate() {
                                    if req.rid.is_none_or(|r| r == Rid::from(*rid)) {
                                        p.force_key[l] = true;
                                    }
                                }
                            }
                        }
                        Output::Event(_) => {}
                    }
                }
            }
            let packets = std::mem::take(&mut self.to_sfu);
            moved |= !packets.is_empty();
            for (source, bytes) in &packets {
                self.in_core(|core, now| {
                    core.handle_receive(Protocol::Udp, *source, sfu_addr(), bytes, now);
                });
            }
            if !packets.is_empty() {
                self.in_core(|core, now| core.flush(now));
            }
            if !self.core.events.is_empty() {
                self.handle_events();
            }
            let mut out = std::mem::take(&mut self.core.out);
            moved |= !out.is_empty();
            for packet in out.packets() {
                // Padding-only probes of the bandwidth estimator are not forwarded media.
                if is_rtp(&packet.bytes) && packet.bytes[0] & 0x20 == 0 {
                    self.forwarded += 1;
                }
                let Some(&c) = self.by_addr.get(&packet.destination) else {
                    continue;
                };
                let client = &mut self.clients[c];
                let Ok(contents) = packet.bytes.as_slice().try_into() else {
                    continue;
                };
                let _ = client.rtc.handle_input(Input::Receive(
                    self.now,
                    Receive {
                        proto: Protocol::Udp,
                        source: sfu_addr(),
                        destination: client.addr,
                        contents,
                    },
                ));
            }
            // The engine hands the buffers back after sending, as here.
            out.recycle();
            self.core.out = out;
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock to `until`, firing every timeout on the way.
    fn advance(&mut self, until: Instant) {
        loop {
            if self.core.next_timeout() <= self.now {
                self.in_core(|core, now| core.handle_timeout(now));
            }
            let now = self.now;
            for c in &mut self.clients {
                if c.timeout <= now {
                    let _ = c.rtc.handle_input(Input::Timeout(now));
                }
            }
            self.pump();
            if self.now >= until {
                break;
            }
            // The next timeout strictly ahead: time always moves.
            self.now = self
                .clients
                .iter()
                .map(|c| c.timeout)
                .chain([self.core.next_timeout()])
                .filter(|t| *t > now)
                .min()
                .unwrap_or(until)
                .min(until);
        }
    }

    /// One step of media: audio from every publisher, video every other step.
    fn step(&mut self) {
        self.steps += 1;
        let now = self.now;
        for p in &mut self.publishers {
            let rtc = &mut self.clients[p.client].rtc;
            if !rtc.is_connected() {
                continue;
            }
            if p.pts.is_none() {
                let pt = |rtc: &mut Rtc, mid: Mid, codec: Codec| {
                    rtc.writer(mid)?
                        .payload_params()
                        .find(|x| x.spec().codec == codec)
                        .map(|x| x.pt())
                };
                if let (Some(a), Some(v)) =
                    (pt(rtc, p.audio, Codec::Opus), pt(rtc, p.video, Codec::Vp8))
                {
                    p.pts = Some((a, v));
                }
            }
            let Some((pt_audio, pt_video)) = p.pts else {
                continue;
            };
            if let Some(w) = rtc.writer(p.audio) {
                let _ = w.audio_level(-30, true).write(
                    pt_audio,
                    now,
                    MediaTime::new(p.frame * 960, Frequency::FORTY_EIGHT_KHZ),
                    vec![0x5a; 120],
                );
            }
            if p.frame % 2 == 0 {
                for (l, (rid, size, width, height)) in LAYERS.iter().enumerate() {
                    let key = p.force_key[l] || (p.frame / 2) % 50 == 0;
                    p.force_key[l] = false;
                    if let Some(w) = rtc.writer(p.video) {
                        let _ = w.rid(Rid::from(*rid)).write(
                            pt_video,
                            now,
                            MediaTime::new(p.frame * 1_800, Frequency::NINETY_KHZ),
                            vp8_frame(*size, key, *width, *height),
                        );
                    }
                }
            }
            p.frame += 1;
        }
        self.pump();
        self.advance(now + STEP);
    }
}

/// A VP8-shaped frame: a keyframe header with the picture size, or an inter frame.
fn vp8_frame(size: usize, key: bool, width: u16, height: u16) -> Vec<u8> {
    let mut f = vec![0x55u8; if key { size * 3 } else { size }];
    if key {
        f[..3].copy_from_slice(&[0x10, 0x00, 0x00]);
        f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        f[6..8].copy_from_slice(&width.to_le_bytes());
        f[8..10].copy_from_slice(&height.to_le_bytes());
    } else {
        f[0] = 0x11;
    }
    f
}

/// The rooms benchmarked: name, participants, publishers, and the `max_height`
/// every subscriber asks for (none: the layer follows the bandwidth estimate alone).
/// The layers the SFU settles on are printed with the figures; `FORWARD_TRACE=1`
/// prints them while settling.
const SHAPES: [(&str, usize, usize, Option<u32>); 2] =
    [("giunta-9x9", 9, 9, None), ("large-1x100", 101, 1, None)];

/// Media time run before measuring.
const SETTLE: Duration = Duration::from_secs(20);

/// Prints the per-packet figures of a fixed run of each shape. `FORWARD_SHAPE`
/// (a shape's name) runs only that one; `FORWARD_SECONDS` sets the media time
/// measured (10 s); `FORWARD_MAX_HEIGHT` the tile size asked for every video track;
/// `FORWARD_REPORT_ONLY` skips criterion (for profilers).
fn per_packet_report() {
    let only = std::env::var("FORWARD_SHAPE").ok();
    let seconds: u64 = std::env::var("FORWARD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    for (name, participants, publishers, max_height) in SHAPES {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        // A fixed tile size pins the layer, for comparing builds whose estimates
        // settle differently.
        let max_height = std::env::var("FORWARD_MAX_HEIGHT")
            .ok()
            .and_then(|h| h.parse().ok())
            .or(max_height);
        let mut w = World::new(participants, publishers, max_height);
        let warm = w.now;
        let (t0, a0, f0) = (w.core_time, w.core_allocs, w.forwarded);
        let steps = seconds * 1_000 / STEP.as_millis() as u64;
        for _ in 0..steps {
            w.step();
        }
        let forwarded = w.forwarded - f0;
        let ns = (w.core_time - t0).as_nanos() as f64 / forwarded.max(1) as f64;
        let allocs = (w.core_allocs - a0) as f64 / forwarded.max(1) as f64;
        let [low, medium, high] = w.layer_counts();
        println!(
            "{name}: {forwarded} RTP packets forwarded in {} s of media ({:.0} per 20 ms; layers low/medium/high {low}/{medium}/{high} at the end, after {:.0} s of media to settle); core CPU {ns:.0} ns and {allocs:.2} heap allocations per forwarded packet",
            steps * STEP.as_millis() as u64 / 1000,
            forwarded as f64 / steps as f64,
            (warm - w.start).as_secs_f64(),
        );
    }
}

fn bench_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let mut per_packet = Vec::new();
    for (name, participants, publishers, max_height) in SHAPES {
        let mut w = World::new(participants, publishers, max_height);
        let (t0, f0) = (w.core_time, w.forwarded);
        group.bench_function(format!("{name}/20ms-of-media"), |b| {
            b.iter_custom(|iters| {
                let before = w.core_time;
                for _ in 0..iters {
                    w.step();
                }
                black_box(w.core_time - before)
            })
        });
        let forwarded = (w.forwarded - f0).max(1);
        per_packet.push((
            name,
            (w.core_time - t0).as_nanos() as f64 / forwarded as f64,
        ));
    }
    group.finish();
    for (name, ns) in per_packet {
        println!("{name}: over the criterion run, core CPU {ns:.0} ns per forwarded packet");
    }
}

criterion_group!(benches, bench_forward);

fn main() {
    per_packet_report();
    if std::env::var_os("FORWARD_REPORT_ONLY").is_some() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
