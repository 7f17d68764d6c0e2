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

impl SyntheticMedia {
    /// Encodes 4 s of a 640x360 test pattern (VP8, 25 fps) and a 440 Hz tone (Opus)
    /// into `dir` with ffmpeg and reads them back.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        let ivf = dir.join("synthetic.ivf");
        let ogg = dir.join("synthetic.ogg");
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=640x360:rate=25",
                "-t",
                "4",
                "-c:v",
                "libvpx",
                "-deadline",
                "realtime",
                "-b:v",
                "600k",
                "-g",
                "25",
                "-auto-alt-ref",
                "0",
            ],
            &ivf,
        )?;
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
