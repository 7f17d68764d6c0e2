//! The live mix of a full Giunta: 13 speakers' 20 ms Opus frames decoded, placed on the
//! timeline, summed, limited and re-encoded to Opus, on one core. Reports the time per
//! second of session and the real-time factor (seconds of session mixed per second of
//! CPU); then the same with the files written (Opus WebM and FLAC through GStreamer).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use seduta_recordings::{MixConfig, MixWriter, Mixer, SessionClock};

const TRACKS: usize = 13;
const FRAME: usize = 960;

/// One second of 20 ms Opus packets per speaker: a voice-like tone with noise, coded
/// at 32 kbit/s as a browser would.
fn speakers() -> Vec<Vec<Vec<u8>>> {
    let mut seed = 0x2545_f491_u32;
    (0..TRACKS)
        .map(|t| {
            let mut encoder =
                opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
                    .expect("encoder");
            encoder
                .set_bitrate(opus::Bitrate::Bits(32_000))
                .expect("bitrate");
            let freq = 120.0 + 25.0 * t as f32;
            (0..50)
                .map(|f| {
                    let pcm: Vec<f32> = (0..FRAME)
                        .map(|i| {
                            seed ^= seed << 13;
                            seed ^= seed >> 17;
                            seed ^= seed << 5;
                            let noise = (seed as f32 / u32::MAX as f32 - 0.5) * 0.05;
                            let t = (f * FRAME + i) as f32 / 48_000.0;
                            0.3 * (2.0 * std::f32::consts::PI * freq * t).sin()
                                + 0.1 * (2.0 * std::f32::consts::PI * 3.0 * freq * t).sin()
                                + noise
                        })
                        .collect();
                    encoder.encode_vec_float(&pcm, 4000).expect("encode")
                })
                .collect()
        })
        .collect()
}

/// Mixes `seconds` of session: every 20 ms, one packet per speaker in, 20 ms of mix out
/// and re-encoded to Opus.
fn mix_core(speakers: &[Vec<Vec<u8>>], seconds: usize) -> usize {
    let mut mixer = Mixer::new(MixConfig::default());
    let mut encoder = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio)
        .expect("encoder");
    encoder
        .set_bitrate(opus::Bitrate::Bits(64_000))
        .expect("bitrate");
    let mut out = Vec::with_capacity(2 * FRAME);
    let mut packet = vec![0u8; 4000];
    let mut bytes = 0;
    for step in 0..seconds * 50 {
        let at = (step * FRAME) as u64;
        for (t, packets) in speakers.iter().enumerate() {
            let _ = mixer.push(t as u64, at, &packets[step % packets.len()]);
        }
        out.clear();
        mixer.mix(at + FRAME as u64, &mut out);
        if out.len() >= FRAME {
            bytes += encoder
                .encode_float(&out[..FRAME], &mut packet)
                .expect("encode");
        }
    }
    bytes
}

/// The same, with the mix written to `mix.webm` and `mix.flac`.
fn mix_to_files(speakers: &[Vec<Vec<u8>>], seconds: usize) {
    let dir = std::env::temp_dir().join(format!("seduta-mix-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench folder");
    let mut mixer = Mixer::new(MixConfig::default());
    let mut writer = MixWriter::create(&dir, SessionClock::now(), 64_000).expect("writer");
    let mut out = Vec::with_capacity(2 * FRAME);
    for step in 0..seconds * 50 {
        let at = (step * FRAME) as u64;
        for (t, packets) in speakers.iter().enumerate() {
            let _ = mixer.push(t as u64, at, &packets[step % packets.len()]);
        }
        out.clear();
        mixer.mix(at + FRAME as u64, &mut out);
        writer.write(&out).expect("write");
        if step % 50 == 0 {
            writer.sync().expect("sync");
        }
    }
    writer.finish().expect("finish");
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time (user + system) from a `/proc/.../stat` file: `/proc/thread-self/stat` for
/// this thread, `/proc/self/stat` for the whole process. CPU time, unlike wall time, is
/// not inflated when other work shares the machine.
fn cpu_time(stat: &str) -> Duration {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn main() {
    let speakers = speakers();
    let mut criterion = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut group = criterion.benchmark_group("mix");
    group.throughput(Throughput::Elements(1));
    group.bench_function("13 speakers, 1 s of session", |b| {
        b.iter(|| black_box(mix_core(black_box(&speakers), 1)))
    });
    group.finish();
    criterion.final_summary();

    let seconds = 120;
    let (start, cpu) = (Instant::now(), cpu_time("/proc/thread-self/stat"));
    black_box(mix_core(&speakers, seconds));
    let (wall, cpu) = (
        start.elapsed(),
        cpu_time("/proc/thread-self/stat").saturating_sub(cpu),
    );
    println!(
        "mix of 13 speakers: {seconds} s of session in {:.2} s of CPU on one thread \
         ({:.2} s wall): real-time factor {:.1}x",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        seconds as f64 / cpu.as_secs_f64().max(0.01)
    );
    let (start, cpu) = (Instant::now(), cpu_time("/proc/self/stat"));
    mix_to_files(&speakers, seconds);
    let (wall, cpu) = (
        start.elapsed(),
        cpu_time("/proc/self/stat").saturating_sub(cpu),
    );
    println!(
        "with mix.webm and mix.flac written: {seconds} s of session in {:.2} s of CPU, \
         all threads ({:.2} s wall): real-time factor {:.1}x",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        seconds as f64 / cpu.as_secs_f64().max(0.01)
    );
}
