//! The recorder of one session: a cheap, never-blocking handle for the SFU, and the
//! thread that writes every track and the mix.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::SessionClock;
use crate::error::{PushError, RecordingError};
use crate::frame::Frame;
use crate::mix_writer::MixEnd;
use crate::mixer::MixConfig;
use crate::session::{Command, Session};
use crate::sidecar::{SenderReport, TrackEnd};
use crate::stats::{RecorderStats, Shared};
use crate::track::TrackSpec;

/// The default of [`RecorderConfig::min_free_bytes`]: 256 MiB, over an hour of a
/// full Giunta's tracks and mix, far more than closing the files takes.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 256 * 1024 * 1024;

/// How a session is recorded.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// The folder of the session's recording (created if missing).
    pub dir: PathBuf,
    /// The live mix's settings, or `None` for no mix.
    pub mix: Option<MixConfig>,
    /// How far behind real time the mix is made, so that packets delayed by the network
    /// are still mixed (a packet later than this is left out of the mix, not of its
    /// track's file).
    pub mix_latency: Duration,
    /// The bit rate of the mix's Opus master.
    pub mix_bitrate: i32,
    /// The mix's file stem (`mix`; another one when a session is recorded in several
    /// runs into one folder, e.g. after a restart of the service).
    pub mix_name: String,
    /// How many frames may wait for the writer before new ones are dropped (and
    /// counted): the SFU is never blocked.
    pub queue_frames: usize,
    /// How often every file is made durable (fdatasync): at most one second.
    pub sync_interval: Duration,
    /// Below this much free room on the recordings' disk (checked every second) the
    /// recorder reports [`RecorderEvent::StorageLow`], so that the recording is stopped
    /// while its files can still be closed cleanly. 0: not watched.
    pub min_free_bytes: u64,
}

impl RecorderConfig {
    /// The defaults: mix on, 300 ms behind real time, Opus at 64 kbit/s, 16 384 frames
    /// of queue (over ten seconds of a full Giunta), files synced every second.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            mix: Some(MixConfig::default()),
            mix_latency: Duration::from_millis(300),
            mix_bitrate: 64_000,
            mix_name: crate::mix_writer::MIX_NAME.to_owned(),
            queue_frames: 16_384,
            sync_interval: Duration::from_secs(1),
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
        }
    }
}

/// A track of the recording, as named by [`Recorder::add_track`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TrackId(pub(crate) u64);

/// What the recorder asks of the SFU or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecorderEvent {
    /// A video track waits for a keyframe to start its file: request one (PLI/FIR).
    KeyframeWanted(TrackId),
    /// A track's file failed (disk full, pipeline error): it is no longer written.
    TrackFailed {
        /// The track.
        track: TrackId,
        /// What happened.
        error: String,
    },
    /// The recordings' disk has less free room than [`RecorderConfig::min_free_bytes`]:
    /// stop the recording now, while every file can still be closed cleanly. Sent once.
    StorageLow {
        /// Free bytes at the check.
        free_bytes: u64,
    },
    /// A write failed because the disk is full (the files concerned are also reported
    /// as [`RecorderEvent::TrackFailed`], each cut back to its last whole element).
    /// Sent once.
    StorageFull {
        /// What the operating system said.
        error: String,
    },
    /// The live mix failed and is no longer written; the tracks go on.
    MixFailed {
        /// What happened.
        error: String,
    },
}

/// What was recorded, once the recorder has stopped.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecordingSummary {
    /// Every track that was added, in order.
    pub tracks: Vec<TrackSummary>,
    /// The mix, if it was on and closed cleanly.
    pub mix: Option<MixEnd>,
    /// The mix's error, if it failed.
    pub mix_error: Option<String>,
    /// Frames dropped because the queue was full.
    pub dropped_frames: u64,
}

/// What was recorded of one track.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrackSummary {
    /// The track.
    pub track: TrackId,
    /// Its working master.
    pub file: PathBuf,
    /// How it ended (`None` if no frame was ever written).
    pub end: Option<TrackEnd>,
    /// Its error, if it failed.
    pub error: Option<String>,
}

/// The recorder of one session. Every call takes a few hundred nanoseconds and never
/// blocks: frames go through a queue to the session's writer thread, which writes each
/// track's working master, the live mix and their sidecars. Dropping the handle also
/// stops the recording (the thread closes the files on its own).
pub struct Recorder {
    tx: mpsc::Sender<Command>,
    events: mpsc::Receiver<RecorderEvent>,
    next_track: AtomicU64,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    stats: RecorderStats,
    limit: usize,
    clock: SessionClock,
    thread: Option<JoinHandle<RecordingSummary>>,
}

impl Recorder {
    /// Starts recording a session into `config.dir`: the mix (if on) starts now.
    pub fn start(config: RecorderConfig) -> Result<Self, RecordingError> {
        std::fs::create_dir_all(&config.dir).map_err(|e| RecordingError::io(&config.dir, e))?;
        // GStreamer first: its first initialisation in a process may rebuild the plugin
        // registry (seconds), which must not fall inside the mix's timeline.
        crate::pipeline::init()?;
        if config.min_free_bytes > 0
            && let Ok(free) = crate::storage::free_bytes(&config.dir)
            && free < config.min_free_bytes
        {
            return Err(RecordingError::StorageLow {
                free_bytes: free,
                min_free_bytes: config.min_free_bytes,
            });
        }
        let clock = SessionClock::now();
        let (tx, rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let stats = RecorderStats {
            shared: Arc::new(Shared::default()),
            queued: Arc::clone(&queued),
            dropped: Arc::clone(&dropped),
        };
        stats.shared.free_bytes.store(u64::MAX, Ordering::Relaxed);
        let session = Session::new(
            &config,
            clock,
            rx,
            events_tx,
            Arc::clone(&queued),
            Arc::clone(&stats.shared),
        )?;
        let thread = std::thread::Builder::new()
            .name("seduta-recorder".to_owned())
            .spawn(move || session.run())
            .map_err(|e| RecordingError::io(&config.dir, e))?;
        Ok(Self {
            tx,
            events,
            next_track: AtomicU64::new(1),
            queued,
            dropped,
            stats,
            limit: config.queue_frames,
            clock,
            thread: Some(thread),
        })
    }

    /// The session's clock: time zero of the mix.
    pub fn clock(&self) -> SessionClock {
        self.clock
    }

    /// Adds a track; its file starts with its first frame (the first keyframe, for
    /// video: request one, see [`RecorderEvent::KeyframeWanted`]).
    pub fn add_track(&self, spec: TrackSpec) -> Result<TrackId, PushError> {
        let track = TrackId(self.next_track.fetch_add(1, Ordering::Relaxed));
        self.send(Command::Add(track, spec))?;
        Ok(track)
    }

    /// Gives one received frame of `track` to the recorder. If the writer is too far
    /// behind, the frame is dropped ([`PushError::Full`]) and counted.
    pub fn push(&self, track: TrackId, frame: Frame) -> Result<(), PushError> {
        if self.queued.load(Ordering::Relaxed) >= self.limit {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(PushError::Full);
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.send(Command::Frame(track, frame)).inspect_err(|_| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        })
    }

    /// Gives an RTCP sender report of `track` (its RTP timestamp unrolled like the
    /// frames'), for the sidecar's RTP-to-NTP mapping.
    pub fn sender_report(&self, track: TrackId, report: SenderReport) -> Result<(), PushError> {
        self.send(Command::SenderReport(track, report))
    }

    /// Ends a track (its participant left or stopped sending it): its file is closed.
    pub fn end_track(&self, track: TrackId) -> Result<(), PushError> {
        self.send(Command::End(track))
    }

    /// The next event for the SFU, if any (never blocks).
    pub fn poll_event(&self) -> Option<RecorderEvent> {
        self.events.try_recv().ok()
    }

    /// A handle on this recorder's live figures (bytes, backlog, mix lag, free room),
    /// for monitoring; it stays readable after the recorder has stopped.
    pub fn stats(&self) -> RecorderStats {
        self.stats.clone()
    }

    /// Frames dropped so far because the queue was full.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops recording: every file is closed cleanly. Blocks until done (a fraction of
    /// a second): call it from a blocking context (`spawn_blocking`).
    pub fn stop(mut self) -> Result<RecordingSummary, RecordingError> {
        let _ = self.tx.send(Command::Stop(Instant::now()));
        let thread = self.thread.take().ok_or(RecordingError::ThreadPanicked)?;
        let mut summary = thread.join().map_err(|_| RecordingError::ThreadPanicked)?;
        summary.dropped_frames = self.dropped.load(Ordering::Relaxed);
        Ok(summary)
    }

    fn send(&self, command: Command) -> Result<(), PushError> {
        self.tx.send(command).map_err(|_| PushError::Stopped)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // The thread sees the closed queue, closes every file and ends by itself.
        let _ = self.tx.send(Command::Stop(Instant::now()));
    }
}
