//! Pre-encoded test media: three VP8 simulcast layers of one test pattern and an Opus
//! tone, encoded once by Debian's ffmpeg and read back as frames.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

/// Time between two video frames (25 fps).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);
/// Time between two Opus frames.
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);

/// Seconds of media encoded; played in a loop. Only the first frame of each layer
/// is a keyframe: like a browser's encoder, a publisher sends keyframes when asked
/// (a PLI makes it jump back to that frame), and otherwise once per loop.
const SECONDS: u32 = 10;

/// The simulcast layers as the protocol names them, lowest first, with their size
/// and target bitrate: `q` is a quarter of the full resolution, `h` half.
pub const LAYERS: [(&str, u32, u32, u32); 3] = [
    ("q", 320, 180, 150),
    ("h", 640, 360, 450),
    ("f", 1280, 720, 1_300),
];

/// One encoded video frame.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// The VP8 frame.
    pub data: Arc<[u8]>,
    /// Whether it is a keyframe (decodable on its own).
    pub keyframe: bool,
}

/// The media every synthetic publisher sends, shared by all of them.
#[derive(Debug, Clone)]
pub struct TestMedia {
    /// Frames of each layer (`q`, `h`, `f`), one per [`FRAME_INTERVAL`].
    pub layers: [Arc<[VideoFrame]>; 3],
    /// Opus frames, one per [`AUDIO_INTERVAL`].
    pub audio: Arc<[Arc<[u8]>]>,
}

impl TestMedia {
    /// Encodes the media into `dir`, or reuses what an earlier run encoded there.
    pub fn prepare(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the media directory {}", dir.display()))?;
        let mut layers = Vec::new();
        for (rid, w, h, kbps) in LAYERS {
            let path = dir.join(format!("layer-{rid}-{w}x{h}-{kbps}k-{SECONDS}s.ivf"));
            if !path.exists() {
                let size = format!("testsrc2=size={w}x{h}:rate=25");
                let rate = format!("{kbps}k");
                ffmpeg(
                    &[
                        "-f",
                        "lavfi",
                        "-i",
                        &size,
                        "-t",
                        &SECONDS.to_string(),
                        "-c:v",
                        "libvpx",
                        "-deadline",
                        "realtime",
                        "-cpu-used",
                        "8",
                        "-b:v",
                        &rate,
                        "-g",
                        "250",
                        "-keyint_min",
                        "250",
                        "-auto-alt-ref",
                        "0",
                    ],
                    &path,
                )?;
            }
            let frames = read_ivf(&std::fs::read(&path)?)
                .with_context(|| format!("reading {}", path.display()))?;
            layers.push(Arc::from(frames));
        }
        let ogg = dir.join(format!("tone-48k-{SECONDS}s.ogg"));
        if !ogg.exists() {
            ffmpeg(
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=frequency=440:sample_rate=48000",
                    "-t",
                    &SECONDS.to_string(),
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
        }
        let audio = read_ogg_opus(&std::fs::read(&ogg)?)
            .with_context(|| format!("reading {}", ogg.display()))?;
        let [q, h, f]: [Arc<[VideoFrame]>; 3] = layers
            .try_into()
            .map_err(|_| anyhow::anyhow!("three layers expected"))?;
        Ok(Self {
            layers: [q, h, f],
            audio: audio.into_iter().map(Arc::from).collect(),
        })
    }
}

fn ffmpeg(args: &[&str], out: &Path) -> anyhow::Result<()> {
    // Written under another name first so that an interrupted run leaves no half file.
    let partial = out.with_extension(format!("partial-{}", std::process::id()));
    let format = match out.extension().and_then(|e| e.to_str()) {
        Some("ivf") => "ivf",
        _ => "ogg",
    };
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .args(["-f", format])
        .arg(&partial)
        .status()
        .context("running ffmpeg (Debian package ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg failed to write {}", out.display());
    }
    std::fs::rename(&partial, out)?;
    Ok(())
}

/// The frames of an IVF file.
fn read_ivf(bytes: &[u8]) -> anyhow::Result<Vec<VideoFrame>> {
    if bytes.len() < 32 || &bytes[..4] != b"DKIF" {
        bail!("not an IVF file");
    }
    let header_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let mut rest = bytes.get(header_len..).unwrap_or_default();
    let mut frames = Vec::new();
    while rest.len() >= 12 {
        let size = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(data) = rest.get(12..12 + size) else {
            bail!("truncated IVF frame");
        };
        frames.push(VideoFrame {
            data: Arc::from(data),
            // VP8 frame tag: bit 0 of the first byte is 0 for a keyframe.
            keyframe: data.first().is_some_and(|b| b & 1 == 0),
        });
        rest = &rest[12 + size..];
    }
    if frames.is_empty() || !frames[0].keyframe {
        bail!("no VP8 frames, or the first one is not a keyframe");
    }
    Ok(frames)
}

/// The Opus packets of an Ogg file, without the two header packets.
fn read_ogg_opus(bytes: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut packets = Vec::new();
    let mut current = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 27 || &rest[..4] != b"OggS" {
            bail!("bad Ogg page");
        }
        let segments = usize::from(rest[26]);
        let Some(table) = rest.get(27..27 + segments) else {
            bail!("truncated Ogg page");
        };
        let mut offset = 27 + segments;
        for &lacing in table {
            let len = usize::from(lacing);
            let Some(data) = rest.get(offset..offset + len) else {
                bail!("truncated Ogg segment");
            };
            current.extend_from_slice(data);
            offset += len;
            if lacing < 255 {
                packets.push(std::mem::take(&mut current));
            }
        }
        rest = &rest[offset..];
    }
    packets.retain(|p| !p.starts_with(b"OpusHead") && !p.starts_with(b"OpusTags"));
    if packets.is_empty() {
        bail!("no Opus packets");
    }
    Ok(packets)
}
