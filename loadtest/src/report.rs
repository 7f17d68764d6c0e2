//! The figures of one run, as JSON and as text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::client::{CountersSnapshot, Delays, Outcome};
use crate::relay::SendMode;
use crate::{LoadConfig, Snap};

/// p50, p95 and max of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// Percentiles of samples in microseconds; `None` without samples.
pub fn percentiles(micros: &[u32]) -> Option<Percentiles> {
    if micros.is_empty() {
        return None;
    }
    let mut v = micros.to_vec();
    v.sort_unstable();
    let at = |q: f64| {
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
        f64::from(v[i]) / 1_000.0
    };
    Some(Percentiles {
        n: v.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        max_ms: at(1.0),
    })
}

/// The server and what its subscribers received, over the window.
#[derive(Debug, Clone, Serialize)]
pub struct SfuResult {
    /// Length of the window.
    pub window_s: f64,
    /// The machine's 1-minute load average at the start and the end of the window
    /// (above the CPU count, other work competed with this run).
    pub load_average: (f64, f64),
    /// Datagrams the kernel dropped over the window (the whole namespace: server
    /// and peers).
    pub udp_drops: crate::sys::UdpDrops,
    /// CPU time of the server thread (media loop, signaling and HTTP).
    pub server_thread_cpu_s: f64,
    /// That CPU time over the window: 1.0 is one core saturated.
    pub server_thread_load: f64,
    /// CPU time of the whole process: server, synthetic peers, everything.
    pub process_cpu_s: f64,
    /// The SFU's counters over the window.
    pub traffic: seduta_sfu::Traffic,
    /// Forwarded RTP packets per second (media and retransmissions; probes aside).
    pub forwarded_pps: f64,
    /// Server thread CPU per forwarded RTP packet, in nanoseconds.
    pub cpu_ns_per_forwarded_packet: Option<f64>,
    /// Rooms of this shape one core carries at this cost (rooms × window / CPU).
    pub rooms_per_core: Option<f64>,
    /// Heap allocations on the server thread per forwarded RTP packet.
    pub allocs_per_forwarded_packet: Option<f64>,
    /// Heap held by the server thread at the window's start minus before the first
    /// join, per participant.
    pub heap_per_participant_bytes: Option<f64>,
    /// Process RSS growth from before the first join to the window's start, per
    /// participant: the server's share plus the synthetic peers'.
    pub rss_per_participant_bytes: f64,
    /// What the subscribers received.
    pub received: CountersSnapshot,
    /// Lost packets over packets expected, seen by subscribers.
    pub loss: f64,
    /// Audio frames received over those the publishers sent to them (every
    /// (subscriber, publisher) pair, 50 frames per second): below 1.0, media is
    /// queued or dropped on the way.
    pub audio_delivered: f64,
    /// The same for video frames (25 per second).
    pub video_delivered: f64,
    /// Publisher write to subscriber frame, audio.
    pub audio_delay_ms: Option<Percentiles>,
    /// Publisher write to subscriber frame, video (last packet of the frame).
    pub video_delay_ms: Option<Percentiles>,
}

impl SfuResult {
    pub(crate) fn from_window(
        baseline: &Snap,
        start: &Snap,
        end: &Snap,
        participants: usize,
        rooms: usize,
        pairs: usize,
        delays: &Delays,
    ) -> Self {
        let window = end.at - start.at;
        let cpu = end.server_cpu.saturating_sub(start.server_cpu);
        let traffic = end.traffic.since(&start.traffic);
        let received = end.clients.since(&start.clients);
        // Probes of the bandwidth estimator (padding) are not forwarded media.
        let forwarded = traffic.rtp_out_packets - traffic.rtp_out_padded;
        let per_packet = |x: f64| (forwarded > 0).then(|| x / forwarded as f64);
        let allocs = match (start.alloc, end.alloc) {
            (Some(a), Some(b)) => per_packet((b.server_allocs - a.server_allocs) as f64),
            _ => None,
        };
        let heap = match (baseline.alloc, start.alloc) {
            (Some(a), Some(b)) => Some(
                (b.server_live_bytes - a.server_live_bytes) as f64 / participants.max(1) as f64,
            ),
            _ => None,
        };
        let expected = received.packets + received.lost_packets;
        Self {
            window_s: window.as_secs_f64(),
            load_average: (start.load_average, end.load_average),
            udp_drops: end.udp_drops.since(&start.udp_drops),
            server_thread_cpu_s: cpu.as_secs_f64(),
            server_thread_load: cpu.as_secs_f64() / window.as_secs_f64().max(1e-9),
            process_cpu_s: end
                .process_cpu
                .saturating_sub(start.process_cpu)
                .as_secs_f64(),
            traffic,
            forwarded_pps: forwarded as f64 / window.as_secs_f64().max(1e-9),
            cpu_ns_per_forwarded_packet: per_packet(cpu.as_nanos() as f64),
            rooms_per_core: (cpu > std::time::Duration::ZERO)
                .then(|| rooms as f64 * window.as_secs_f64() / cpu.as_secs_f64()),
            allocs_per_forwarded_packet: allocs,
            heap_per_participant_bytes: heap,
            rss_per_participant_bytes: start.rss.saturating_sub(baseline.rss) as f64
                / participants.max(1) as f64,
            received,
            loss: if expected > 0 {
                received.lost_packets as f64 / expected as f64
            } else {
                0.0
            },
            audio_delivered: received.audio_frames as f64
                / (pairs as f64 * 50.0 * window.as_secs_f64()).max(1.0),
            video_delivered: received.video_frames as f64
                / (pairs as f64 * 25.0 * window.as_secs_f64()).max(1.0),
            audio_delay_ms: percentiles(&delays.audio),
            video_delay_ms: percentiles(&delays.video),
        }
    }
}

/// Join times of the participants that joined while media already flowed.
#[derive(Debug, Clone, Serialize)]
pub struct JoinStats {
    /// Participants whose join was timed.
    pub timed: usize,
    /// Of those, how many received a remote video frame.
    pub got_video: usize,
    /// WebSocket connect to `joined`.
    pub joined_ms: Option<Percentiles>,
    /// WebSocket connect to the first subscriber offer with video.
    pub video_offered_ms: Option<Percentiles>,
    /// WebSocket connect to the subscriber connection up.
    pub subscriber_connected_ms: Option<Percentiles>,
    /// WebSocket connect to the first whole remote video frame.
    pub first_video_ms: Option<Percentiles>,
}

impl JoinStats {
    pub(crate) fn of(outcomes: &[Outcome]) -> Self {
        let joins: Vec<_> = outcomes.iter().filter_map(|o| o.join).collect();
        let micros = |f: &dyn Fn(&crate::client::JoinTiming) -> Option<std::time::Duration>| {
            joins
                .iter()
                .filter_map(f)
                .map(|d| d.as_micros().min(u128::from(u32::MAX)) as u32)
                .collect::<Vec<_>>()
        };
        let first = micros(&|j| j.first_video);
        Self {
            timed: joins.len(),
            got_video: first.len(),
            joined_ms: percentiles(&micros(&|j| Some(j.joined))),
            video_offered_ms: percentiles(&micros(&|j| j.video_offered)),
            subscriber_connected_ms: percentiles(&micros(&|j| j.subscriber_connected)),
            first_video_ms: percentiles(&first),
        }
    }
}

/// The bare relay over its window.
#[derive(Debug, Clone, Serialize)]
pub struct RelayResult {
    /// How it sent.
    pub mode: SendMode,
    /// Length of the window.
    pub window_s: f64,
    /// CPU time of the relay thread.
    pub thread_cpu_s: f64,
    /// Datagrams received.
    pub packets_in: u64,
    /// Datagrams sent.
    pub packets_out: u64,
    /// Sends refused (whole run).
    pub send_failures: u64,
    /// Relay thread CPU per sent datagram, in nanoseconds.
    pub cpu_ns_per_packet: Option<f64>,
    /// Datagrams the receivers got over the window.
    pub received: u64,
    /// Feeder write to receiver, audio packets.
    pub audio_delay_ms: Option<Percentiles>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// What ran.
    pub config: LoadConfig,
    /// Participants started.
    pub participants: usize,
    /// Participants that expected video and received it from every publisher.
    pub ready: u64,
    /// Participants that expected video.
    pub expecting_video: u64,
    /// Participants that failed, with why (the first few).
    pub errors: Vec<String>,
    /// (subscriber, publisher) pairs by the last layer announced.
    pub layers: BTreeMap<String, usize>,
    /// The SFU's window.
    pub sfu: SfuResult,
    /// Join times.
    pub join: JoinStats,
    /// The bare relay, per send mode.
    pub relay: Vec<RelayResult>,
    /// SFU CPU per forwarded packet over the relay's, per relay send mode.
    pub sfu_over_relay: Vec<(SendMode, f64)>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: &LoadConfig,
        participants: usize,
        ready: u64,
        expecting_video: u64,
        sfu: SfuResult,
        join: JoinStats,
        relay: Vec<RelayResult>,
        outcomes: &[Outcome],
    ) -> Self {
        let (cpus, cpu_model) = crate::sys::machine();
        let errors: Vec<String> = outcomes
            .iter()
            .filter_map(|o| {
                o.error
                    .as_ref()
                    .map(|e| format!("{}/{}: {e}", o.room, o.id))
            })
            .take(10)
            .collect();
        let mut layers = BTreeMap::new();
        for o in outcomes {
            for l in o.layers.values() {
                *layers.entry(l.clone()).or_insert(0) += 1;
            }
        }
        let sfu_over_relay = relay
            .iter()
            .filter_map(|r| {
                Some((
                    r.mode,
                    sfu.cpu_ns_per_forwarded_packet? / r.cpu_ns_per_packet?,
                ))
            })
            .collect();
        Self {
            cpus,
            cpu_model,
            config: config.clone(),
            participants,
            ready,
            expecting_video,
            errors,
            layers,
            sfu,
            join,
            relay,
            sfu_over_relay,
        }
    }

    /// Whether media flowed both ways: subscribers got audio and video frames and the
    /// SFU forwarded RTP.
    pub fn media_flowed(&self) -> bool {
        self.sfu.received.audio_frames > 0
            && self.sfu.received.video_frames > 0
            && self.sfu.traffic.rtp_out_packets > 0
    }

    /// The report for people.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let sfu = &self.sfu;
        let t = &sfu.traffic;
        let opt = |v: Option<f64>, digits: usize| match v {
            Some(v) => format!("{v:.digits$}"),
            None => "n/a".into(),
        };
        let pct = |p: &Option<Percentiles>| match p {
            Some(p) => format!(
                "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (n={})",
                p.p50_ms, p.p95_ms, p.max_ms, p.n
            ),
            None => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "machine: {} CPUs, {}; load average {:.1} at the window's start, {:.1} at its end",
            self.cpus, self.cpu_model, sfu.load_average.0, sfu.load_average.1
        );
        let _ = writeln!(
            s,
            "load: {} room(s) x {} participants ({} publishing), window {:.1} s, max_height {}",
            c.rooms,
            c.participants,
            c.publishers,
            sfu.window_s,
            c.max_height.map_or("none".into(), |h| h.to_string()),
        );
        let _ = writeln!(
            s,
            "ready: {}/{} receive video from every publisher; layers {:?}",
            self.ready, self.expecting_video, self.layers
        );
        for e in &self.errors {
            let _ = writeln!(s, "error: {e}");
        }
        let _ = writeln!(s, "SFU (server thread: media loop + signaling):");
        let _ = writeln!(
            s,
            "  RTP in {} pkt, out {} pkt of which {} padding probes ({:.0} forwarded pkt/s, {:.1} Mbit/s RTP out); UDP in {} pkt / {} B, out {} pkt / {} B; send failures {}",
            t.rtp_in_packets,
            t.rtp_out_packets,
            t.rtp_out_padded,
            sfu.forwarded_pps,
            t.rtp_out_bytes as f64 * 8.0 / sfu.window_s.max(1e-9) / 1e6,
            t.udp_in_packets,
            t.udp_in_bytes,
            t.udp_out_packets,
            t.udp_out_bytes,
            t.udp_send_failures,
        );
        let _ = writeln!(
            s,
            "  CPU {:.2} s over {:.1} s (load {:.2} core); process CPU {:.2} s",
            sfu.server_thread_cpu_s, sfu.window_s, sfu.server_thread_load, sfu.process_cpu_s
        );
        let _ = writeln!(
            s,
            "  CPU per forwarded packet: {} ns; rooms of this shape per core: {}",
            opt(sfu.cpu_ns_per_forwarded_packet, 0),
            opt(sfu.rooms_per_core, 1)
        );
        let _ = writeln!(
            s,
            "  heap allocations per forwarded packet: {}; heap per participant: {} KiB; RSS growth per participant (server + peers): {:.0} KiB",
            opt(sfu.allocs_per_forwarded_packet, 2),
            opt(sfu.heap_per_participant_bytes.map(|b| b / 1024.0), 0),
            sfu.rss_per_participant_bytes / 1024.0
        );
        let r = &sfu.received;
        let _ = writeln!(
            s,
            "subscribers: {} audio + {} video frames ({:.1}% and {:.1}% of those sent to them), {} packets, loss {:.3}%, {} keyframe requests reached publishers",
            r.audio_frames,
            r.video_frames,
            sfu.audio_delivered * 100.0,
            sfu.video_delivered * 100.0,
            r.packets,
            sfu.loss * 100.0,
            r.keyframe_requests
        );
        let d = &sfu.udp_drops;
        let _ = writeln!(
            s,
            "  kernel UDP drops in the window: {} receive buffer full ({} at the SFU's socket, {} at the peers'), {} send buffer full",
            d.rcvbuf_errors, d.sfu_socket, d.other_sockets, d.sndbuf_errors
        );
        let _ = writeln!(s, "  delay audio: {}", pct(&sfu.audio_delay_ms));
        let _ = writeln!(s, "  delay video: {}", pct(&sfu.video_delay_ms));
        let j = &self.join;
        let _ = writeln!(
            s,
            "join (timed {}, with video {}): joined {}",
            j.timed,
            j.got_video,
            pct(&j.joined_ms)
        );
        let _ = writeln!(s, "  video offered {}", pct(&j.video_offered_ms));
        let _ = writeln!(
            s,
            "  subscriber connected {}",
            pct(&j.subscriber_connected_ms)
        );
        let _ = writeln!(s, "  first remote video frame {}", pct(&j.first_video_ms));
        for relay in &self.relay {
            let _ = writeln!(
                s,
                "bare relay ({:?}): in {} pkt, out {} pkt, received {}, CPU {:.2} s, {} ns per packet; delay audio {}",
                relay.mode,
                relay.packets_in,
                relay.packets_out,
                relay.received,
                relay.thread_cpu_s,
                opt(relay.cpu_ns_per_packet, 0),
                pct(&relay.audio_delay_ms),
            );
        }
        for (mode, ratio) in &self.sfu_over_relay {
            let _ = writeln!(
                s,
                "SFU / bare relay ({mode:?}) CPU per forwarded packet: {ratio:.1}x"
            );
        }
        s
    }
}
