//! Helpers shared by the integration tests: media made with Debian's ffmpeg and the
//! `opus` crate, and what ffprobe/ffmpeg say about the files written.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty folder under the target directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// VP8 frames (RTP timestamp at 90 kHz, frame) of a `seconds`-long test pattern at
/// `fps`, encoded by ffmpeg (libvpx) into IVF and read back, a keyframe every second.
pub fn vp8_frames(dir: &Path, seconds: u32, fps: u32) -> Vec<(u64, Vec<u8>)> {
    let ivf = dir.join(format!("pattern-{seconds}s-{fps}fps.ivf"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate={fps}"))
        .args([
            "-t",
            &seconds.to_string(),
            "-c:v",
            "libvpx",
            "-g",
            &fps.to_string(),
        ])
        .args(["-deadline", "realtime", "-b:v", "300k", "-f", "ivf"])
        .arg(&ivf)
        .status()
        .expect("run ffmpeg (Debian's ffmpeg package)");
    assert!(status.success(), "ffmpeg could not encode VP8");
    let bytes = std::fs::read(&ivf).expect("read the IVF file");
    ivf_frames(&bytes)
        .into_iter()
        .map(|(pts, frame)| (pts * 90_000 / u64::from(fps), frame))
        .collect()
}

/// The frames of an IVF file: (pts in the file's time base, frame).
pub fn ivf_frames(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    assert_eq!(bytes.get(..4), Some(&b"DKIF"[..]), "not an IVF file");
    let header_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let mut pos = header_len;
    let mut frames = Vec::new();
    while pos + 12 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let pts = u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().expect("8 bytes"));
        let start = pos + 12;
        let Some(frame) = bytes.get(start..start + size) else {
            break;
        };
        frames.push((pts, frame.to_vec()));
        pos = start + size;
    }
    frames
}

/// A sine tone of `freq` Hz at `amplitude` (0..1 of full scale), 48 kHz mono,
/// `seconds` long, as 20 ms Opus packets.
pub fn opus_tone(freq: f32, amplitude: f32, seconds: f32) -> Vec<Vec<u8>> {
    let mut encoder = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio)
        .expect("Opus encoder");
    encoder
        .set_bitrate(opus::Bitrate::Bits(64_000))
        .expect("bitrate");
    let frames = (seconds * 50.0).round() as usize;
    let mut packets = Vec::with_capacity(frames);
    let mut pcm = vec![0f32; 960];
    for f in 0..frames {
        for (i, s) in pcm.iter_mut().enumerate() {
            let t = (f * 960 + i) as f32 / 48_000.0;
            *s = amplitude * (2.0 * std::f32::consts::PI * freq * t).sin();
        }
        packets.push(encoder.encode_vec_float(&pcm, 4000).expect("encode"));
    }
    packets
}

/// What `ffmpeg -v error -i FILE -f null -` prints: empty when the file decodes cleanly.
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\nffmpeg exited with {}", out.status));
    }
    text
}

/// The packets ffprobe finds in the file's first stream: (pts, duration) in seconds.
pub fn packets(path: &Path) -> Vec<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "0"])
        .args([
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(',');
            let pts = fields.next()?.trim().parse::<f64>().ok()?;
            let duration = fields
                .next()
                .and_then(|d| d.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            Some((pts, duration))
        })
        .collect()
}

/// The media's duration as ffprobe reads it from the packets: the end of the last one.
/// (A live file has no Duration element: ffprobe's format duration is N/A.)
pub fn probed_duration(path: &Path) -> f64 {
    packets(path)
        .iter()
        .map(|(pts, duration)| pts + duration)
        .fold(0.0, f64::max)
}

/// One field of ffprobe's description of the first stream (e.g. `codec_name`).
pub fn stream_field(path: &Path, field: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "0", "-show_entries"])
        .arg(format!("stream={field}"))
        .args(["-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The file decoded to 48 kHz mono signed 16-bit samples by ffmpeg.
pub fn decode_pcm(path: &Path) -> Vec<i16> {
    decode_pcm_with(path, &[])
}

/// The file decoded on its timeline: gaps between packets filled with silence, as a
/// player would play them.
pub fn decode_pcm_on_timeline(path: &Path) -> Vec<i16> {
    decode_pcm_with(path, &["-af", "aresample=async=1:first_pts=0"])
}

fn decode_pcm_with(path: &Path, filters: &[&str]) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(filters)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}",
        path.display()
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The power of `freq` in `samples` (Goertzel), normalised so that a full-scale sine
/// gives about 0.25 and silence 0.
pub fn goertzel(samples: &[i16], freq: f32, rate: f32) -> f32 {
    let n = samples.len().max(1) as f32;
    let coeff = 2.0 * (2.0 * std::f32::consts::PI * freq / rate).cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in samples {
        let s = f32::from(x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// Mixes Opus tracks (each: timeline position of its first packet, 20 ms packets) into
/// `mix.webm` and `mix.flac` in `dir`, as the recorder does live: packets are pushed a
/// little ahead of the mix position, and the mix advances 20 ms at a time.
pub fn mix_tracks(
    dir: &Path,
    tracks: &[(u64, Vec<Vec<u8>>)],
    config: seduta_recordings::MixConfig,
) -> (PathBuf, PathBuf) {
    use seduta_recordings::{MixWriter, Mixer, SessionClock};
    let mut mixer = Mixer::new(config);
    let mut writer = MixWriter::create(dir, SessionClock::now(), 64_000).expect("mix writer");
    let (opus, flac) = (writer.opus_path(), writer.flac_path());
    let end = tracks
        .iter()
        .map(|(start, packets)| start + packets.len() as u64 * 960)
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut position = 0;
    let ahead = 5 * 960;
    while position < end {
        for (index, (start, packets)) in tracks.iter().enumerate() {
            for (i, packet) in packets.iter().enumerate() {
                let at = start + i as u64 * 960;
                if at >= position + ahead && at < position + ahead + 960 {
                    mixer.push(index as u64, at, packet).expect("push");
                }
            }
        }
        if position == 0 {
            // The first packets of each track, up to the look-ahead.
            for (index, (start, packets)) in tracks.iter().enumerate() {
                for (i, packet) in packets.iter().enumerate() {
                    let at = start + i as u64 * 960;
                    if at < ahead {
                        mixer.push(index as u64, at, packet).expect("push");
                    }
                }
            }
        }
        position += 960;
        out.clear();
        mixer.mix(position, &mut out);
        writer.write(&out).expect("write the mix");
    }
    out.clear();
    mixer.finish(&mut out);
    writer.write(&out).expect("write the mix");
    writer.finish().expect("finish the mix");
    (opus, flac)
}
