//! The session's writer thread: takes the recorder's commands, writes the tracks, places
//! audio on the mix timeline, advances the mix and syncs the files.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::clock::SessionClock;
use crate::codec::Codec;
use crate::error::RecordingError;
use crate::frame::Frame;
use crate::mix_writer::MixWriter;
use crate::mixer::{MIX_RATE, Mixer};
use crate::recorder::{RecorderConfig, RecorderEvent, RecordingSummary, TrackId, TrackSummary};
use crate::sidecar::SenderReport;
use crate::stats::Shared;
use crate::storage::free_bytes;
use crate::track::{TrackSpec, TrackWriter, Written};

/// How often the mix advances.
const TICK: Duration = Duration::from_millis(20);

/// How often a keyframe is asked for while a video track waits for one.
const KEYFRAME_RETRY: Duration = Duration::from_secs(1);

/// A packet later than its track's timing predicts by more than this re-anchors the
/// track on the mix timeline (a sender clock that jumped or drifted).
const REANCHOR_SAMPLES: i64 = MIX_RATE as i64 / 2;

/// What the handle sends to the thread.
pub(crate) enum Command {
    Add(TrackId, TrackSpec),
    Frame(TrackId, Frame),
    SenderReport(TrackId, SenderReport),
    End(TrackId),
    /// Stop, as of the instant given: the media ended then, and the mix ends there
    /// too, however long closing the files takes after it.
    Stop(Instant),
}

pub(crate) struct Session {
    dir: std::path::PathBuf,
    clock: SessionClock,
    rx: mpsc::Receiver<Command>,
    events: mpsc::Sender<RecorderEvent>,
    queued: Arc<AtomicUsize>,
    tracks: HashMap<TrackId, TrackState>,
    order: Vec<TrackSummary>,
    mix: Option<MixState>,
    mix_error: Option<String>,
    sync_interval: Duration,
    stats: Arc<Shared>,
    /// Bytes of the tracks already ended in this run.
    ended_bytes: u64,
    min_free_bytes: u64,
    /// The disk alarm (low or full) has been sent: it is sent once.
    storage_alarm: bool,
}

struct TrackState {
    writer: TrackWriter,
    /// The track's RTP timestamp and mix timeline position that line up.
    anchor: Option<(u64, i64)>,
    keyframe_asked: Option<Instant>,
}

struct MixState {
    mixer: Mixer,
    writer: MixWriter,
    latency: u64,
    out: Vec<f32>,
}

impl Session {
    pub(crate) fn new(
        config: &RecorderConfig,
        clock: SessionClock,
        rx: mpsc::Receiver<Command>,
        events: mpsc::Sender<RecorderEvent>,
        queued: Arc<AtomicUsize>,
        stats: Arc<Shared>,
    ) -> Result<Self, RecordingError> {
        let mix = match config.mix {
            None => None,
            Some(mix) => Some(MixState {
                mixer: Mixer::new(mix),
                writer: MixWriter::create_named(
                    &config.dir,
                    &config.mix_name,
                    clock,
                    config.mix_bitrate,
                )?,
                latency: samples(config.mix_latency),
                out: Vec::new(),
            }),
        };
        Ok(Self {
            dir: config.dir.clone(),
            clock,
            rx,
            events,
            queued,
            tracks: HashMap::new(),
            order: Vec::new(),
            mix,
            mix_error: None,
            sync_interval: config.sync_interval.min(Duration::from_secs(1)),
            stats,
            ended_bytes: 0,
            min_free_bytes: config.min_free_bytes,
            storage_alarm: false,
        })
    }

    pub(crate) fn run(mut self) -> RecordingSummary {
        let mut next_tick = Instant::now() + TICK;
        let mut next_sync = Instant::now() + self.sync_interval;
        let stopped_at = loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(Command::Stop(at)) => break at,
                Err(mpsc::RecvTimeoutError::Disconnected) => break Instant::now(),
                Ok(command) => self.handle(command),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if now >= next_tick {
                self.advance_mix(now, false);
                next_tick = (next_tick + TICK).max(now);
            }
            if now >= next_sync {
                self.sync();
                next_sync = (next_sync + self.sync_interval).max(now);
            }
        };
        // What is still queued was received before the stop: write it.
        while let Ok(command) = self.rx.try_recv() {
            if !matches!(command, Command::Stop(_)) {
                self.handle(command);
            }
        }
        self.close(stopped_at)
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Add(track, spec) => self.add(track, spec),
            Command::Frame(track, frame) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                self.frame(track, frame);
            }
            Command::SenderReport(track, report) => {
                if let Some(state) = self.tracks.get_mut(&track)
                    && let Err(e) = state.writer.sender_report(report)
                {
                    self.fail(track, &e);
                }
            }
            Command::End(track) => self.end(track),
            Command::Stop(_) => {}
        }
    }

    fn add(&mut self, track: TrackId, spec: TrackSpec) {
        let file = self
            .dir
            .join(format!("{}.{}", spec.name, spec.codec.extension()));
        let is_video = !spec.codec.is_audio();
        match TrackWriter::new(&self.dir, spec, self.clock) {
            Ok(writer) => {
                self.tracks.insert(
                    track,
                    TrackState {
                        writer,
                        anchor: None,
                        keyframe_asked: None,
                    },
                );
                if is_video {
                    self.ask_keyframe(track);
                }
                self.order.push(TrackSummary {
                    track,
                    file,
                    end: None,
                    error: None,
                });
            }
            Err(e) => {
                self.order.push(TrackSummary {
                    track,
                    file,
                    end: None,
                    error: Some(e.to_string()),
                });
                self.event(RecorderEvent::TrackFailed {
                    track,
                    error: e.to_string(),
                });
            }
        }
    }

    fn frame(&mut self, track: TrackId, frame: Frame) {
        let Some(state) = self.tracks.get_mut(&track) else {
            return;
        };
        if let Some(mix) = &mut self.mix
            && state.writer.spec().codec == Codec::Opus
        {
            let at = place_on_timeline(state, &self.clock, &frame);
            // A packet the mixer cannot use is only left out of the mix.
            let _ = mix.mixer.push(track.0, at, &frame.data);
        }
        match state.writer.write(frame) {
            Ok(Written::WaitingForKeyframe) => {
                let due = state
                    .keyframe_asked
                    .is_none_or(|asked| asked.elapsed() >= KEYFRAME_RETRY);
                if due {
                    self.ask_keyframe(track);
                }
            }
            Ok(_) => {}
            Err(e) => self.fail(track, &e),
        }
    }

    fn end(&mut self, track: TrackId) {
        if let Some(mix) = &mut self.mix {
            mix.mixer.remove(track.0);
        }
        if let Some(state) = self.tracks.remove(&track) {
            self.ended_bytes += state.writer.bytes_written();
            let outcome = state.writer.finish();
            self.record_end(track, outcome);
        }
    }

    fn ask_keyframe(&mut self, track: TrackId) {
        if let Some(state) = self.tracks.get_mut(&track) {
            state.keyframe_asked = Some(Instant::now());
        }
        self.event(RecorderEvent::KeyframeWanted(track));
    }

    fn fail(&mut self, track: TrackId, error: &RecordingError) {
        tracing::warn!(track = track.0, %error, "recording of a track failed");
        if error.is_storage_full() {
            self.storage_full(error);
        }
        if let Some(state) = self.tracks.remove(&track) {
            self.ended_bytes += state.writer.bytes_written();
            let outcome = state.writer.finish();
            self.record_end(track, outcome);
        }
        if let Some(summary) = self.order.iter_mut().find(|s| s.track == track) {
            summary.error.get_or_insert_with(|| error.to_string());
        }
        self.event(RecorderEvent::TrackFailed {
            track,
            error: error.to_string(),
        });
    }

    fn record_end(
        &mut self,
        track: TrackId,
        outcome: Result<Option<crate::sidecar::TrackEnd>, RecordingError>,
    ) {
        if let Some(summary) = self.order.iter_mut().find(|s| s.track == track) {
            match outcome {
                Ok(end) => summary.end = end,
                Err(e) => {
                    summary.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    /// Mixes up to `now` less the latency (or up to `now` at the end).
    fn advance_mix(&mut self, now: Instant, to_the_end: bool) {
        let Some(mix) = &mut self.mix else {
            return;
        };
        let elapsed = samples(self.clock.since_origin(now));
        let until = if to_the_end {
            elapsed.max(mix.mixer.position())
        } else {
            elapsed.saturating_sub(mix.latency)
        };
        if until <= mix.mixer.position() {
            return;
        }
        mix.out.clear();
        mix.mixer.mix(until, &mut mix.out);
        if let Err(e) = mix.writer.write(&mix.out) {
            self.mix_failed(&e);
        }
    }

    /// The mix can no longer be written: it is closed as far as it goes, and reported.
    fn mix_failed(&mut self, error: &RecordingError) {
        tracing::warn!(%error, "the live mix failed");
        if error.is_storage_full() {
            self.storage_full(error);
        }
        self.mix_error = Some(error.to_string());
        self.mix = None;
        self.event(RecorderEvent::MixFailed {
            error: error.to_string(),
        });
    }

    fn storage_full(&mut self, error: &RecordingError) {
        if !std::mem::replace(&mut self.storage_alarm, true) {
            // The error names a file, which names a participant: not at this level.
            tracing::error!("the recordings' disk is full");
            tracing::debug!(%error, "the write refused for lack of room");
            self.event(RecorderEvent::StorageFull {
                error: error.to_string(),
            });
        }
    }

    /// Publishes the run's figures and checks the room left on the disk.
    fn watch(&mut self, now: Instant) {
        let mut bytes = self.ended_bytes;
        bytes += self
            .tracks
            .values()
            .map(|t| t.writer.bytes_written())
            .sum::<u64>();
        let mut lag = 0;
        if let Some(mix) = &self.mix {
            for path in [mix.writer.flac_path(), mix.writer.opus_path()] {
                bytes += std::fs::metadata(path).map_or(0, |m| m.len());
            }
            let behind = samples(self.clock.since_origin(now))
                .saturating_sub(mix.latency)
                .saturating_sub(mix.mixer.position());
            lag = behind * 1000 / u64::from(MIX_RATE);
        }
        store(&self.stats.bytes, bytes);
        store(&self.stats.mix_lag_ms, lag);
        let Ok(free) = free_bytes(&self.dir) else {
            return;
        };
        store(&self.stats.free_bytes, free);
        if free < self.min_free_bytes && !std::mem::replace(&mut self.storage_alarm, true) {
            tracing::error!(
                free_bytes = free,
                min_free_bytes = self.min_free_bytes,
                "the recordings' disk is nearly full"
            );
            self.event(RecorderEvent::StorageLow { free_bytes: free });
        }
    }

    fn sync(&mut self) {
        let mut failed = Vec::new();
        for (&track, state) in &mut self.tracks {
            if let Err(e) = state.writer.sync() {
                failed.push((track, e));
            }
        }
        for (track, e) in failed {
            self.fail(track, &e);
        }
        if let Some(mix) = &mut self.mix
            && let Err(e) = mix.writer.sync()
        {
            self.mix_failed(&e);
        }
        self.watch(Instant::now());
    }

    fn close(mut self, stopped_at: Instant) -> RecordingSummary {
        // The mix first: up to the stop, before closing the tracks takes its time.
        self.advance_mix(stopped_at, true);
        let tracks: Vec<TrackId> = self.tracks.keys().copied().collect();
        for track in tracks {
            self.end(track);
        }
        let mut mix_end = None;
        if let Some(mut mix) = self.mix.take() {
            mix.out.clear();
            mix.mixer.finish(&mut mix.out);
            let outcome = mix
                .writer
                .write(&mix.out)
                .and_then(|()| mix.writer.finish());
            match outcome {
                Ok(end) => mix_end = Some(end),
                Err(e) => self.mix_error = Some(e.to_string()),
            }
        }
        RecordingSummary {
            tracks: self.order,
            mix: mix_end,
            mix_error: self.mix_error,
            dropped_frames: 0,
        }
    }

    fn event(&self, event: RecorderEvent) {
        // Nobody listening is fine: events are advice.
        let _ = self.events.send(event);
    }
}

/// Where a packet of `state`'s track goes on the mix timeline: its RTP time (the
/// sender's capture clock) from the track's anchor. The anchor follows the earliest
/// arrival seen (the least network delay), and moves when the sender's clock jumps.
fn place_on_timeline(state: &mut TrackState, clock: &SessionClock, frame: &Frame) -> u64 {
    let arrival = i64::try_from(samples(clock.since_origin(frame.arrival))).unwrap_or(i64::MAX);
    let rate = i128::from(state.writer.spec().clock_rate.max(1));
    let (rtp, position) = *state.anchor.get_or_insert((frame.rtp_time, arrival));
    let delta = (i128::from(frame.rtp_time) - i128::from(rtp)) * i128::from(MIX_RATE) / rate;
    let predicted = i64::try_from(i128::from(position) + delta).unwrap_or(arrival);
    let at = if predicted > arrival || arrival - predicted > REANCHOR_SAMPLES {
        state.anchor = Some((frame.rtp_time, arrival));
        arrival
    } else {
        predicted
    };
    u64::try_from(at).unwrap_or(0)
}

fn store(cell: &AtomicU64, value: u64) {
    cell.store(value, Ordering::Relaxed);
}

fn samples(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos() * u128::from(MIX_RATE) / 1_000_000_000).unwrap_or(u64::MAX)
}
