//! The working master of one track: encoded frames into a live Matroska/WebM file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gstreamer as gst;

use crate::clock::SessionClock;
use crate::codec::{self, Codec, TrackKind};
use crate::error::RecordingError;
use crate::frame::Frame;
use crate::pipeline::{self, Running};
use crate::sidecar::{SenderReport, Sidecar, TrackEnd};
use crate::sink::EbmlFile;

/// How often the sidecar is rewritten at most when only sender reports changed.
const SIDECAR_REFRESH: Duration = Duration::from_secs(10);

/// What is recorded of a track: its name (the file stem), whose it is, and its codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    /// The file stem, e.g. `p3-audio`: letters, digits, `-`, `_` and `.`, at most 100.
    pub name: String,
    /// The participant's id in the session (written in the sidecar only, never logged).
    pub participant: String,
    /// What the track carries.
    pub kind: TrackKind,
    /// The codec of its frames.
    pub codec: Codec,
    /// The RTP clock rate of its timestamps.
    pub clock_rate: u32,
}

impl TrackSpec {
    /// A track with the codec's usual RTP clock rate.
    pub fn new(
        name: impl Into<String>,
        participant: impl Into<String>,
        kind: TrackKind,
        codec: Codec,
    ) -> Self {
        Self {
            name: name.into(),
            participant: participant.into(),
            kind,
            codec,
            clock_rate: codec.default_clock_rate(),
        }
    }

    /// Checks that the name is usable as a file stem.
    pub(crate) fn validate(&self) -> Result<(), RecordingError> {
        let name = &self.name;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if name.is_empty()
            || name.len() > 100
            || name.starts_with('.')
            || !name.chars().all(allowed)
        {
            return Err(RecordingError::InvalidTrackName(name.clone()));
        }
        if self.clock_rate == 0 {
            return Err(RecordingError::InvalidTrackName(name.clone()));
        }
        Ok(())
    }
}

/// What became of a frame given to [`TrackWriter::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The frame is in the file.
    Written,
    /// A video track waits for its first keyframe: the frame was skipped.
    WaitingForKeyframe,
    /// The frame's timestamp is not after the previous one's: it was dropped.
    OutOfOrder,
    /// The frame was empty.
    Empty,
}

/// Writes one track's frames, as they arrive and without transcoding, into a live
/// Matroska file (`<name>.webm` for Opus and VP8, `<name>.mkv` for H.264): a Segment and
/// Clusters of unknown size, appended to and never rewritten, each write ending on a
/// whole element. Time zero is the first written frame; gaps in the RTP timestamps stay
/// gaps in the file. `<name>.json` is the sidecar ([`Sidecar`]).
pub struct TrackWriter {
    dir: PathBuf,
    spec: TrackSpec,
    clock: SessionClock,
    started: Option<Started>,
    preservation_file: Option<String>,
    reports: Vec<SenderReport>,
    skipped_before_keyframe: u64,
    out_of_order: u64,
}

struct Started {
    running: Running,
    file: EbmlFile,
    sidecar: Sidecar,
    first_rtp: u64,
    last_rtp: u64,
    last_duration: u64,
    frames: u64,
    sidecar_dirty: bool,
    sidecar_saved: Instant,
}

impl TrackWriter {
    /// A writer for `spec` in `dir`. The file is created with the first frame it can
    /// start with (the first keyframe, for video); it must not exist yet.
    pub fn new(dir: &Path, spec: TrackSpec, clock: SessionClock) -> Result<Self, RecordingError> {
        spec.validate()?;
        pipeline::init()?;
        let writer = Self {
            dir: dir.to_owned(),
            spec,
            clock,
            started: None,
            preservation_file: None,
            reports: Vec::new(),
            skipped_before_keyframe: 0,
            out_of_order: 0,
        };
        let path = writer.path();
        if path.exists() {
            return Err(RecordingError::AlreadyExists(path));
        }
        Ok(writer)
    }

    /// Names a preservation-grade copy written alongside, for the sidecar.
    pub(crate) fn with_preservation_file(mut self, name: String) -> Self {
        self.preservation_file = Some(name);
        self
    }

    /// The path of the working master.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!(
            "{}.{}",
            self.spec.name,
            self.spec.codec.extension()
        ))
    }

    /// The track's description.
    pub fn spec(&self) -> &TrackSpec {
        &self.spec
    }

    /// Whether the file has started (a video track waits for a keyframe).
    pub fn started(&self) -> bool {
        self.started.is_some()
    }

    /// Writes one frame. Frames must come in timestamp order; one whose timestamp is not
    /// after the previous frame's is dropped (and counted in the sidecar).
    pub fn write(&mut self, frame: Frame) -> Result<Written, RecordingError> {
        if frame.data.is_empty() {
            return Ok(Written::Empty);
        }
        let started = match &mut self.started {
            Some(started) => started,
            None => {
                let Some(caps) = self.start_caps(&frame) else {
                    self.skipped_before_keyframe += 1;
                    return Ok(Written::WaitingForKeyframe);
                };
                let started = self.start(&frame, &caps)?;
                self.started.insert(started)
            }
        };
        if started.frames > 0 && frame.rtp_time <= started.last_rtp {
            self.out_of_order += 1;
            return Ok(Written::OutOfOrder);
        }
        let keyframe = match self.spec.codec {
            Codec::Opus => true,
            Codec::Vp8 => codec::vp8_is_keyframe(&frame.data),
            Codec::H264 => frame.keyframe || codec::h264_is_keyframe(&frame.data),
        };
        let clock_rate = u64::from(self.spec.clock_rate);
        let audio_samples = match self.spec.codec {
            Codec::Opus => codec::opus_samples(&frame.data),
            _ => None,
        };
        let rtp = frame.rtp_time;
        let mut buffer = gst::Buffer::from_mut_slice(frame.data);
        {
            let buffer = buffer.get_mut().ok_or_else(|| RecordingError::Pipeline {
                file: self.spec.name.clone(),
                message: "new buffer not writable".to_owned(),
            })?;
            let pts = gst::ClockTime::from_nseconds(rtp_to_ns(rtp - started.first_rtp, clock_rate));
            buffer.set_pts(pts);
            buffer.set_dts(pts);
            if let Some(samples) = audio_samples {
                buffer.set_duration(gst::ClockTime::from_nseconds(
                    u64::from(samples) * 1_000_000_000 / 48_000,
                ));
            }
            if !keyframe {
                buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        started
            .running
            .push(buffer)
            .map_err(|e| started.file.explain(e))?;
        started.last_duration = match audio_samples {
            Some(samples) => u64::from(samples) * clock_rate / 48_000,
            None if started.frames > 0 => rtp - started.last_rtp,
            None => 0,
        };
        started.last_rtp = rtp;
        started.frames += 1;
        Ok(Written::Written)
    }

    /// Takes an RTCP sender report (RTP timestamp unrolled like the frames') into the
    /// sidecar's RTP-to-NTP mapping.
    pub fn sender_report(&mut self, report: SenderReport) -> Result<(), RecordingError> {
        match &mut self.started {
            None => self.reports.push(report),
            Some(started) => {
                let first = started.sidecar.ntp_mapping.is_none();
                started.sidecar.add_sender_report(report);
                started.sidecar_dirty = true;
                if first {
                    started.save_sidecar(&self.dir)?;
                }
            }
        }
        Ok(())
    }

    /// Makes everything written so far durable (fdatasync), refreshes the sidecar if it
    /// changed, and reports a pipeline error if one happened. Call it at least every second.
    pub fn sync(&mut self) -> Result<(), RecordingError> {
        let Some(started) = &mut self.started else {
            return Ok(());
        };
        started
            .running
            .check()
            .map_err(|e| started.file.explain(e))?;
        if let Some(message) = started.file.error() {
            return Err(started.file.explain(RecordingError::Pipeline {
                file: self.spec.name.clone(),
                message,
            }));
        }
        started.file.sync()?;
        if started.sidecar_dirty && started.sidecar_saved.elapsed() >= SIDECAR_REFRESH {
            started.save_sidecar(&self.dir)?;
        }
        Ok(())
    }

    /// Seconds of media written: from time zero to the end of the last frame.
    pub fn media_seconds(&self) -> f64 {
        self.started.as_ref().map_or(0.0, |s| {
            (s.last_rtp - s.first_rtp + s.last_duration) as f64 / f64::from(self.spec.clock_rate)
        })
    }

    /// Bytes in the file so far.
    pub fn bytes_written(&self) -> u64 {
        self.started.as_ref().map_or(0, |s| s.file.written())
    }

    /// Ends the stream, closes the file and writes the sidecar's end. Returns `None` if
    /// no frame was ever written (no file was created).
    pub fn finish(mut self) -> Result<Option<TrackEnd>, RecordingError> {
        let media_seconds = self.media_seconds();
        let Some(started) = self.started.take() else {
            return Ok(None);
        };
        let Started {
            running,
            file,
            mut sidecar,
            last_rtp,
            frames,
            ..
        } = started;
        let closed = running.finish().and_then(|()| file.finish());
        let end = TrackEnd {
            frames,
            last_rtp_timestamp: last_rtp,
            media_seconds,
            out_of_order_dropped: self.out_of_order,
            skipped_before_keyframe: self.skipped_before_keyframe,
            clean: closed.is_ok(),
        };
        sidecar.end = Some(end.clone());
        sidecar.save(&self.dir)?;
        closed.map(|()| Some(end))
    }

    /// The caps to start the file with, if `frame` can start it.
    fn start_caps(&self, frame: &Frame) -> Option<gst::Caps> {
        match self.spec.codec {
            Codec::Opus => Some(
                gst::Caps::builder("audio/x-opus")
                    .field("rate", 48_000i32)
                    .field("channels", i32::from(codec::opus_channels(&frame.data)))
                    .field("channel-mapping-family", 0i32)
                    .build(),
            ),
            Codec::Vp8 => {
                let (width, height) = codec::vp8_keyframe_size(&frame.data)?;
                Some(
                    gst::Caps::builder("video/x-vp8")
                        .field("width", width as i32)
                        .field("height", height as i32)
                        .field("framerate", gst::Fraction::new(0, 1))
                        .build(),
                )
            }
            Codec::H264 => (frame.keyframe || codec::h264_is_keyframe(&frame.data)).then(|| {
                gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .build()
            }),
        }
    }

    fn start(&mut self, frame: &Frame, caps: &gst::Caps) -> Result<Started, RecordingError> {
        let path = self.path();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = EbmlFile::create(&path)?;
        let mut middle = Vec::new();
        if self.spec.codec == Codec::H264 {
            middle.push(pipeline::element("h264parse")?);
        }
        middle.push(muxer(self.spec.codec)?);
        let running = Running::start(
            file_name.clone(),
            pipeline::appsrc(caps),
            middle,
            gstreamer::prelude::Cast::upcast(file.appsink()),
        )?;
        let mut sidecar = Sidecar::new(
            &self.spec,
            file_name,
            self.clock.wall_clock(frame.arrival),
            frame.rtp_time,
        );
        sidecar.preservation_file = self.preservation_file.clone();
        for report in self.reports.drain(..) {
            sidecar.add_sender_report(report);
        }
        let started = Started {
            running,
            file,
            sidecar,
            first_rtp: frame.rtp_time,
            last_rtp: frame.rtp_time,
            last_duration: 0,
            frames: 0,
            sidecar_dirty: false,
            sidecar_saved: Instant::now(),
        };
        started.sidecar.save(&self.dir)?;
        Ok(started)
    }
}

impl Started {
    fn save_sidecar(&mut self, dir: &Path) -> Result<(), RecordingError> {
        self.sidecar.save(dir)?;
        self.sidecar_dirty = false;
        self.sidecar_saved = Instant::now();
        Ok(())
    }
}

/// The live muxer for a codec: WebM for Opus and VP8, Matroska for H.264.
fn muxer(codec: Codec) -> Result<gst::Element, RecordingError> {
    use gstreamer::prelude::*;
    let factory = match codec {
        Codec::Opus | Codec::Vp8 => "webmmux",
        Codec::H264 => "matroskamux",
    };
    let mux = pipeline::element(factory)?;
    mux.set_property("streamable", true);
    mux.set_property("writing-app", "Seduta");
    Ok(mux)
}

/// RTP ticks to nanoseconds, without overflow.
fn rtp_to_ns(ticks: u64, clock_rate: u64) -> u64 {
    u64::try_from(u128::from(ticks) * 1_000_000_000 / u128::from(clock_rate.max(1)))
        .unwrap_or(u64::MAX)
}
