//! The preservation job's speed on a Giunta-shaped session: 9 participants with
//! cameras (VP8 640x360, 25 fps) arriving one second apart, a mix, so 9 tiles. CI runs
//! it on a 12 s session (the copy must decode; nothing about time is asserted); the
//! figure in docs/recording.md comes from a 120 s session:
//!
//! ```sh
//! SEDUTA_PRESERVE_BENCH_SECONDS=120 \
//!   cargo test --release -p seduta-recordings --test preserve_speed -- --nocapture
//! ```
//!
//! It prints the session's length, the job's wall-clock time, the CPU time of its
//! ffmpeg processes and the speed relative to real time. The working masters are written
//! by the recorder's own `TrackWriter`/`MixWriter` (real live WebM and sidecars), faster
//! than real time.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use seduta_recordings::preserve::{self, PreservationRequest};
use seduta_recordings::{
    Codec, Frame, MixWriter, SessionClock, TrackKind, TrackSpec, TrackWriter, vp8_is_keyframe,
};

/// VP8 frames of a moving test pattern, 640x360 at 25 fps, encoded by ffmpeg (libvpx).
fn camera_frames(dir: &Path, seconds: u32) -> Vec<(u64, Vec<u8>)> {
    let ivf = dir.join("camera.ivf");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25")
        .args(["-t", &seconds.to_string(), "-c:v", "libvpx", "-g", "50"])
        .args(["-deadline", "realtime", "-cpu-used", "8", "-b:v", "600k"])
        .args(["-f", "ivf"])
        .arg(&ivf)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let frames = common::ivf_frames(&std::fs::read(&ivf).expect("IVF"));
    std::fs::remove_file(&ivf).expect("remove");
    frames
        .into_iter()
        .map(|(pts, f)| (pts * 90_000 / 25, f))
        .collect()
}

/// A session of `participants` cameras, the n-th arriving n seconds in and staying to
/// the end, and a mix of `seconds`.
fn synthetic_session(dir: &Path, participants: u32, seconds: u32) {
    let clock = SessionClock::now();
    let frames = camera_frames(dir, seconds);
    for p in 0..participants {
        let spec = TrackSpec::new(
            format!("p{p}-video"),
            format!("p{p}"),
            TrackKind::Video,
            Codec::Vp8,
        );
        let mut writer = TrackWriter::new(dir, spec, clock).expect("track");
        let offset = Duration::from_secs(u64::from(p));
        for (rtp, data) in frames.iter().skip(p as usize * 25) {
            let frame = Frame {
                rtp_time: *rtp,
                keyframe: vp8_is_keyframe(data),
                data: data.clone(),
                arrival: clock.origin_instant() + offset,
            };
            writer.write(frame).expect("write");
        }
        writer.finish().expect("finish");
    }
    let mut mix = MixWriter::create(dir, clock, 64_000).expect("mix");
    let tone: Vec<f32> = (0..48_000)
        .map(|i| 0.2 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin())
        .collect();
    for _ in 0..seconds {
        mix.write(&tone).expect("mix");
    }
    mix.finish().expect("finish the mix");
}

fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn nine_tile_session_speed() {
    let seconds: u32 = std::env::var("SEDUTA_PRESERVE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let dir = common::scratch("preserve-speed").join("session");
    std::fs::create_dir_all(&dir).expect("folder");
    synthetic_session(&dir, 9, seconds);
    let names: BTreeMap<String, String> = (0..9)
        .map(|p| (format!("p{p}"), format!("Componente della Giunta {p}")))
        .collect();
    preserve::enqueue(&dir, PreservationRequest::new(names)).expect("enqueue");
    let cpu_before = children_cpu_seconds();
    let started = Instant::now();
    let outcome = preserve::run(&dir, &mut |_| {}).expect("the job");
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_seconds() - cpu_before;
    assert_eq!(common::decode_errors(&outcome.target), "");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "9 tiles, {seconds} s session: job {wall:.1} s wall ({:.2}x real time), \
         ffmpeg CPU {cpu:.1} s ({:.2} CPU-s per session second); load average {}",
        f64::from(seconds) / wall,
        cpu / f64::from(seconds),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}
