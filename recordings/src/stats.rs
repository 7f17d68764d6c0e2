//! Live figures of a running recorder, for monitoring: read from any thread at any
//! time (a metrics scrape), written by the session's writer thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What the writer thread publishes (relaxed atomics: figures, not synchronisation).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Bytes in the run's files: the tracks (ended ones included) and the mix.
    pub(crate) bytes: AtomicU64,
    /// How far the mix is behind real time beyond its look-ahead, in milliseconds.
    pub(crate) mix_lag_ms: AtomicU64,
    /// Free bytes on the recordings' disk at the last check (`u64::MAX`: unknown).
    pub(crate) free_bytes: AtomicU64,
}

/// A handle on a recorder's live figures; clones share them, and it outlives the
/// recorder (the last figures stay readable).
#[derive(Debug, Clone)]
pub struct RecorderStats {
    pub(crate) shared: Arc<Shared>,
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) dropped: Arc<AtomicU64>,
}

impl RecorderStats {
    /// Bytes written so far in this run's files (tracks and mix), as of the last sync
    /// (every second).
    pub fn bytes_written(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    /// Frames handed over and not yet written: the writer's backlog.
    pub fn queued_frames(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Frames dropped because the writer's backlog was full.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How far the live mix is behind real time beyond its look-ahead (zero when it
    /// keeps up, or when there is no mix).
    pub fn mix_lag(&self) -> Duration {
        Duration::from_millis(self.shared.mix_lag_ms.load(Ordering::Relaxed))
    }

    /// Free bytes on the recordings' disk at the last check (every second), if known.
    pub fn free_bytes(&self) -> Option<u64> {
        match self.shared.free_bytes.load(Ordering::Relaxed) {
            u64::MAX => None,
            free => Some(free),
        }
    }
}

/// A recorder's live figures at one instant, as plain data: what a remote media node
/// reports to the control plane, which keeps them in a [`RecorderStats::detached`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// See [`RecorderStats::bytes_written`].
    pub bytes: u64,
    /// See [`RecorderStats::queued_frames`].
    pub queued: u64,
    /// See [`RecorderStats::dropped_frames`].
    pub dropped: u64,
    /// See [`RecorderStats::mix_lag`], in milliseconds.
    pub mix_lag_ms: u64,
    /// See [`RecorderStats::free_bytes`].
    pub free_bytes: Option<u64>,
}

impl RecorderStats {
    /// Figures that belong to no local recorder: a mirror of a recorder that runs
    /// elsewhere, kept current with [`RecorderStats::update`].
    pub fn detached() -> Self {
        let shared = Shared::default();
        shared.free_bytes.store(u64::MAX, Ordering::Relaxed);
        Self {
            shared: Arc::new(shared),
            queued: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The figures now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            bytes: self.bytes_written(),
            queued: self.queued_frames() as u64,
            dropped: self.dropped_frames(),
            mix_lag_ms: self.mix_lag().as_millis() as u64,
            free_bytes: self.free_bytes(),
        }
    }

    /// Overwrites the figures with those reported by the recorder's own host.
    pub fn update(&self, s: &StatsSnapshot) {
        self.shared.bytes.store(s.bytes, Ordering::Relaxed);
        self.shared
            .mix_lag_ms
            .store(s.mix_lag_ms, Ordering::Relaxed);
        let free = s.free_bytes.unwrap_or(u64::MAX);
        self.shared.free_bytes.store(free, Ordering::Relaxed);
        self.queued.store(s.queued as usize, Ordering::Relaxed);
        self.dropped.store(s.dropped, Ordering::Relaxed);
    }
}
