//! Where the live mix goes: an Opus working master (WebM) and a FLAC copy.

use std::path::{Path, PathBuf};

use crate::clock::SessionClock;
use crate::codec::{Codec, TrackKind};
use crate::error::RecordingError;
use crate::flac::FlacWriter;
use crate::frame::Frame;
use crate::mixer::MIX_RATE;
use crate::sidecar::TrackEnd;
use crate::track::{TrackSpec, TrackWriter};

/// Samples in one Opus frame of the mix (20 ms).
const FRAME: usize = 960;

/// The mix's file stem.
pub const MIX_NAME: &str = "mix";

/// Writes the mix as it is made into `mix.webm` (Opus, re-encoded with libopus) and
/// `mix.flac` (lossless, the preservation-grade copy), with the sidecar `mix.json`.
/// Time zero of both is the session clock's origin: sample `n` of the mix is at
/// `n / 48000` s after the sidecar's `wall_clock_start`.
pub struct MixWriter {
    encoder: opus::Encoder,
    /// Input samples the encoder's look-ahead still has to swallow (see `write`).
    lookahead_left: usize,
    webm: TrackWriter,
    flac: FlacWriter,
    pending: Vec<f32>,
    pcm: Vec<i16>,
    packet: Vec<u8>,
    frames: u64,
    clock: SessionClock,
}

/// What the mix writer wrote.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MixEnd {
    /// The Opus working master's end (None if no frame was encoded).
    pub opus: Option<TrackEnd>,
    /// Samples written to the FLAC copy.
    pub flac_samples: u64,
}

impl MixWriter {
    /// Creates `mix.webm`, `mix.flac` and `mix.json` in `dir` (none may exist yet); the
    /// Opus master is coded at `bitrate` bits per second.
    pub fn create(dir: &Path, clock: SessionClock, bitrate: i32) -> Result<Self, RecordingError> {
        Self::create_named(dir, MIX_NAME, clock, bitrate)
    }

    /// Like [`MixWriter::create`], with the file stem `name` (`mix-2` after a restart
    /// of the service, since files are never overwritten).
    pub fn create_named(
        dir: &Path,
        name: &str,
        clock: SessionClock,
        bitrate: i32,
    ) -> Result<Self, RecordingError> {
        let spec = TrackSpec::new(name, "", TrackKind::Mix, Codec::Opus);
        let flac_name = format!("{name}.flac");
        let webm = TrackWriter::new(dir, spec, clock)?.with_preservation_file(flac_name.clone());
        let flac = FlacWriter::create(&dir.join(&flac_name))?;
        let mut encoder =
            opus::Encoder::new(MIX_RATE, opus::Channels::Mono, opus::Application::Audio)?;
        encoder.set_bitrate(opus::Bitrate::Bits(bitrate))?;
        let lookahead = usize::try_from(encoder.get_lookahead()?).unwrap_or(0);
        Ok(Self {
            encoder,
            lookahead_left: lookahead,
            webm,
            flac,
            pending: Vec::with_capacity(FRAME * 2),
            pcm: Vec::new(),
            packet: vec![0; 4000],
            frames: 0,
            clock,
        })
    }

    /// The path of the FLAC copy.
    pub fn flac_path(&self) -> PathBuf {
        self.webm.path().with_extension("flac")
    }

    /// The path of the Opus working master.
    pub fn opus_path(&self) -> PathBuf {
        self.webm.path()
    }

    /// Appends mixed samples (48 kHz mono, within -1..1).
    pub fn write(&mut self, samples: &[f32]) -> Result<(), RecordingError> {
        self.pcm.clear();
        self.pcm
            .extend(samples.iter().map(|&s| (s * 32767.0).round() as i16));
        self.flac.write(&self.pcm)?;
        // The Opus encoder delays its output by its look-ahead; instead of a pre-skip in
        // the header, its input starts that many samples in, so that the decoded Opus
        // master lines up with the FLAC copy to the sample (the first 6.5 ms of the
        // session are not in the Opus master).
        let skip = self.lookahead_left.min(samples.len());
        self.lookahead_left -= skip;
        self.pending.extend_from_slice(&samples[skip..]);
        let mut start = 0;
        while self.pending.len() - start >= FRAME {
            self.encode(start)?;
            start += FRAME;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn encode(&mut self, start: usize) -> Result<(), RecordingError> {
        let n = self
            .encoder
            .encode_float(&self.pending[start..start + FRAME], &mut self.packet)?;
        let frame = Frame {
            rtp_time: self.frames * FRAME as u64,
            keyframe: true,
            data: self.packet[..n].to_vec(),
            arrival: self.clock.origin_instant(),
        };
        self.webm.write(frame)?;
        self.frames += 1;
        Ok(())
    }

    /// Makes what was written durable; call it at least every second.
    pub fn sync(&mut self) -> Result<(), RecordingError> {
        self.webm.sync()?;
        self.flac.sync()
    }

    /// Writes the last partial frame (padded with silence, also to flush the encoder's
    /// look-ahead) and closes both files.
    pub fn finish(mut self) -> Result<MixEnd, RecordingError> {
        let lookahead = usize::try_from(self.encoder.get_lookahead()?).unwrap_or(0);
        let target = (self.pending.len() + lookahead).div_ceil(FRAME) * FRAME;
        self.pending.resize(target, 0.0);
        let mut start = 0;
        while start < self.pending.len() {
            self.encode(start)?;
            start += FRAME;
        }
        let flac_samples = self.flac.finish()?;
        let opus = self.webm.finish()?;
        Ok(MixEnd { opus, flac_samples })
    }
}
