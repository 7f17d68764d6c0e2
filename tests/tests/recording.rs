//! The session's recording end to end, judged by ffmpeg/ffprobe: webrtc-rs peers
//! publishing Opus tones and VP8 to a real server with the demo Giunta, admitted by
//! the segretario over the REST API; the files in `<data_dir>/recordings/<session>/`.
//!
//! - a session of more than 20 s with three admitted peers (440, 660 and 990 Hz) and
//!   one left in the lobby (550 Hz): every working master decodes without a message,
//!   each track lasts its participant's time in the recording, every admitted tone is
//!   in the mix and the lobby's is not, and the lobby has no file; after the close the
//!   chapters (two agenda items and a vote) and the preservation copy (H.264 High,
//!   1280x720, 25 fps, FLAC, chapters, decoding end to end, in the register) are made
//!   by the server's background job, followed through the API;
//! - pause and resume: logged with `by`, a gap in the tracks' timestamps, the
//!   indicator on every participant, a member's attempt refused with nothing changed;
//! - `kill -9` of the `seduta` binary mid-session: every file decodes and holds the
//!   media up to the last flush; after the restart the log shows it and recording
//!   resumes into new files of the same folder.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test recording'`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use seduta_signaling::attendance::{read_jsonl, verify};
use seduta_tests::api::{Api, Reply};
use seduta_tests::demo::DemoSeduta;
use seduta_tests::media::{SyntheticMedia, decodes_cleanly};
use seduta_tests::peer::WebrtcPeer;
use seduta_tests::process::{SedutaProcess, demo_password, invite, two_remote_two_present};
use seduta_tests::ws::WsClient;
use serde_json::{Value, json};

const SEGRETARIO: &str = "staff-segretario";

// ---------------------------------------------------------------------------
// A server with the demo Giunta, driven over REST.

type Seduta = DemoSeduta;

/// A server with the demo Giunta; `preservation`: whether it makes the preservation
/// copy after the close (the tests that do not look at it spare the machine the
/// encoding).
async fn start(name: &str, preservation: bool) -> anyhow::Result<Seduta> {
    let dir = std::env::temp_dir().join(format!("seduta-rec-{name}-{}", std::process::id()));
    DemoSeduta::start(&dir, |c| {
        c.preservation = preservation;
        c.preservation_threads = 2;
    })
    .await
}

fn scratch(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("seduta-rec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn login(api: &Api, password: &str) -> anyhow::Result<String> {
    seduta_tests::demo::login(api, "segretario", password).await
}

async fn act(api: &Api, session: &str, token: &str, action: Value) -> anyhow::Result<Reply> {
    api.post(
        &format!("/api/sessions/{session}/actions"),
        Some(token),
        &action,
    )
    .await
}

async fn act_ok(api: &Api, session: &str, token: &str, action: Value) -> anyhow::Result<Value> {
    let reply = act(api, session, token, action.clone()).await?;
    ensure!(reply.status == 200, "{action} was refused: {reply}");
    Ok(reply.json())
}

async fn attendance(api: &Api, session: &str, staff: &str) -> anyhow::Result<Vec<Value>> {
    let reply = api
        .get(&format!("/api/sessions/{session}/attendance"), Some(staff))
        .await?;
    ensure!(reply.status == 200, "attendance: {reply}");
    reply.json().as_array().cloned().context("not an array")
}

async fn state(api: &Api, session: &str, staff: &str) -> anyhow::Result<Value> {
    let reply = api
        .get(&format!("/api/sessions/{session}/state"), Some(staff))
        .await?;
    ensure!(reply.status == 200, "state: {reply}");
    Ok(reply.json())
}

fn of_kind<'a>(log: &'a [Value], kind: &str) -> Vec<&'a Value> {
    log.iter().filter(|e| e["kind"] == kind).collect()
}

/// A remote member joins with a webrtc-rs peer sending a `hz` tone and VP8.
async fn join(s: &Seduta, who: &str, hz: f32) -> anyhow::Result<WebrtcPeer> {
    let dir = s.data_dir.join("media");
    std::fs::create_dir_all(&dir)?;
    let media = SyntheticMedia::with_tone(&dir, hz)?;
    let token = invite(&s.api, &s.session, &s.staff, who).await?;
    WebrtcPeer::join(&s.ws_url(), &token, media)
        .await
        .with_context(|| format!("{who} joining"))
}

/// The segretario identifies `who` on camera: admitted (and from now on recorded).
async fn admit(s: &Seduta, who: &str) -> anyhow::Result<()> {
    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "identify", "participant": who, "camera_on": true}),
    )
    .await?;
    Ok(())
}

/// Two members in the chamber, so that the quorum (4 of 7) is there with two remote.
async fn chamber(s: &Seduta) -> anyhow::Result<()> {
    for who in ["sindaco", "assessore-4"] {
        act_ok(
            &s.api,
            &s.session,
            &s.staff,
            json!({"kind": "check_in", "participant": who}),
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Judging the files with ffmpeg and ffprobe.

/// Presentation times (s) of a file's packets, in order, with the last one's duration.
fn packet_times(file: &Path) -> anyhow::Result<(Vec<f64>, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .context("running ffprobe")?;
    ensure!(out.status.success(), "ffprobe {}", file.display());
    let mut times = Vec::new();
    let mut last_duration = 0.0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split(',');
        let Some(Ok(pts)) = fields.next().map(str::parse::<f64>) else {
            continue;
        };
        last_duration = fields
            .next()
            .and_then(|d| d.parse::<f64>().ok())
            .unwrap_or(0.0);
        times.push(pts);
    }
    times.sort_by(f64::total_cmp);
    ensure!(!times.is_empty(), "{} has no packets", file.display());
    Ok((times, last_duration))
}

/// The media duration of a file: from its first packet to the end of its last.
fn media_seconds(file: &Path) -> anyhow::Result<f64> {
    let (times, last) = packet_times(file)?;
    Ok(times[times.len() - 1] + last - times[0])
}

/// The longest gap between consecutive packets (s).
fn longest_gap(file: &Path) -> anyhow::Result<f64> {
    let (times, _) = packet_times(file)?;
    Ok(times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max))
}

/// 48 kHz mono samples of an audio file, decoded by ffmpeg.
fn pcm(file: &Path) -> anyhow::Result<Vec<f32>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .context("running ffmpeg")?;
    ensure!(out.status.success(), "decoding {}", file.display());
    Ok(out
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect())
}

/// The power of `samples` at `hz` (Goertzel), per sample.
fn power_at(samples: &[f32], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / 48_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (samples.len().max(1) as f64).powi(2)
}

fn files_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Waits until `check` holds, for at most `within`.
async fn wait_until(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while !check() {
        ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) A recorded session of three admitted peers, one in the lobby.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_admitted_peers_are_recorded_and_mixed() -> anyhow::Result<()> {
    let s = start("three", true).await?;
    let a1 = join(&s, "assessore-1", 440.0).await?;
    let a2 = join(&s, "assessore-2", 660.0).await?;
    admit(&s, "assessore-1").await?;
    admit(&s, "assessore-2").await?;
    chamber(&s).await?;
    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "open_session"}),
    )
    .await?;
    let opened = Instant::now();

    // A member who stays in the lobby is never recorded.
    let lobby = join(&s, "assessore-3", 550.0).await?;
    // A third member admitted later: recorded from the admission on.
    let a5 = join(&s, "assessore-5", 990.0).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    admit(&s, "assessore-5").await?;
    let a5_admitted = Instant::now();

    // Two agenda items and a vote: the chapters of the recording.
    for action in [
        json!({"kind": "open_item", "item": 1}),
        json!({"kind": "open_vote", "vote": "deliberation"}),
        json!({"kind": "close_vote"}),
        json!({"kind": "open_item", "item": 2}),
    ] {
        tokio::time::sleep(Duration::from_secs(2)).await;
        act_ok(&s.api, &s.session, &s.staff, action).await?;
    }

    tokio::time::sleep(Duration::from_secs(21).saturating_sub(opened.elapsed())).await;
    let closing = Instant::now();
    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "close_session"}),
    )
    .await?;
    let closed = Instant::now();
    let log = attendance(&s.api, &s.session, &s.staff).await?;

    let folder = s.folder();
    let files = files_in(&folder)?;
    let mut problems = Vec::new();
    for want in [
        "assessore-1-microphone.webm",
        "assessore-1-camera.webm",
        "assessore-2-microphone.webm",
        "assessore-2-camera.webm",
        "assessore-5-microphone.webm",
        "assessore-5-camera.webm",
        "mix.webm",
        "mix.flac",
        "mix.json",
    ] {
        if !files.iter().any(|f| f == want) {
            problems.push(format!("{want} is missing from {files:?}"));
        }
    }
    if let Some(f) = files.iter().find(|f| f.starts_with("assessore-3")) {
        problems.push(format!("the member in the lobby was recorded: {f}"));
    }
    for f in files
        .iter()
        .filter(|f| f.ends_with(".webm") || f.ends_with(".flac"))
    {
        if let Err(e) = decodes_cleanly(&folder.join(f)) {
            problems.push(format!("{e:#}"));
        }
    }
    // Each track lasts its participant's time in the recording (0.5 s of tolerance;
    // the instants bracket the server's start and stop by the REST round trip).
    let from_opening = (closing - opened).as_secs_f64();
    let from_admission = (closing - a5_admitted).as_secs_f64();
    let slack = (closed - closing).as_secs_f64();
    for (who, expected) in [
        ("assessore-1", from_opening),
        ("assessore-2", from_opening),
        ("assessore-5", from_admission),
    ] {
        for source in ["microphone", "camera"] {
            let file = folder.join(format!("{who}-{source}.webm"));
            match media_seconds(&file) {
                Ok(d) if (d - expected).abs() <= 0.5 + slack => {
                    eprintln!("{who}-{source}: {d:.3} s recorded, {expected:.3} s in the session");
                }
                Ok(d) => problems.push(format!(
                    "{who}-{source} lasts {d:.3} s, its time in the session is {expected:.3} s"
                )),
                Err(e) => problems.push(format!("{e:#}")),
            }
        }
    }
    // The mix holds every admitted voice, and not the lobby's.
    let mix = pcm(&folder.join("mix.flac"))?;
    let mix_seconds = mix.len() as f64 / 48_000.0;
    // After the third member's admission, while all three speak.
    let start = (((a5_admitted - opened).as_secs_f64() + 2.0) * 48_000.0) as usize;
    let end = mix.len().saturating_sub(48_000);
    if start + 48_000 > end {
        problems.push(format!("the mix is too short: {mix_seconds:.2} s"));
    } else {
        let window = &mix[start..end];
        let off = [350.0, 800.0, 1200.0]
            .map(|hz| power_at(window, hz))
            .into_iter()
            .fold(0.0, f64::max);
        let lobby_tone = power_at(window, 550.0);
        for hz in [440.0, 660.0, 990.0] {
            let p = power_at(window, hz);
            eprintln!("mix at {hz} Hz: {p:.3e} (off-tone {off:.3e}, lobby tone {lobby_tone:.3e})");
            if p < 100.0 * off.max(1e-12) {
                problems.push(format!(
                    "the {hz} Hz voice is not in the mix: {p:.3e} against {off:.3e}"
                ));
            }
        }
        let weakest = [440.0, 660.0, 990.0]
            .map(|hz| power_at(window, hz))
            .into_iter()
            .fold(f64::MAX, f64::min);
        if lobby_tone * 100.0 > weakest {
            problems.push(format!(
                "the lobby's 550 Hz is in the mix: {lobby_tone:.3e} against {weakest:.3e}"
            ));
        }
    }
    // The log: started at the opening, stopped at the close with a summary, sealed.
    let started = of_kind(&log, "recording_started");
    let stopped = of_kind(&log, "recording_stopped");
    if started.len() != 1 || started[0]["data"]["by"] != SEGRETARIO {
        problems.push(format!("recording_started: {started:?}"));
    }
    if stopped.len() != 1
        || stopped[0]["data"]["summary"]["tracks"]
            .as_array()
            .map(Vec::len)
            != Some(6)
    {
        problems.push(format!("recording_stopped: {stopped:?}"));
    }
    let jsonl: String = log.iter().map(|e| format!("{e}\n")).collect();
    match read_jsonl(&jsonl)
        .map_err(|b| anyhow::anyhow!("{b}"))
        .and_then(|entries| verify(&entries).map_err(|b| anyhow::anyhow!("{b}")))
    {
        Ok(v) if v.sealed => {}
        other => problems.push(format!("the log does not verify sealed: {other:?}")),
    }

    for peer in [a1, a2, lobby, a5] {
        peer.close().await;
    }
    // After the close: the chapters and the preservation copy, made in the background
    // and followed through the API.
    if let Err(e) = check_preservation(&s, &folder, mix_seconds).await {
        problems.push(format!("{e:#}"));
    }
    s.stop().await;
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
    Ok(())
}

/// Follows the preservation job through `GET /api/sessions/{id}/recording` until it is
/// done, then judges the copy with ffprobe and ffmpeg: H.264 High at 1280x720 and 25
/// fps, FLAC audio as long as the mix, decoding end to end without a message; the
/// chapters (two items and a vote) in `chapters.json`, `chapters.ttml` and the MP4;
/// the migration in the register.
async fn check_preservation(s: &Seduta, folder: &Path, mix_seconds: f64) -> anyhow::Result<()> {
    let path = format!("/api/sessions/{}/recording", s.session);
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut states = Vec::new();
    let report = loop {
        let report = s.api.get(&path, Some(&s.staff)).await?;
        ensure!(report.status == 200, "{path}: {}", report.body);
        let report = report.json();
        let state = report["preservation"]["state"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        if states.last() != Some(&state) {
            eprintln!("preservation: {state} ({})", report["preservation"]);
            states.push(state.clone());
        }
        match state.as_str() {
            "done" => break report,
            "failed" => bail!("the preservation job failed: {}", report["preservation"]),
            _ => {}
        }
        ensure!(
            Instant::now() < deadline,
            "the preservation copy was not done in 300 s: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let files: Vec<&str> = report["files"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    for want in [
        "preservation.mp4",
        "register.json",
        "chapters.json",
        "chapters.ttml",
    ] {
        ensure!(files.contains(&want), "{want} is not listed: {files:?}");
    }
    let chapters: Vec<(String, String)> = report["chapters"]["chapters"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                    (field("kind"), field("title"))
                })
                .collect()
        })
        .unwrap_or_default();
    eprintln!("chapters: {chapters:?}");
    let kinds: Vec<&str> = chapters.iter().map(|(k, _)| k.as_str()).collect();
    ensure!(
        kinds == ["agenda_item", "vote", "agenda_item"],
        "chapters: {chapters:?}"
    );
    ensure!(
        chapters[0].1.starts_with("Punto 1: ") && chapters[1].1 == "Votazione sul punto 1",
        "chapter titles: {chapters:?}"
    );
    let ttml = std::fs::read_to_string(folder.join("chapters.ttml"))?;
    ensure!(ttml.contains("Votazione sul punto 1"), "{ttml}");

    let mp4 = folder.join("preservation.mp4");
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-show_chapters",
            "-of",
            "json",
        ])
        .arg(&mp4)
        .output()
        .context("running ffprobe")?;
    ensure!(out.status.success(), "ffprobe {}", mp4.display());
    let probe: Value = serde_json::from_slice(&out.stdout)?;
    let streams = probe["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .context("no video stream")?;
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .context("no audio stream")?;
    ensure!(
        video["codec_name"] == "h264" && video["profile"] == "High",
        "video: {} {}",
        video["codec_name"],
        video["profile"]
    );
    ensure!(
        video["width"] == 1280 && video["height"] == 720 && video["avg_frame_rate"] == "25/1",
        "video: {}x{} at {}",
        video["width"],
        video["height"],
        video["avg_frame_rate"]
    );
    ensure!(
        audio["codec_name"] == "flac",
        "audio: {}",
        audio["codec_name"]
    );
    ensure!(
        probe["format"]["format_name"]
            .as_str()
            .is_some_and(|f| f.contains("mp4")),
        "container: {}",
        probe["format"]["format_name"]
    );
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    eprintln!("preservation.mp4: {duration:.3} s, the mix {mix_seconds:.3} s");
    ensure!(
        (duration - mix_seconds).abs() <= 0.5,
        "the copy lasts {duration:.3} s, the mix {mix_seconds:.3} s"
    );
    let mp4_chapters = probe["chapters"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(mp4_chapters >= 3, "the MP4 has {mp4_chapters} chapters");
    decodes_cleanly(&mp4)?;

    let register: Value = serde_json::from_slice(&std::fs::read(folder.join("register.json"))?)?;
    let entries = register.as_array().context("the register is not a list")?;
    ensure!(
        entries.len() == 1 && entries[0]["result"] == "ok",
        "register: {register}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// (b) Pause and resume.

/// Reads `c` until a message of type `ty`, keeping the `recording` messages seen.
async fn read_until(c: &mut WsClient, ty: &str, seen: &mut Vec<Value>) -> anyhow::Result<Value> {
    for _ in 0..200 {
        let m = c.next().await?;
        if m["type"] == "recording" {
            seen.push(m.clone());
        }
        if m["type"] == ty {
            return Ok(m);
        }
    }
    bail!("no {ty} in 200 messages")
}

fn states(messages: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in messages {
        let s = m["state"].as_str().unwrap_or("?").to_owned();
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_are_logged_shown_and_leave_a_gap() -> anyhow::Result<()> {
    let s = start("pause", false).await?;
    let a1 = join(&s, "assessore-1", 440.0).await?;
    let a2 = join(&s, "assessore-2", 660.0).await?;
    admit(&s, "assessore-1").await?;
    admit(&s, "assessore-2").await?;
    chamber(&s).await?;
    // The segretario's console over the WebSocket.
    let reply = s
        .api
        .post(
            &format!("/api/sessions/{}/console", s.session),
            Some(&s.staff),
            &json!({}),
        )
        .await?;
    ensure!(reply.status == 201, "console link: {reply}");
    let console_token = reply.json()["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let mut seg = WsClient::connect(&s.ws_url()).await?;
    let mut seg_seen = Vec::new();
    seg.json(json!({"type": "join", "token": console_token}))
        .await?;
    read_until(&mut seg, "joined", &mut seg_seen).await?;

    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "open_session"}),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A member may not pause: refused with a stable code, nothing changes.
    let a1_token = invite(&s.api, &s.session, &s.staff, "assessore-1").await?;
    let log_before = attendance(&s.api, &s.session, &s.staff).await?;
    let state_before = state(&s.api, &s.session, &s.staff).await?;
    let refused = act(
        &s.api,
        &s.session,
        &a1_token,
        json!({"kind": "pause_recording"}),
    )
    .await?;
    ensure!(
        refused.status == 403 && refused.code().as_deref() == Some("forbidden"),
        "a member pausing: {refused}"
    );
    let log_after = attendance(&s.api, &s.session, &s.staff).await?;
    let state_after = state(&s.api, &s.session, &s.staff).await?;
    ensure!(log_after == log_before, "a refused pause changed the log");
    ensure!(
        state_after["recording"] == state_before["recording"]
            && state_after["recording"]["state"] == "recording",
        "a refused pause changed the recording: {}",
        state_after["recording"]
    );

    // The segretario pauses over the WebSocket…
    seg.json(json!({"type": "action", "id": 1, "action": {"kind": "pause_recording"}}))
        .await?;
    let result = read_until(&mut seg, "action_result", &mut seg_seen).await?;
    ensure!(result["ok"] == true, "pause: {result}");
    let paused_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // …a second pause is refused…
    let again = act(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "pause_recording"}),
    )
    .await?;
    ensure!(
        again.status == 409 && again.code().as_deref() == Some("not_recording"),
        "pausing a paused recording: {again}"
    );
    // …and resumes over REST.
    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "resume_recording"}),
    )
    .await?;
    let pause = paused_at.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(4)).await;
    act_ok(
        &s.api,
        &s.session,
        &s.staff,
        json!({"kind": "close_session"}),
    )
    .await?;

    let mut problems = Vec::new();
    let log = attendance(&s.api, &s.session, &s.staff).await?;
    let kinds: Vec<&str> = log
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|k| k.starts_with("recording_"))
        .collect();
    if kinds
        != [
            "recording_started",
            "recording_paused",
            "recording_resumed",
            "recording_stopped",
        ]
    {
        problems.push(format!("recording entries: {kinds:?}"));
    }
    for kind in ["recording_paused", "recording_resumed", "recording_stopped"] {
        if of_kind(&log, kind)
            .iter()
            .any(|e| e["data"]["by"] != SEGRETARIO)
        {
            problems.push(format!("{kind} without by: {:?}", of_kind(&log, kind)));
        }
    }
    // The pause is a gap in the tracks' timestamps, as long as the pause.
    let folder = s.folder();
    for file in [
        "assessore-1-microphone.webm",
        "assessore-1-camera.webm",
        "assessore-2-microphone.webm",
    ] {
        let path = folder.join(file);
        if let Err(e) = decodes_cleanly(&path) {
            problems.push(format!("{e:#}"));
        }
        match longest_gap(&path) {
            Ok(gap) if gap >= pause - 0.5 && gap <= pause + 0.7 => {
                eprintln!("{file}: a gap of {gap:.3} s for a pause of {pause:.3} s");
            }
            Ok(gap) => problems.push(format!(
                "{file}: the longest gap is {gap:.3} s, the pause {pause:.3} s"
            )),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    // Every participant saw the indicator change.
    let expected = ["off", "recording", "paused", "recording", "off"];
    for (who, peer) in [("assessore-1", &a1), ("assessore-2", &a2)] {
        let seen = states(&peer.recording_messages());
        if seen != expected {
            problems.push(format!("{who} saw the recording states {seen:?}"));
        }
    }
    // The segretario's console: what it read so far, then the rest up to the close.
    for _ in 0..200 {
        match tokio::time::timeout(Duration::from_millis(500), seg.next()).await {
            Ok(Ok(m)) if m["type"] == "recording" => seg_seen.push(m),
            Ok(Ok(_)) => {}
            _ => break,
        }
    }
    let seen = states(&seg_seen);
    if seen != expected {
        problems.push(format!("the segretario saw {seen:?}"));
    }

    a1.close().await;
    a2.close().await;
    s.stop().await;
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// (c) kill -9 of the server mid-session.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_session_keeps_the_files_and_recording_resumes() -> anyhow::Result<()> {
    let data_dir = scratch("kill")?;
    let mut first = SedutaProcess::spawn(&data_dir).await?;
    let password = demo_password(&data_dir)?;
    let staff = login(&first.api, &password).await?;
    let sessions = first.api.get("/api/sessions", Some(&staff)).await?;
    let session = sessions.json()[0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no session: {sessions}"))?;
    let ws_url = format!("ws://{}/ws/{session}", first.http);
    let media_dir = data_dir.join("media");
    let peers = two_remote_two_present(&first.api, &session, &staff, &ws_url, &media_dir).await?;
    act_ok(
        &first.api,
        &session,
        &staff,
        json!({"kind": "open_session"}),
    )
    .await?;
    let opened = Instant::now();
    let folder = data_dir.join("recordings").join(&session);
    wait_until(Duration::from_secs(20), "the tracks' files", || {
        folder.join("assessore-2-camera.webm").exists()
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    first.kill9()?;
    let killed = (Instant::now() - opened).as_secs_f64();
    for peer in peers {
        peer.close().await;
    }

    let mut problems = Vec::new();
    let files = files_in(&folder)?;
    for f in files
        .iter()
        .filter(|f| f.ends_with(".webm") || f.ends_with(".flac"))
    {
        let path = folder.join(f);
        if let Err(e) = decodes_cleanly(&path) {
            problems.push(format!("after the crash: {e:#}"));
            continue;
        }
        // Everything up to the last flush (every second; the mix runs 0.3 s behind).
        let recorded = if f.ends_with(".flac") {
            pcm(&path).map(|s| s.len() as f64 / 48_000.0)
        } else {
            media_seconds(&path)
        };
        match recorded {
            Ok(d) if d >= killed - 2.0 => {
                eprintln!("{f}: {d:.2} s of {killed:.2} s before the crash")
            }
            Ok(d) => problems.push(format!(
                "{f} holds {d:.2} s of the {killed:.2} s before the crash"
            )),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    for want in [
        "assessore-1-microphone.webm",
        "assessore-1-camera.webm",
        "mix.flac",
        "mix.webm",
    ] {
        if !files.iter().any(|f| f == want) {
            problems.push(format!("{want} missing after the crash: {files:?}"));
        }
    }

    // The restart: the log shows it, and recording resumed into new files.
    let second = SedutaProcess::spawn(&data_dir).await?;
    let staff = login(&second.api, &password).await?;
    let log = attendance(&second.api, &session, &staff).await?;
    let tail: Vec<&str> = log
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .skip_while(|k| *k != "service_restarted")
        .collect();
    let resumed = of_kind(&log, "recording_resumed");
    if tail.first() != Some(&"service_restarted")
        || !tail.contains(&"recording_resumed")
        || resumed.last().map(|e| e["data"]["reason"].clone()) != Some(json!("service_restarted"))
        || resumed.last().map(|e| e["data"]["run"].clone()) != Some(json!(2))
    {
        problems.push(format!(
            "after the restart the log reads {tail:?}, resumed: {resumed:?}"
        ));
    }
    let state = state(&second.api, &session, &staff).await?;
    if state["recording"]["state"] != "recording" {
        problems.push(format!("after the restart: {}", state["recording"]));
    }
    // The new run's mix starts with its first encoded frame (0.3 s behind real time).
    let run2 = folder.clone();
    let started = wait_until(Duration::from_secs(10), "the new run's mix", || {
        ["mix-2.webm", "mix-2.flac", "mix-2.json"]
            .iter()
            .all(|f| run2.join(f).exists())
    })
    .await;
    if let Err(e) = started {
        problems.push(format!("{e:#}"));
    }
    for f in ["mix-2.webm", "mix-2.flac", "mix-2.json"] {
        if !folder.join(f).exists() {
            problems.push(format!(
                "{f} was not started after the restart: {:?}",
                files_in(&folder)?
            ));
        }
    }
    // What was written before the crash is untouched.
    for f in &files {
        let again = std::fs::metadata(folder.join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        if again == 0 {
            problems.push(format!("{f} is gone or empty after the restart"));
        }
    }
    drop(second);
    let _ = std::fs::remove_dir_all(&data_dir);
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
    Ok(())
}
