//! Synthetic media: a VP8 test pattern and an Opus tone, encoded by Debian's ffmpeg
//! at test time and read back as frames and pages.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use rtc::media::io::ivf_reader::IVFReader;
use rtc::media::io::ogg_reader::OggReader;

/// Encoded frames ready to be sent in a loop.
#[derive(Clone)]
pub struct SyntheticMedia {
    /// VP8 frames, one per `frame_duration`.
    pub video: Vec<Bytes>,
    /// Time between video frames.
    pub frame_duration: Duration,
    /// Opus pages with their durations.
    pub audio: Vec<(Bytes, Duration)>,
}

/// Encodes 4 s of a 640x360 test pattern as VP8 at 25 fps into `ivf`, with a keyframe
/// every `gop` frames.
fn test_pattern(ivf: &Path, gop: u32) -> anyhow::Result<()> {
    vp8_clip(ivf, "testsrc=size=640x360:rate=25", None, gop)
}

/// Encodes 4 s of the lavfi `source` (640x360 at 25 fps), through `filter` if any, as
/// VP8 into `ivf`, with a keyframe every `gop` frames.
fn vp8_clip(ivf: &Path, source: &str, filter: Option<&str>, gop: u32) -> anyhow::Result<()> {
    let gop = gop.to_string();
    let mut args = vec!["-f", "lavfi", "-i", source, "-t", "4"];
    if let Some(filter) = filter {
        args.extend(["-vf", filter]);
    }
    args.extend([
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-b:v",
        "600k",
        "-g",
        &gop,
        "-auto-alt-ref",
        "0",
    ]);
    ffmpeg(&args, ivf)
}

impl SyntheticMedia {
    /// Encodes 4 s of a 640x360 test pattern (VP8, 25 fps) and a 440 Hz tone (Opus)
    /// into `dir` with ffmpeg and reads them back.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        let ivf = dir.join("synthetic.ivf");
        let ogg = dir.join("synthetic.ogg");
        test_pattern(&ivf, 25)?;
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "4",
                "-c:a",
                "libopus",
                "-b:a",
                "48k",
                "-frame_duration",
                "20",
                "-page_duration",
                "20000",
            ],
            &ogg,
        )?;
        Ok(Self {
            video: read_ivf(&ivf)?,
            frame_duration: Duration::from_millis(40),
            audio: read_ogg(&ogg)?,
        })
    }
}

impl SyntheticMedia {
    /// 4 s of a 640x360 test pattern (VP8, 25 fps, a keyframe every 5 frames so that
    /// a recording starts within 0.2 s of a request) and a pure `hz` tone coded with
    /// libopus (the `opus` crate) in 20 ms packets: one voice with its own pitch, to be
    /// found in the mix's spectrum.
    pub fn with_tone(dir: &Path, hz: f32) -> anyhow::Result<Self> {
        let ivf = dir.join(format!("tone-{hz}.ivf"));
        test_pattern(&ivf, 5)?;
        Ok(Self {
            video: read_ivf(&ivf)?,
            frame_duration: Duration::from_millis(40),
            audio: opus_tone(hz, Duration::from_secs(4))?,
        })
    }
}

/// The instants of [`SyntheticMedia::beep_and_flash`]: a beep and a flash start together
/// `BEEP_FLASH_PHASE` into every `BEEP_FLASH_PERIOD` of the 4 s loop.
pub const BEEP_FLASH_PERIOD: Duration = Duration::from_secs(1);
/// When, within each period, the beep and the flash start (frame 10 of 25, a keyframe).
pub const BEEP_FLASH_PHASE: Duration = Duration::from_millis(400);
/// How long a flash lasts: two frames of 40 ms.
pub const FLASH_LENGTH: Duration = Duration::from_millis(80);
/// How long a beep (1 kHz, -6 dBFS) lasts.
pub const BEEP_LENGTH: Duration = Duration::from_millis(80);
/// The beep's pitch.
pub const BEEP_HZ: f32 = 1000.0;

impl SyntheticMedia {
    /// 4 s of black 640x360 VP8 (25 fps, a keyframe every 5 frames) with a white
    /// full-frame flash of two frames, and 4 s of Opus silence (20 ms packets) with an
    /// 80 ms beep at [`BEEP_HZ`], both starting at the same instants: [`BEEP_FLASH_PHASE`]
    /// into every [`BEEP_FLASH_PERIOD`]. Both loops last exactly 4 s (100 frames, 200
    /// packets of 960 samples), so a peer that loops them keeps them aligned; the audio
    /// is coded with libopus (the `opus` crate), advanced by the encoder's look-ahead
    /// so that the *decoded* beep starts on the flash's frame to the sample.
    pub fn beep_and_flash(dir: &Path) -> anyhow::Result<Self> {
        let ivf = dir.join("beep-and-flash.ivf");
        let period = (BEEP_FLASH_PERIOD.as_millis() / 40).to_string();
        let first = (BEEP_FLASH_PHASE.as_millis() / 40).to_string();
        let last = ((BEEP_FLASH_PHASE + FLASH_LENGTH).as_millis() / 40 - 1).to_string();
        let flash = format!(
            "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(mod(n,{period}),{first},{last})'"
        );
        vp8_clip(&ivf, "color=c=black:size=640x360:rate=25", Some(&flash), 5)?;
        Ok(Self {
            video: read_ivf(&ivf)?,
            frame_duration: Duration::from_millis(40),
            audio: opus_beeps(Duration::from_secs(4))?,
        })
    }
}

/// Silence with a [`BEEP_HZ`] beep of [`BEEP_LENGTH`] at -6 dBFS starting
/// [`BEEP_FLASH_PHASE`] into every [`BEEP_FLASH_PERIOD`], for `length`, as 20 ms Opus
/// packets (48 kHz mono). The encoder's input runs ahead by its look-ahead (wrapping
/// around the loop), so that the decoder's output, which lags the input by that much,
/// has the beep exactly where it belongs.
pub fn opus_beeps(length: Duration) -> anyhow::Result<Vec<(Bytes, Duration)>> {
    const RATE: usize = 48_000;
    const FRAME: usize = 960;
    let mut encoder =
        opus::Encoder::new(RATE as u32, opus::Channels::Mono, opus::Application::Audio)?;
    encoder.set_bitrate(opus::Bitrate::Bits(48_000))?;
    let lookahead = usize::try_from(encoder.get_lookahead()?).unwrap_or(0);
    let frames = (length.as_millis() / 20) as usize;
    let total = frames * FRAME;
    let period = (BEEP_FLASH_PERIOD.as_secs_f64() * RATE as f64) as usize;
    let phase = (BEEP_FLASH_PHASE.as_secs_f64() * RATE as f64) as usize;
    let beep = (BEEP_LENGTH.as_secs_f64() * RATE as f64) as usize;
    let signal = |n: usize| -> f32 {
        let within = (n % total) % period;
        if (phase..phase + beep).contains(&within) {
            let k = (within - phase) as f32;
            0.5 * (std::f32::consts::TAU * BEEP_HZ * k / RATE as f32).sin()
        } else {
            0.0
        }
    };
    let mut out = Vec::with_capacity(frames);
    let mut pcm = vec![0f32; FRAME];
    let mut packet = vec![0u8; 4000];
    for f in 0..frames {
        for (i, s) in pcm.iter_mut().enumerate() {
            *s = signal(f * FRAME + i + lookahead);
        }
        let len = encoder.encode_float(&pcm, &mut packet)?;
        out.push((
            Bytes::copy_from_slice(&packet[..len]),
            Duration::from_millis(20),
        ));
    }
    Ok(out)
}

/// A sine of `hz` at -14 dBFS for `length` (three of them sum below the mix
/// limiter's ceiling), as 20 ms Opus packets (48 kHz mono).
pub fn opus_tone(hz: f32, length: Duration) -> anyhow::Result<Vec<(Bytes, Duration)>> {
    const RATE: u32 = 48_000;
    const FRAME: usize = 960;
    let mut encoder = opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Audio)?;
    encoder.set_bitrate(opus::Bitrate::Bits(48_000))?;
    let frames = (length.as_millis() / 20) as usize;
    let mut out = Vec::with_capacity(frames);
    let mut pcm = vec![0f32; FRAME];
    let mut packet = vec![0u8; 4000];
    // A whole number of periods per loop keeps the tone seamless when it repeats.
    let total = (frames * FRAME) as f32;
    let hz = (hz * total / RATE as f32).round() * RATE as f32 / total;
    for f in 0..frames {
        for (i, s) in pcm.iter_mut().enumerate() {
            let n = (f * FRAME + i) as f32;
            *s = 0.2 * (std::f32::consts::TAU * hz * n / RATE as f32).sin();
        }
        let len = encoder.encode_float(&pcm, &mut packet)?;
        out.push((
            Bytes::copy_from_slice(&packet[..len]),
            Duration::from_millis(20),
        ));
    }
    Ok(out)
}

fn ffmpeg(args: &[&str], out: &Path) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .context("running ffmpeg (Debian package ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg failed to write {}", out.display());
    }
    Ok(())
}

fn read_ivf(path: &Path) -> anyhow::Result<Vec<Bytes>> {
    let (mut reader, _) = IVFReader::new(BufReader::new(File::open(path)?))?;
    let mut frames = Vec::new();
    while let Ok((frame, _)) = reader.parse_next_frame() {
        frames.push(frame.freeze());
    }
    if frames.is_empty() {
        bail!("no VP8 frames in {}", path.display());
    }
    Ok(frames)
}

fn read_ogg(path: &Path) -> anyhow::Result<Vec<(Bytes, Duration)>> {
    let (mut reader, _) = OggReader::new(BufReader::new(File::open(path)?), true)?;
    let mut pages = Vec::new();
    let mut last_granule = 0u64;
    while let Ok((page, header)) = reader.parse_next_page() {
        let samples = header.granule_position.saturating_sub(last_granule);
        last_granule = header.granule_position;
        if samples == 0 {
            continue; // header pages
        }
        pages.push((
            page.freeze(),
            Duration::from_micros(samples * 1_000_000 / 48_000),
        ));
    }
    if pages.is_empty() {
        bail!("no Opus pages in {}", path.display());
    }
    Ok(pages)
}

/// Decodes `file` to nothing with `ffmpeg -v error`: any message is a failure (how
/// the recording tests judge a working master or a copy).
pub fn decodes_cleanly(file: &Path) -> anyhow::Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .context("running ffmpeg (Debian package ffmpeg)")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        out.status.success() && stderr.trim().is_empty(),
        "{} does not decode cleanly: {stderr}",
        file.display()
    );
    Ok(())
}
