//! Lip sync in the session's recording (issue 4): a synthetic webrtc-rs peer beeps and
//! flashes at the same instants (once a second: a white full-frame flash of two VP8
//! frames and an 80 ms Opus beep at 1 kHz, `SyntheticMedia::beep_and_flash`), admitted
//! and recorded for about 10 s; then the recording is judged with ffmpeg:
//!
//! - the flashes' onsets in `<participant>-camera.webm` (per-frame mean luma,
//!   `signalstats`) and the beeps' onsets in `<participant>-microphone.webm` (decoded
//!   PCM, first sample over a third of the peak after silence) are put on one clock
//!   with each track's sidecar, both ways it allows: the sender's RTP-to-NTP mapping
//!   (RTCP sender reports) and `wall_clock_start` (the server's arrival clock, which
//!   the preservation copy places tiles by);
//! - each flash is paired with the nearest beep: every pair's offset must be under
//!   80 ms, and at least 5 pairs found;
//! - for information, the same against `mix.flac` on `mix.json`'s clock (what the
//!   preservation copy's audio is); and, when the server makes `preservation.mp4` after
//!   the close, the same check on the MP4's own picture and sound.
//!
//! Every offset is printed (`--nocapture`). Run inside a network namespace (see
//! README): `unshare -n bash -c 'ip link set lo up && cargo test -p seduta-tests --test
//! lip_sync -- --nocapture'`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use seduta_tests::api::Reply;
use seduta_tests::demo::DemoSeduta;
use seduta_tests::media::{BEEP_FLASH_PERIOD, SyntheticMedia};
use seduta_tests::peer::WebrtcPeer;
use serde_json::{Value, json};

/// The largest offset between a flash and its beep that passes.
const MAX_OFFSET: f64 = 0.080;
/// How many flash–beep pairs must be found at least.
const MIN_PAIRS: usize = 5;
/// How long the peer is recorded.
const RECORDED: Duration = Duration::from_secs(10);
/// The remote member who beeps and flashes.
const WHO: &str = "assessore-1";

// ---------------------------------------------------------------------------
// A server with the demo Giunta, driven over REST.

async fn start(name: &str) -> anyhow::Result<DemoSeduta> {
    let dir = std::env::temp_dir().join(format!("seduta-lip-{name}-{}", std::process::id()));
    DemoSeduta::start(&dir, |_| {}).await
}

async fn recording_report(s: &DemoSeduta) -> anyhow::Result<Reply> {
    s.api
        .get(
            &format!("/api/sessions/{}/recording", s.session),
            Some(&s.staff),
        )
        .await
}

// ---------------------------------------------------------------------------
// Finding the flashes and the beeps.

/// `(pts_time, mean luma)` of every decoded video frame of `file`, in decoding order.
fn luma(file: &Path) -> anyhow::Result<Vec<(f64, f64)>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:v:0",
            "-vf",
            "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
            "-f",
            "null",
            "-",
        ])
        .output()
        .context("running ffmpeg (Debian package ffmpeg)")?;
    ensure!(
        out.status.success(),
        "ffmpeg signalstats on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames = Vec::new();
    let mut pts = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(at) = line.find("pts_time:") {
            pts = line[at + "pts_time:".len()..]
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok());
        } else if let Some(v) = line.strip_prefix("lavfi.signalstats.YAVG=")
            && let (Some(t), Ok(y)) = (pts.take(), v.trim().parse::<f64>())
        {
            frames.push((t, y));
        }
    }
    ensure!(!frames.is_empty(), "no video frames in {}", file.display());
    Ok(frames)
}

/// The times (s, on the file's clock) of the frames that turn bright after a dark
/// frame at most 0.1 s before them.
fn flash_onsets(file: &Path) -> anyhow::Result<Vec<f64>> {
    let frames = luma(file)?;
    let (lo, hi) = frames
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &(_, y)| {
            (lo.min(y), hi.max(y))
        });
    ensure!(
        hi - lo > 100.0,
        "{}: no flash (mean luma from {lo:.0} to {hi:.0} over {} frames)",
        file.display(),
        frames.len()
    );
    let threshold = (lo + hi) / 2.0;
    Ok(frames
        .windows(2)
        .filter(|w| w[0].1 <= threshold && w[1].1 > threshold && w[1].0 - w[0].0 < 0.1)
        .map(|w| w[1].0)
        .collect())
}

/// 48 kHz mono samples of `file`'s first audio stream, placed by their timestamps from
/// time zero (a gap of more than 5 ms in the timestamps becomes silence), so that
/// sample `n` is at `n / 48000` s on the file's clock.
fn pcm(file: &Path) -> anyhow::Result<Vec<f32>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:a:0",
            "-af",
            "aresample=async=1:min_hard_comp=0.005:first_pts=0",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-",
        ])
        .output()
        .context("running ffmpeg")?;
    ensure!(
        out.status.success(),
        "decoding {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect())
}

/// The times (s, on the file's clock) where a beep starts: the first sample above a
/// third of the loudest after at least 0.3 s below it.
fn beep_onsets(file: &Path) -> anyhow::Result<Vec<f64>> {
    let samples = pcm(file)?;
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    ensure!(
        peak > 0.1,
        "{}: no beep (peak {peak:.3} over {:.2} s)",
        file.display(),
        samples.len() as f64 / 48_000.0
    );
    let threshold = peak / 3.0;
    let quiet = 48_000 * 3 / 10;
    let mut onsets = Vec::new();
    let mut last_loud: Option<usize> = None;
    for (n, s) in samples.iter().enumerate() {
        if s.abs() > threshold {
            if last_loud.is_none_or(|l| n - l >= quiet) {
                onsets.push(n as f64 / 48_000.0);
            }
            last_loud = Some(n);
        }
    }
    Ok(onsets)
}

// ---------------------------------------------------------------------------
// Putting a file's times on the wall clock with its sidecar.

/// Seconds since the Unix epoch of a 64-bit NTP timestamp, as integer nanoseconds.
fn ntp_unix_ns(ntp: u64) -> i128 {
    const NTP_UNIX_OFFSET_SECS: i128 = 2_208_988_800;
    let secs = i128::from(ntp >> 32) - NTP_UNIX_OFFSET_SECS;
    let frac = (i128::from(ntp & 0xffff_ffff) * 1_000_000_000) >> 32;
    secs * 1_000_000_000 + frac
}

/// One sender report: `(RTP timestamp, the sender's clock in unix ns)`.
type Report = (i128, i128);

/// What a track's sidecar says about its clock.
struct TrackClock {
    name: String,
    wall_clock_start_ns: i128,
    first_rtp: i128,
    clock_rate: f64,
    /// `(rtp, unix ns)` of the first and the latest sender report, and how many came.
    reports: Option<(Report, Report, u64)>,
}

impl TrackClock {
    fn read(folder: &Path, track: &str) -> anyhow::Result<Self> {
        let path = folder.join(format!("{track}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)?;
        let int = |v: &Value| -> Option<i128> {
            v.as_u64()
                .map(i128::from)
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .or_else(|| v.as_f64().map(|f| f as i128))
        };
        let wall_clock_start_ns =
            int(&v["wall_clock_start_unix_ns"]).context("no wall_clock_start_unix_ns")?;
        let first_rtp = int(&v["first_rtp_timestamp"]).context("no first_rtp_timestamp")?;
        let clock_rate = v["clock_rate"].as_f64().context("no clock_rate")?;
        let report = |r: &Value| -> Option<Report> {
            Some((int(&r["rtp_timestamp"])?, ntp_unix_ns(r["ntp"].as_u64()?)))
        };
        let m = &v["ntp_mapping"];
        let reports = match (report(&m["first"]), report(&m["latest"])) {
            (Some(first), Some(latest)) => {
                Some((first, latest, m["reports"].as_u64().unwrap_or(0)))
            }
            _ => None,
        };
        Ok(Self {
            name: track.to_owned(),
            wall_clock_start_ns,
            first_rtp,
            clock_rate,
            reports,
        })
    }

    /// A time on the file's clock by the server's arrival clock (unix ns).
    fn by_arrival(&self, t: f64) -> i128 {
        self.wall_clock_start_ns + (t * 1e9).round() as i128
    }

    /// A time on the file's clock by the sender's clock (unix ns), through the latest
    /// sender report, at the nominal clock rate.
    fn by_sender(&self, t: f64) -> Option<i128> {
        let (_, (rtp, ntp), _) = self.reports?;
        let frame_rtp = self.first_rtp as f64 + t * self.clock_rate;
        Some(ntp + ((frame_rtp - rtp as f64) / self.clock_rate * 1e9).round() as i128)
    }

    /// How far the first and the latest sender report disagree (ms) over their span,
    /// and the span (s): the sender's drift and the reports' jitter together.
    fn report_spread(&self) -> Option<(f64, f64)> {
        let ((rtp0, ntp0), (rtp1, ntp1), _) = self.reports?;
        let by_rtp = (rtp1 - rtp0) as f64 / self.clock_rate;
        let by_ntp = (ntp1 - ntp0) as f64 / 1e9;
        Some(((by_ntp - by_rtp) * 1e3, by_ntp))
    }

    fn describe(&self) -> String {
        match (self.reports, self.report_spread()) {
            (Some((_, _, n)), Some((spread, span))) => format!(
                "{}: {n} sender reports over {span:.1} s, first vs latest {spread:+.2} ms",
                self.name
            ),
            _ => format!("{}: no sender report", self.name),
        }
    }
}

/// Pairs each flash with the nearest beep (both in seconds on one clock) and returns
/// `(flash, beep - flash)` for every flash that has a beep within half a period; the
/// flashes without one are returned apart.
fn pair(flashes: &[f64], beeps: &[f64]) -> (Vec<(f64, f64)>, Vec<f64>) {
    let half = BEEP_FLASH_PERIOD.as_secs_f64() / 2.0;
    let mut pairs = Vec::new();
    let mut lonely = Vec::new();
    for &f in flashes {
        let nearest = beeps
            .iter()
            .map(|&b| b - f)
            .min_by(|a, b| a.abs().total_cmp(&b.abs()));
        match nearest {
            Some(d) if d.abs() < half => pairs.push((f, d)),
            _ => lonely.push(f),
        }
    }
    (pairs, lonely)
}

/// Prints the pairs and checks them: at least [`MIN_PAIRS`], every offset under
/// [`MAX_OFFSET`], every flash with a beep. Returns the problems found.
fn judge(what: &str, flashes: &[f64], beeps: &[f64]) -> Vec<String> {
    let (pairs, lonely) = pair(flashes, beeps);
    let offsets: Vec<String> = pairs
        .iter()
        .map(|(_, d)| format!("{:+.1}", d * 1e3))
        .collect();
    let worst = pairs.iter().map(|(_, d)| d.abs()).fold(0.0, f64::max);
    eprintln!(
        "{what}: {} flashes, {} beeps, {} pairs; beep minus flash (ms): [{}]; worst {:.1} ms",
        flashes.len(),
        beeps.len(),
        pairs.len(),
        offsets.join(", "),
        worst * 1e3
    );
    let mut problems = Vec::new();
    if pairs.len() < MIN_PAIRS {
        problems.push(format!(
            "{what}: only {} flash-beep pairs (flashes at {flashes:.3?}, beeps at {beeps:.3?})",
            pairs.len()
        ));
    }
    for (f, d) in &pairs {
        if d.abs() >= MAX_OFFSET {
            problems.push(format!(
                "{what}: the beep of the flash at {f:.3} s is {:+.1} ms from it (limit {:.0} ms)",
                d * 1e3,
                MAX_OFFSET * 1e3
            ));
        }
    }
    if !lonely.is_empty() {
        problems.push(format!("{what}: flashes without a beep at {lonely:.3?}"));
    }
    problems
}

/// Keeps the times (s) that lie at least `margin` inside `[from, to]`.
fn within(times: &[f64], from: f64, to: f64, margin: f64) -> Vec<f64> {
    times
        .iter()
        .copied()
        .filter(|t| *t >= from + margin && *t <= to - margin)
        .collect()
}

/// The length (s) of a file's first stream of `kind` (`v` or `a`) by its packets.
fn span(file: &Path, kind: &str) -> anyhow::Result<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0")])
        .args([
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .context("running ffprobe")?;
    ensure!(out.status.success(), "ffprobe {}", file.display());
    let mut end: f64 = 0.0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split(',').map(|f| f.parse::<f64>().unwrap_or(0.0));
        let (pts, duration) = (fields.next().unwrap_or(0.0), fields.next().unwrap_or(0.0));
        end = end.max(pts + duration);
    }
    Ok(end)
}

// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beep_and_a_flash_sent_together_are_recorded_together() -> anyhow::Result<()> {
    let began = Instant::now();
    let s = start("beep").await?;
    let media_dir = s.data_dir.join("media");
    std::fs::create_dir_all(&media_dir)?;
    let media = SyntheticMedia::beep_and_flash(&media_dir)?;
    let token = s.invite(WHO).await?;
    let peer = WebrtcPeer::join(&s.ws_url(), &token, media)
        .await
        .context("the beeping peer joining")?;
    // Admitted (so recorded), and three members in the chamber for the quorum (4 of 7).
    s.act(json!({"kind": "identify", "participant": WHO, "camera_on": true}))
        .await?;
    for who in ["sindaco", "assessore-4", "assessore-5"] {
        s.act(json!({"kind": "check_in", "participant": who}))
            .await?;
    }
    s.act(json!({"kind": "open_session"})).await?;
    let opened = Instant::now();
    tokio::time::sleep(RECORDED).await;
    s.act(json!({"kind": "close_session"})).await?;
    eprintln!(
        "recorded for {:.1} s (the close took {:.2} s)",
        opened.elapsed().as_secs_f64(),
        (opened.elapsed() - RECORDED).as_secs_f64()
    );
    peer.close().await;

    let folder = s.folder();
    let camera_file = folder.join(format!("{WHO}-camera.webm"));
    let microphone_file = folder.join(format!("{WHO}-microphone.webm"));
    let mut problems = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    eprintln!("the recording: {names:?}");
    if names
        .iter()
        .any(|n| n.starts_with(&format!("{WHO}-camera-")))
    {
        // A second file of the camera: the first one is judged; say so.
        eprintln!("note: the camera was recorded in more than one file");
    }

    let camera = TrackClock::read(&folder, &format!("{WHO}-camera"))?;
    let microphone = TrackClock::read(&folder, &format!("{WHO}-microphone"))?;
    eprintln!("{}", camera.describe());
    eprintln!("{}", microphone.describe());
    let flashes = flash_onsets(&camera_file)?;
    let beeps = beep_onsets(&microphone_file)?;
    eprintln!("on the files' own clocks: flashes at {flashes:.3?} s, beeps at {beeps:.3?} s");
    let camera_end = span(&camera_file, "v")?;
    let microphone_end = span(&microphone_file, "a")?;

    // Time zero: the microphone's first frame's arrival; everything in seconds from it.
    let zero = microphone.wall_clock_start_ns;
    let secs = |ns: i128| (ns - zero) as f64 / 1e9;
    // Only the flashes and beeps well inside both tracks can have their partner.
    type ToWall = dyn Fn(&TrackClock, f64) -> Option<i128>;
    let both = |to_wall: &ToWall| -> Option<(f64, f64)> {
        let from = secs(to_wall(&camera, 0.0)?).max(secs(to_wall(&microphone, 0.0)?));
        let to =
            secs(to_wall(&camera, camera_end)?).min(secs(to_wall(&microphone, microphone_end)?));
        Some((from, to))
    };
    let by_sender: &ToWall = &|c, t| c.by_sender(t);
    let by_arrival: &ToWall = &|c, t| Some(c.by_arrival(t));
    for (what, to_wall) in [
        ("tracks by the sender reports (RTP to NTP)", by_sender),
        ("tracks by wall_clock_start (arrival)", by_arrival),
    ] {
        let (Some(f), Some(b), Some((from, to))) = (
            flashes
                .iter()
                .map(|&t| to_wall(&camera, t).map(secs))
                .collect::<Option<Vec<f64>>>(),
            beeps
                .iter()
                .map(|&t| to_wall(&microphone, t).map(secs))
                .collect::<Option<Vec<f64>>>(),
            both(to_wall),
        ) else {
            problems.push(format!("{what}: a sidecar has no RTP-to-NTP mapping"));
            continue;
        };
        problems.extend(judge(what, &within(&f, from, to, 0.2), &b));
    }

    // For information: the mix (the preservation copy's audio) on mix.json's clock,
    // against the camera by wall_clock_start (where the copy puts its tile).
    match TrackClock::read(&folder, "mix").and_then(|mix| {
        let beeps = beep_onsets(&folder.join("mix.flac"))?;
        Ok(beeps
            .iter()
            .map(|&t| secs(mix.by_arrival(t)))
            .collect::<Vec<f64>>())
    }) {
        Ok(mix_beeps) => {
            let f: Vec<f64> = flashes
                .iter()
                .map(|&t| secs(camera.by_arrival(t)))
                .collect();
            let (from, to) = (
                mix_beeps.first().copied().unwrap_or(0.0) - 0.5,
                mix_beeps.last().copied().unwrap_or(0.0) + 0.5,
            );
            let info = judge(
                "mix.flac against the camera, by wall_clock_start (information)",
                &within(&f, from, to, 0.0),
                &mix_beeps,
            );
            for p in info {
                eprintln!("information, not asserted: {p}");
            }
        }
        Err(e) => eprintln!("information: the mix could not be judged: {e:#}"),
    }

    // The preservation copy, if this server makes one after the close.
    match preservation(&s).await {
        Ok(Some(mp4)) => {
            eprintln!("preservation copy: {}", mp4.display());
            match (flash_onsets(&mp4), beep_onsets(&mp4)) {
                (Ok(f), Ok(b)) => {
                    problems.extend(judge("preservation.mp4", &f, &b));
                    explain_grid(&folder, &camera, &flashes, &f);
                }
                (f, b) => problems.push(format!(
                    "preservation.mp4 could not be judged: {:?} {:?}",
                    f.err(),
                    b.err()
                )),
            }
        }
        Ok(None) => {}
        Err(e) => problems.push(format!("the preservation copy: {e:#}")),
    }

    s.stop().await;
    eprintln!("the test took {:.1} s", began.elapsed().as_secs_f64());
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
    Ok(())
}

/// Prints, for information, how far each flash in the copy is from where the camera's
/// sidecar puts it on the copy's timeline (from `mix.json`'s start), next to the
/// distance to the nearest frame of the copy's constant 25 fps: a picture can only
/// show on that grid (the composite lands it on the nearest frame, within ±20 ms).
fn explain_grid(folder: &Path, camera: &TrackClock, flashes: &[f64], in_copy: &[f64]) {
    let Ok(mix) = TrackClock::read(folder, "mix") else {
        return;
    };
    let placed: Vec<f64> = flashes
        .iter()
        .map(|&t| (camera.by_arrival(t) - mix.wall_clock_start_ns) as f64 / 1e9)
        .collect();
    let delays: Vec<String> = in_copy
        .iter()
        .filter_map(|&c| {
            let p = placed
                .iter()
                .copied()
                .min_by(|a, b| (a - c).abs().total_cmp(&(b - c).abs()))?;
            let grid = (p * 25.0).round() / 25.0 - p;
            Some(format!("{:+.1} (grid {:+.1})", (c - p) * 1e3, grid * 1e3))
        })
        .collect();
    eprintln!(
        "preservation.mp4: each flash in the copy minus its place by the camera's sidecar, \
         and the nearest 25 fps frame minus that place (ms): [{}]",
        delays.join(", ")
    );
}

/// `preservation.mp4` of the session once the server reports it done, or `None` if this
/// server does not make one (no recording report, or no preservation job in it).
async fn preservation(s: &DemoSeduta) -> anyhow::Result<Option<PathBuf>> {
    let reply = recording_report(s).await?;
    if reply.status != 200 {
        eprintln!("no preservation check: GET /api/sessions/{{id}}/recording answered {reply}");
        return Ok(None);
    }
    if reply.json()["preservation"].is_null() {
        eprintln!("no preservation check: the recording report has no preservation job: {reply}");
        return Ok(None);
    }
    let mp4 = s.folder().join("preservation.mp4");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let reply = recording_report(s).await?;
        let job = reply.json()["preservation"].clone();
        let state = job["state"].as_str().unwrap_or_default().to_owned();
        if state == "done" && mp4.exists() {
            return Ok(Some(mp4));
        }
        ensure!(state != "failed", "the preservation job failed: {job}");
        ensure!(
            Instant::now() < deadline,
            "the preservation job is not done after 300 s: {job}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
