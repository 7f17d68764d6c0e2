//! The recording tap: every frame of a recorded (admitted) participant's tracks goes to
//! the session's [`Recorder`] as soon as its packets are all here (put back together by
//! [`Assembler`]), one non-blocking queue push per frame.
//!
//! The tap's per-track state lives on the published track itself
//! ([`crate::participant::Published::recording`]), so the forwarding path needs no
//! lookup. The recorder's own thread does every write; the tap never blocks the loop.
//! For a simulcast track one layer is recorded: the middle one while the publisher
//! sends it, else the highest it sends ([`recorded_layer`]). A drop of that layer
//! shorter than [`LAYER_ABANDON`] is a gap in the same file (restarting at a
//! keyframe); a longer one moves the track to another layer in a new file
//! (`…-camera-2`), since a file holds one stream.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use seduta_recordings::{
    Codec, Frame, NtpTime, PushError, Recorder, RecorderEvent, SenderReport, TrackId as RecTrack,
    TrackKind as RecKind, TrackSpec,
};
use str0m::format::Codec as WireCodec;
use str0m::media::Mid;
use str0m::rtp::RtpPacket;
use tracing::debug;

use crate::api::{Layer, ParticipantId, RecordingAlarm, TrackKind, TrackSource};
use crate::participant::{Published, TrackFormat};
use crate::rtp::assemble::{AssembledFrame, Assembler};
use crate::simulcast::{LAYERS, index};

/// How long a simulcast track's layers are watched before its recording starts, so
/// that the first file is of the layer to record rather than of whichever came first.
const SIMULCAST_SETTLE: Duration = Duration::from_secs(1);

/// How often the recorded layer of a simulcast track is reconsidered.
const LAYER_CHECK: Duration = Duration::from_secs(1);

/// How often a keyframe is asked for while a video track waits for one: as often as
/// the publisher's throttle lets an unanswered request be repeated.
const KEYFRAME_RETRY: Duration = crate::keyframe::MIN_INTERVAL;

/// A recorded video layer silent this long restarts at a keyframe when it comes back
/// (the frames it lost are gone; a delta frame after them would not decode).
const FRAME_GAP: Duration = Duration::from_millis(500);

/// A recorded layer silent this long is given up for another one (a new file). A
/// shorter drop, as browsers make when their estimate or CPU dips, stays a gap of its
/// real length in the same file.
const LAYER_ABANDON: Duration = Duration::from_secs(8);

/// The recording of one published track (one file of it at a time).
#[derive(Debug)]
pub struct TrackRecording {
    id: RecTrack,
    layer: Layer,
    /// After a pause, a video track restarts at a keyframe (what was skipped is gone).
    awaiting_keyframe: bool,
    keyframe_asked: Option<Instant>,
    /// The RTP timestamp of the last sender report handed over.
    last_report: Option<u64>,
    /// When the last frame of the recorded layer came (or the file started).
    last_frame: Instant,
    next_layer_check: Instant,
    /// The recorder gave up on this file (disk full, pipeline error).
    failed: bool,
    /// The recorded layer's packets, until they make frames.
    assembler: Assembler,
}

impl TrackRecording {
    /// The recorded layer.
    pub fn layer(&self) -> Layer {
        self.layer
    }
}

/// What the recorder told the room, with the track it concerns.
#[derive(Debug)]
pub enum TapEvent {
    /// Ask the publisher for a keyframe of this track's recorded layer.
    KeyframeWanted {
        /// The publisher.
        participant: ParticipantId,
        /// The track's mid on the publisher connection.
        mid: Mid,
        /// The recorded layer.
        layer: Layer,
    },
    /// The recorder as a whole needs attention (its disk, its mix).
    Alarm(RecordingAlarm),
    /// The file of this track failed; it is no longer written.
    Failed {
        /// The publisher.
        participant: ParticipantId,
        /// The track's mid on the publisher connection.
        mid: Mid,
        /// What happened.
        error: String,
    },
}

/// A session's recorder as the media loop holds it.
pub struct RecordTap {
    recorder: Recorder,
    dir: PathBuf,
    paused: bool,
    /// Whose track each file is, for the recorder's events.
    owners: HashMap<RecTrack, (ParticipantId, Mid, Layer)>,
    /// File stems given out in this run.
    used: HashSet<String>,
}

impl std::fmt::Debug for RecordTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordTap")
            .field("dir", &self.dir)
            .field("paused", &self.paused)
            .field("tracks", &self.owners.len())
            .finish()
    }
}

impl RecordTap {
    /// A tap feeding `recorder`, whose files go to `dir`.
    pub fn new(recorder: Recorder, dir: PathBuf) -> Self {
        Self {
            recorder,
            dir,
            paused: false,
            owners: HashMap::new(),
            used: HashSet::new(),
        }
    }

    /// Gives the recorder back (its tracks already ended or about to end with it).
    pub fn into_handover(self) -> crate::handle::Handover {
        crate::handle::Handover {
            recorder: self.recorder,
            dir: self.dir,
        }
    }

    /// Pauses or resumes (frames are dropped while paused; the files stay open, so
    /// the pause shows as a gap in their timestamps).
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// After a pause a video track restarts at a keyframe (requested by the caller),
    /// so that its file never holds a frame whose references are missing.
    pub fn restart_at_keyframe(t: &mut Published) {
        if let Some(rec) = t.recording.as_mut() {
            // Packets from before the pause would stand as a hole to wait for.
            rec.assembler.reset();
            if t.kind == TrackKind::Video {
                rec.awaiting_keyframe = true;
                rec.keyframe_asked = None;
            }
        }
    }

    /// One received packet of track `t` of `who` (a recorded participant), on
    /// `layer`. Returns a layer to request a keyframe on, when one is needed now.
    pub fn on_packet(
        &mut self,
        who: &ParticipantId,
        t: &mut Published,
        layer: Layer,
        format: TrackFormat,
        packet: &RtpPacket,
        now: Instant,
    ) -> Option<Layer> {
        if self.paused {
            return None;
        }
        let clock_rate = packet.time.frequency().get();
        if t.recording.is_none() {
            if t.simulcast && !settled(t, now) {
                return None;
            }
            let target = if t.simulcast {
                recorded_layer(t, now).unwrap_or(layer)
            } else {
                layer
            };
            self.start(who, t, target, format, clock_rate, now);
        } else if t.simulcast {
            self.reconsider_layer(who, t, format, clock_rate, now);
        }
        let rec = t.recording.as_mut()?;
        if rec.failed || rec.layer != layer {
            return None;
        }
        if let Some(info) = &packet.last_sender_info {
            let rtp = info.rtp_time.numer();
            if rec.last_report != Some(rtp)
                && let Some(ntp) = NtpTime::from_system_time(info.ntp_time)
            {
                rec.last_report = Some(rtp);
                let report = SenderReport {
                    rtp_timestamp: rtp,
                    ntp,
                };
                let _ = self.recorder.sender_report(rec.id, report);
            }
        }
        rec.assembler.push(
            *packet.seq_no,
            packet.time.numer(),
            packet.header.marker,
            packet.payload.clone(),
            now,
        );
        let mut wanted = None;
        while let Some(frame) = rec.assembler.pop() {
            if let Some(l) = push_frame(&mut self.recorder, rec, t.kind, layer, frame, now) {
                wanted = Some(l);
            }
        }
        wanted
    }

    /// Ends the recording of track `t` (unpublished, its publisher left or is no longer
    /// recorded): its file is closed.
    pub fn end(&mut self, t: &mut Published) {
        if let Some(rec) = t.recording.take() {
            self.owners.remove(&rec.id);
            let _ = self.recorder.end_track(rec.id);
        }
    }

    /// What the recorder asks for or reports, mapped to the tracks concerned.
    pub fn poll(&mut self) -> Vec<TapEvent> {
        let mut out = Vec::new();
        while let Some(event) = self.recorder.poll_event() {
            match event {
                RecorderEvent::KeyframeWanted(id) => {
                    if let Some((participant, mid, layer)) = self.owners.get(&id) {
                        out.push(TapEvent::KeyframeWanted {
                            participant: participant.clone(),
                            mid: *mid,
                            layer: *layer,
                        });
                    }
                }
                RecorderEvent::StorageLow { free_bytes } => {
                    out.push(TapEvent::Alarm(RecordingAlarm::StorageLow { free_bytes }));
                }
                RecorderEvent::StorageFull { error } => {
                    out.push(TapEvent::Alarm(RecordingAlarm::StorageFull { error }));
                }
                RecorderEvent::MixFailed { error } => {
                    out.push(TapEvent::Alarm(RecordingAlarm::MixFailed { error }));
                }
                RecorderEvent::TrackFailed { track, error } => {
                    if let Some((participant, mid, _)) = self.owners.get(&track) {
                        out.push(TapEvent::Failed {
                            participant: participant.clone(),
                            mid: *mid,
                            error,
                        });
                    }
                }
            }
        }
        out
    }

    /// Marks the file of `t` as failed: nothing more is queued for it.
    pub fn mark_failed(t: &mut Published) {
        if let Some(rec) = t.recording.as_mut() {
            rec.failed = true;
        }
    }

    fn start(
        &mut self,
        who: &ParticipantId,
        t: &mut Published,
        layer: Layer,
        format: TrackFormat,
        clock_rate: u32,
        now: Instant,
    ) {
        let Some(codec) = codec_of(format) else {
            debug!("a track in a codec the recorder does not take is not recorded");
            return;
        };
        let kind = match (t.kind, t.source) {
            (TrackKind::Audio, _) => RecKind::Audio,
            (TrackKind::Video, TrackSource::Screen) => RecKind::Screen,
            (TrackKind::Video, _) => RecKind::Video,
        };
        let name = self.file_stem(who, t.source);
        let mut spec = TrackSpec::new(name, who.0.clone(), kind, codec);
        spec.clock_rate = clock_rate;
        let id = match self.recorder.add_track(spec) {
            Ok(id) => id,
            Err(e) => {
                debug!(error = %e, "the recorder took no new track");
                return;
            }
        };
        self.owners.insert(id, (who.clone(), t.mid, layer));
        t.recording = Some(TrackRecording {
            id,
            layer,
            // A video file starts at a keyframe: ask for one at once, from this loop,
            // rather than when the recorder's thread gets to the new track.
            awaiting_keyframe: t.kind == TrackKind::Video,
            keyframe_asked: None,
            last_report: None,
            last_frame: now,
            next_layer_check: now + LAYER_CHECK,
            failed: false,
            assembler: Assembler::new(format.kind),
        });
    }

    /// Follows the layer to record (see [`recorded_layer`]): a new file when the
    /// recorded one has been silent for [`LAYER_ABANDON`], or to leave the lowest.
    fn reconsider_layer(
        &mut self,
        who: &ParticipantId,
        t: &mut Published,
        format: TrackFormat,
        clock_rate: u32,
        now: Instant,
    ) {
        let Some(rec) = t.recording.as_mut() else {
            return;
        };
        if now < rec.next_layer_check || rec.failed {
            return;
        }
        rec.next_layer_check = now + LAYER_CHECK;
        let current = rec.layer;
        // Stay on the recorded layer through short drops; leave the lowest one as
        // soon as a better one comes.
        let abandoned = now.saturating_duration_since(rec.last_frame) >= LAYER_ABANDON;
        match recorded_layer(t, now) {
            Some(best) if best != current && (abandoned || current == Layer::Low) => {
                self.end(t);
                self.start(who, t, best, format, clock_rate, now);
            }
            _ => {}
        }
    }

    /// `<participant>-<source>`, then `-2`, `-3`… when taken in this run or on disk
    /// (files are never overwritten, also across restarts of the service).
    fn file_stem(&mut self, who: &ParticipantId, source: TrackSource) -> String {
        let participant: String = who
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        let source = match source {
            TrackSource::Microphone => "microphone",
            TrackSource::Camera => "camera",
            TrackSource::Screen => "screen",
        };
        let base = format!("{participant}-{source}");
        let mut n = 1u32;
        loop {
            let stem = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let on_disk = ["webm", "mkv", "json"]
                .iter()
                .any(|ext| self.dir.join(format!("{stem}.{ext}")).exists());
            if !on_disk && self.used.insert(stem.clone()) {
                return stem;
            }
            n += 1;
        }
    }
}

/// Whether a simulcast track has been received long enough to know its layers.
fn settled(t: &Published, now: Instant) -> bool {
    t.meters
        .iter()
        .filter_map(|m| m.first_seen())
        .min()
        .is_some_and(|first| now.saturating_duration_since(first) >= SIMULCAST_SETTLE)
}

/// The layer of a simulcast camera to record: the middle one while the publisher sends
/// it, else the highest it sends. Browsers drop their top layer first whenever their
/// bandwidth estimate or CPU dips, and every change of recorded layer is a new file
/// with a gap of a keyframe wait; the middle layer is rarely dropped, so the record
/// stays whole, and at 640x360 it fills a tile of the preservation copy's grid (two or
/// more people at 1280x720) without loss.
fn recorded_layer(t: &Published, now: Instant) -> Option<Layer> {
    let available = t.available(now);
    if available[index(Layer::Medium)] {
        return Some(Layer::Medium);
    }
    LAYERS.iter().rev().copied().find(|l| available[index(*l)])
}

/// Hands one whole frame of the recorded layer to the recorder; a video file waits for
/// a keyframe at its start, after a pause and after a gap. Returns a layer to request
/// a keyframe on, when one is due now.
fn push_frame(
    recorder: &mut Recorder,
    rec: &mut TrackRecording,
    kind: TrackKind,
    layer: Layer,
    frame: AssembledFrame,
    now: Instant,
) -> Option<Layer> {
    if kind == TrackKind::Video
        && (frame.after_gap || now.saturating_duration_since(rec.last_frame) >= FRAME_GAP)
    {
        rec.awaiting_keyframe = true;
    }
    rec.last_frame = now;
    if rec.awaiting_keyframe {
        if !frame.keyframe {
            let due = rec
                .keyframe_asked
                .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_RETRY);
            if due {
                rec.keyframe_asked = Some(now);
                return Some(layer);
            }
            return None;
        }
        rec.awaiting_keyframe = false;
    }
    let frame = Frame {
        rtp_time: frame.rtp_time,
        keyframe: frame.keyframe,
        data: frame.data,
        arrival: frame.arrival,
    };
    match recorder.push(rec.id, frame) {
        // Counted by the recorder; the SFU never waits for the disk.
        Ok(()) | Err(PushError::Full) => {}
        Err(PushError::Stopped) => rec.failed = true,
    }
    None
}

fn codec_of(format: TrackFormat) -> Option<Codec> {
    match format.params.spec().codec {
        WireCodec::Opus => Some(Codec::Opus),
        WireCodec::Vp8 => Some(Codec::Vp8),
        WireCodec::H264 => Some(Codec::H264),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use seduta_recordings::RecorderConfig;

    use super::*;

    #[test]
    fn file_names_never_reuse_a_file_and_are_safe() {
        let dir = std::env::temp_dir().join(format!("seduta-tap-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        // A file of an earlier run (before a restart of the service).
        std::fs::write(dir.join("p1-camera.webm"), b"").expect("file");
        let mut config = RecorderConfig::new(&dir);
        config.mix = None;
        let recorder = Recorder::start(config).expect("recorder");
        let mut tap = RecordTap::new(recorder, dir.clone());
        let p1 = ParticipantId("p1".into());
        assert_eq!(tap.file_stem(&p1, TrackSource::Camera), "p1-camera-2");
        assert_eq!(tap.file_stem(&p1, TrackSource::Camera), "p1-camera-3");
        assert_eq!(tap.file_stem(&p1, TrackSource::Microphone), "p1-microphone");
        let odd = ParticipantId("a b/../c".into());
        assert_eq!(tap.file_stem(&odd, TrackSource::Screen), "a_b____c-screen");
        let _ = tap.into_handover().recorder.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
