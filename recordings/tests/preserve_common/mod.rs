//! A recorded session for the preservation tests: three participants with staggered
//! starts, recorded in real time through the `Recorder` (as the SFU drives it), and
//! what ffprobe/ffmpeg say about the copy.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use seduta_recordings::{Codec, Frame, Recorder, RecorderConfig, TrackKind, TrackSpec};

use crate::common;

/// Length of the recorded session, in 20 ms ticks (5 s).
pub const TICKS: u64 = 250;
/// When p2 arrives (tick 75: 1.5 s) and when its camera ends (tick 175: 3.5 s).
pub const P2_FROM: u64 = 75;
/// When p2's camera stops.
pub const P2_VIDEO_UNTIL: u64 = 175;
/// p1's camera is paused from tick 50 (1 s) to tick 150 (3 s): a 2 s gap in its file.
pub const P1_PAUSE: std::ops::Range<u64> = 50..150;
/// When p3 (audio only) arrives (tick 125: 2.5 s).
pub const P3_FROM: u64 = 125;

/// Records the session into `dir`, in real time (5 s):
/// - p1: microphone (440 Hz) and camera from the start, the camera paused from 1 s to 3 s;
/// - p2: microphone (660 Hz) and camera from 1.5 s, camera off at 3.5 s;
/// - p3: microphone only (880 Hz) from 2.5 s.
pub fn record_session(dir: &Path) {
    std::fs::create_dir_all(dir).expect("folder");
    let frames = common::vp8_frames(dir, 1, 25);
    let recorder = Recorder::start(RecorderConfig::new(dir)).expect("recorder");
    let tones = [
        common::opus_tone(440.0, 0.3, 5.0),
        common::opus_tone(660.0, 0.3, 5.0),
        common::opus_tone(880.0, 0.3, 5.0),
    ];
    let track = |name: &str, participant: &str, kind, codec| {
        recorder
            .add_track(TrackSpec::new(name, participant, kind, codec))
            .expect("track")
    };
    let p1_audio = track("p1-audio", "p1", TrackKind::Audio, Codec::Opus);
    let p1_video = track("p1-video", "p1", TrackKind::Video, Codec::Vp8);
    let mut p2 = None;
    let mut p3 = None;
    let start = Instant::now();
    for i in 0..TICKS {
        std::thread::sleep(
            (start + Duration::from_millis(i * 20)).saturating_duration_since(Instant::now()),
        );
        let ix = i as usize;
        recorder
            .push(p1_audio, Frame::new(i * 960, true, tones[0][ix].clone()))
            .expect("push");
        if i.is_multiple_of(2) && !P1_PAUSE.contains(&i) {
            let n = i / 2;
            let data = frames[(n % 25) as usize].1.clone();
            let key = seduta_recordings::vp8_is_keyframe(&data);
            recorder
                .push(p1_video, Frame::new(n * 3600, key, data))
                .expect("push");
        }
        if i == P2_FROM {
            p2 = Some((
                track("p2-audio", "p2", TrackKind::Audio, Codec::Opus),
                track("p2-video", "p2", TrackKind::Video, Codec::Vp8),
            ));
        }
        if let Some((audio, video)) = p2 {
            let j = i - P2_FROM;
            recorder
                .push(
                    audio,
                    Frame::new(77_000 + j * 960, true, tones[1][j as usize].clone()),
                )
                .expect("push");
            if j.is_multiple_of(2) && i < P2_VIDEO_UNTIL {
                let n = j / 2;
                let data = frames[(n % 25) as usize].1.clone();
                let key = seduta_recordings::vp8_is_keyframe(&data);
                recorder
                    .push(video, Frame::new(5_000 + n * 3600, key, data))
                    .expect("push");
            }
            if i == P2_VIDEO_UNTIL {
                recorder.end_track(video).expect("end");
            }
        }
        if i == P3_FROM {
            p3 = Some(track("p3-audio", "p3", TrackKind::Audio, Codec::Opus));
        }
        if let Some(audio) = p3 {
            let j = i - P3_FROM;
            recorder
                .push(
                    audio,
                    Frame::new(j * 960, true, tones[2][j as usize].clone()),
                )
                .expect("push");
        }
    }
    let summary = recorder.stop().expect("stop");
    assert_eq!(summary.dropped_frames, 0);
    let _ = std::fs::remove_file(dir.join("pattern-1s-25fps.ivf"));
}

/// The session, recorded once per test binary, copied into a fresh folder
/// `<root>/<name>/` for each test (the job writes into the session folder).
pub fn session_copy(name: &str) -> (PathBuf, PathBuf) {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = common::scratch("preserve-template");
        record_session(&dir);
        dir
    });
    let root = common::scratch(&format!("preserve-{name}"));
    let dir = root.join("session-1");
    std::fs::create_dir_all(&dir).expect("folder");
    for entry in std::fs::read_dir(template).expect("template") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
    }
    (root, dir)
}

/// The mix's wall-clock start from `mix.json`, in nanoseconds since 1970.
pub fn mix_start_ns(dir: &Path) -> u128 {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("mix.json")).expect("mix.json"))
            .expect("JSON");
    json["wall_clock_start_unix_ns"]
        .as_u64()
        .map(u128::from)
        .expect("start")
}

/// ffprobe's JSON for the file (streams, format, chapters).
pub fn ffprobe_json(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-show_chapters",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// The average luma (0–255) of a region of the video frame at `at` seconds.
pub fn region_luma(path: &Path, at: f64, x: u32, y: u32, w: u32, h: u32) -> u8 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &format!("{at:.3}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf"])
        .arg(format!("crop={w}:{h}:{x}:{y}"))
        .args(["-pix_fmt", "gray", "-f", "rawvideo", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg could not grab a frame");
    assert_eq!(
        out.stdout.len(),
        (w * h) as usize,
        "one gray byte per pixel"
    );
    let sum: u64 = out.stdout.iter().map(|&p| u64::from(p)).sum();
    u8::try_from(sum / u64::from(w * h)).unwrap_or(u8::MAX)
}

/// The SHA-256 of a file, computed here (independently of the job's own code).
pub fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
