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
