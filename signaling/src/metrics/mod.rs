//! Prometheus metrics (`GET /metrics`, text exposition format): the media plane's
//! traffic (packets and bytes in and out, keyframe requests, NACKs, send failures),
//! its gauges (tracks, the subscribers' bandwidth estimates, the publishers'
//! bitrate), the meetings (sessions by phase, connected participants, each session's
//! quorum, recordings running), layer switches, the join time and the delivery
//! outbox's backlog. No personal data: sessions appear by id, people only as counts.
//!
//! The hub, the single owner of the meetings, answers a [`HubStats`] snapshot at each
//! scrape and observes join times and layer switches as they happen; the media
//! plane's counters are process-wide atomics read at the scrape; its gauges and the
//! outbox's backlog are asked for at the scrape ([`Extras`]).

mod extras;
mod render;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

pub use extras::{ESTIMATE_BUCKETS_BPS, Extras};
pub use render::render;

/// What the hub reports at a scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubStats {
    /// Stored sessions loaded in the hub, by phase (`convened`, `open`, …).
    pub sessions_by_phase: Vec<(String, u64)>,
    /// Participants connected (signaling), over every room.
    pub participants: u64,
    /// Each running session's quorum.
    pub quorum: Vec<SessionQuorum>,
    /// Sessions whose recorder runs (paused ones included).
    pub recordings: u64,
    /// The running recorders' figures, summed (or the worst of them).
    pub recording: RecordingFigures,
}

/// The running recorders at a scrape: what an operator watches to see a recording
/// falling behind or its disk filling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingFigures {
    /// Bytes in the running recordings' files (tracks and mix).
    pub bytes: u64,
    /// Frames waiting for the recorders' writers.
    pub backlog_frames: u64,
    /// Frames the running recorders dropped because their writer was behind.
    pub dropped_frames: u64,
    /// The largest delay of a live mix behind real time beyond its look-ahead.
    pub mix_lag_seconds: f64,
    /// Free bytes on the recordings' disk (`None`: this server does not record).
    pub disk_free_bytes: Option<u64>,
}

/// One session's quorum as the hub computes it now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionQuorum {
    /// The session id.
    pub session: String,
    /// Members present and counted.
    pub present: u32,
    /// Members required.
    pub required: u32,
    /// Whether the quorum holds.
    pub reached: bool,
}

/// The metrics the service observes as things happen, and the registry they live in.
#[derive(Clone)]
pub struct Metrics {
    pub(crate) registry: Registry,
    /// Seconds from a participant's join to their first connected media peer.
    pub(crate) join_seconds: Histogram,
    /// Simulcast layer switches made for subscribers.
    pub(crate) layer_switches: IntCounter,
    /// Recording alarms by code (`disk_full`, `mix_failed`).
    pub(crate) recording_alarms: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with Seduta's metrics.
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("seduta".into()), None).unwrap_or_else(|_| Registry::new());
        // Constant names, help texts and buckets: these cannot fail.
        let join_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "join_seconds",
                "Seconds from a participant's join to their first connected media peer",
            )
            .buckets(vec![
                0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
            ]),
        )
        .expect("valid histogram options");
        let layer_switches = IntCounter::new(
            "layer_switches_total",
            "Simulcast layer switches for subscribers",
        )
        .expect("valid counter options");
        let _ = registry.register(Box::new(join_seconds.clone()));
        let _ = registry.register(Box::new(layer_switches.clone()));
        let recording_alarms = IntCounterVec::new(
            Opts::new(
                "recording_alarms_total",
                "Recording alarms: disk_full (the recording was stopped or refused), mix_failed",
            ),
            &["code"],
        )
        .expect("valid counter options");
        let _ = registry.register(Box::new(recording_alarms.clone()));
        Self {
            registry,
            join_seconds,
            layer_switches,
            recording_alarms,
        }
    }

    /// A join took `seconds` to its first connected media peer.
    pub fn observe_join(&self, seconds: f64) {
        self.join_seconds.observe(seconds);
    }

    /// A recording alarm was raised (`disk_full`, `mix_failed`).
    pub fn recording_alarm(&self, code: &str) {
        self.recording_alarms.with_label_values(&[code]).inc();
    }

    /// A subscriber's layer changed.
    pub fn layer_switched(&self) {
        self.layer_switches.inc();
    }
}
