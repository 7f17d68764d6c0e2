//! (c) Crash safety: a recorder killed with SIGKILL mid-stream leaves files that decode
//! without errors up to the last flush, holding at least (elapsed - 1 s) of media.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use seduta_recordings::{Codec, Frame, Recorder, RecorderConfig, TrackKind, TrackSpec};

/// Set in the child process: the folder to record into.
const CHILD_ENV: &str = "SEDUTA_RECORDINGS_CRASH_CHILD";

/// The child's side: records one participant's audio and video in real time until it
/// is killed (or 30 s pass). Does nothing in an ordinary test run.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    record_until_killed(Path::new(&dir));
}

fn record_until_killed(dir: &Path) {
    let recorder = Recorder::start(RecorderConfig::new(dir)).expect("recorder");
    let audio = recorder
        .add_track(TrackSpec::new(
            "p1-audio",
            "p1",
            TrackKind::Audio,
            Codec::Opus,
        ))
        .expect("audio track");
    let video = recorder
        .add_track(TrackSpec::new(
            "p1-video",
            "p1",
            TrackKind::Video,
            Codec::Vp8,
        ))
        .expect("video track");
    let packets = common::opus_tone(440.0, 0.3, 1.0);
    let ivf = std::fs::read(dir.join("pattern-1s-25fps.ivf")).expect("the pattern");
    let frames = common::ivf_frames(&ivf);
    let start = Instant::now();
    std::fs::write(dir.join("started"), b"").expect("marker");
    for i in 0u64..1500 {
        let due = start + Duration::from_millis(i * 20);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let packet = packets[(i % 50) as usize].clone();
        let _ = recorder.push(audio, Frame::new(1_000 + i * 960, true, packet));
        if i % 2 == 0 {
            let n = i / 2;
            let data = frames[(n % 25) as usize].1.clone();
            let keyframe = seduta_recordings::vp8_is_keyframe(&data);
            let _ = recorder.push(video, Frame::new(77 + n * 3600, keyframe, data));
        }
    }
}

#[test]
fn killed_mid_stream_the_files_decode_up_to_the_last_flush() {
    let dir = common::scratch("crash");
    common::vp8_frames(&dir, 1, 25);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("child.log")).expect("log"))
        .spawn()
        .expect("start the child");
    let waited = Instant::now();
    while !dir.join("started").exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the child never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(3_500));
    child.kill().expect("SIGKILL");
    let elapsed = started.elapsed().as_secs_f64();
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the child was killed, not finished");

    let check = |name: &str, duration: f64| {
        let path: PathBuf = dir.join(name);
        eprintln!("{name}: {duration:.3} s of media, {elapsed:.3} s elapsed");
        assert_eq!(
            common::decode_errors(&path),
            "",
            "{name} decodes without errors"
        );
        assert!(
            duration >= elapsed - 1.0,
            "{name}: {duration:.3} s of media after {elapsed:.3} s"
        );
    };
    check(
        "p1-audio.webm",
        common::probed_duration(&dir.join("p1-audio.webm")),
    );
    check(
        "p1-video.webm",
        common::probed_duration(&dir.join("p1-video.webm")),
    );
    // The mix runs 300 ms behind real time: still within the second.
    check("mix.webm", common::probed_duration(&dir.join("mix.webm")));
    let flac = common::decode_pcm(&dir.join("mix.flac"));
    check("mix.flac", flac.len() as f64 / 48_000.0);
    assert!(common::goertzel(&flac[48_000..96_000], 440.0, 48_000.0) > 0.005);

    // The sidecars were written at the start; their end never came.
    for name in ["p1-audio.json", "p1-video.json", "mix.json"] {
        let sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(name)).expect("sidecar")).expect("JSON");
        assert!(sidecar["end"].is_null(), "{name}: no end after a crash");
    }
}
