//! The recordings' disk filling up during a session (issue 6, fault tests): a real
//! `seduta serve` whose `<data_dir>/recordings` is a 64 MiB tmpfs of its own (its own
//! mount namespace, `unshare -m`), two webrtc-rs members publishing Opus and VP8, and a
//! filler file the test writes into that tmpfs mid-session.
//!
//! - Below the configured free room (`--recording-min-free-mb 16`) the recording stops
//!   cleanly: `recording_stopped` with reason `disk_full` in the log, `recording` off on
//!   every participant, a `recording_alarm` (`disk_full`) on the segretario's console,
//!   `seduta_recording_alarms_total{code="disk_full"}` and the disk's free bytes in
//!   `/metrics`; every file written so far decodes with `ffmpeg -v error` silent.
//! - Nothing else breaks: the members still receive each other's media, a meeting
//!   action still works, the attendance log verifies.
//! - Starting again while the disk is still full is refused with `disk_full` and
//!   changes nothing; once the filler is gone it starts a new run (`mix-2`).
//! - The disk then filled to the last byte: the second run stops too, and its files,
//!   cut back to their last whole element, still decode.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test recording_disk_full'`. Needs root or a user
//! namespace (for the tmpfs), as `scripts/test` gives.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use seduta_signaling::attendance::{read_jsonl, verify};
use seduta_tests::api::{Api, Reply};
use seduta_tests::media::decodes_cleanly;
use seduta_tests::peer::WebrtcPeer;
use seduta_tests::process::{Launch, SedutaProcess, demo_password, two_remote_two_present};
use seduta_tests::ws::WsClient;
use serde_json::{Value, json};

const METRICS_TOKEN: &str = "disk-full-metrics-token";
const MIN_FREE_MB: u64 = 16;

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

async fn recording_state(api: &Api, session: &str, staff: &str) -> anyhow::Result<String> {
    let reply = api
        .get(&format!("/api/sessions/{session}/state"), Some(staff))
        .await?;
    ensure!(reply.status == 200, "state: {reply}");
    Ok(reply.json()["recording"]["state"]
        .as_str()
        .unwrap_or("?")
        .to_owned())
}

fn of_kind<'a>(log: &'a [Value], kind: &str) -> Vec<&'a Value> {
    log.iter().filter(|e| e["kind"] == kind).collect()
}

fn media_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "webm" || e == "mkv" || e == "flac")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Writes zeros into `path` until `left` bytes are free on its disk (or, with
/// `left == 0`, until the disk refuses more).
fn fill(path: &Path, free: impl Fn() -> anyhow::Result<u64>, left: u64) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        let now = free()?;
        if left > 0 && now <= left {
            break;
        }
        let n = usize::try_from(now.saturating_sub(left))
            .unwrap_or(chunk.len())
            .clamp(1, chunk.len());
        match file.write_all(&chunk[..n]) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => return Err(e).context("filling the disk"),
        }
    }
    file.sync_all()?;
    Ok(())
}

/// The first message since `seen[from]` for which `want` holds: one already read, or
/// the next ones of the segretario's console (kept in `seen`).
async fn console_until(
    c: &mut WsClient,
    seen: &mut Vec<Value>,
    from: usize,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    if let Some(m) = seen.iter().skip(from).find(|m| want(m)) {
        return Ok(m.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let m = c.next().await?;
        seen.push(m.clone());
        if want(&m) {
            return Ok(m);
        }
    }
    bail!("no {what} on the console")
}

async fn metrics(api: &Api) -> anyhow::Result<String> {
    let reply = api.get("/metrics", Some(METRICS_TOKEN)).await?;
    ensure!(reply.status == 200, "metrics: {}", reply.status);
    Ok(reply.body)
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

fn packets_from(peer: &WebrtcPeer, who: &str) -> u64 {
    peer.received()
        .get(who)
        .map_or(0, |r| r.audio_packets + r.video_packets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_recording_cleanly_and_nothing_else() -> anyhow::Result<()> {
    let data_dir = std::env::temp_dir().join(format!("seduta-diskfull-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let recordings = data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)?;
    let launch = Launch {
        args: vec![
            "--recording-min-free-mb".into(),
            MIN_FREE_MB.to_string(),
            "--metrics-token".into(),
            METRICS_TOKEN.into(),
            "--no-preservation".into(),
        ],
        prepare: Some(format!(
            "mount -t tmpfs -o size=64m seduta-recordings '{}'",
            recordings.display()
        )),
        ..Launch::default()
    };
    let s = SedutaProcess::launch(&data_dir, &launch).await?;
    // The tmpfs exists only in the server's mount namespace: reach it through /proc.
    let disk = s.view(&recordings);
    let free = || seduta_recordings::free_bytes(&disk).context("statvfs of the tmpfs");
    ensure!(
        free()? < 65 << 20,
        "the recordings are not on the small tmpfs ({} bytes free)",
        free()?
    );
    let password = demo_password(&data_dir)?;
    let staff = seduta_tests::demo::login(&s.api, "segretario", &password).await?;
    let sessions = s.api.get("/api/sessions", Some(&staff)).await?;
    let session = sessions.json()[0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no session: {sessions}"))?;
    let folder = disk.join(&session);

    // Two remote members on camera, two in the chamber; the segretario's console.
    let media_dir = data_dir.join("media");
    let peers =
        two_remote_two_present(&s.api, &session, &staff, &s.ws_url(&session), &media_dir).await?;
    let reply = s
        .api
        .post(
            &format!("/api/sessions/{session}/console"),
            Some(&staff),
            &json!({}),
        )
        .await?;
    ensure!(reply.status == 201, "console link: {reply}");
    let console_token = reply.json()["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let mut console = WsClient::connect(&s.ws_url(&session)).await?;
    let mut seen = Vec::new();
    console
        .json(json!({"type": "join", "token": console_token}))
        .await?;
    console_until(&mut console, &mut seen, 0, "joined", |m| {
        m["type"] == "joined"
    })
    .await?;

    act_ok(&s.api, &session, &staff, json!({"kind": "open_session"})).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !folder.join("assessore-2-camera.webm").exists() {
        ensure!(Instant::now() < deadline, "no camera file was started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut problems = Vec::new();

    // ---- The disk fills below the free room a recording needs ----------------------
    let filler = disk.join("filler.bin");
    fill(&filler, free, (MIN_FREE_MB - 8) << 20)?;
    eprintln!("filled: {} bytes free", free()?);
    let mark = seen.len();
    let alarm = console_until(&mut console, &mut seen, mark, "recording_alarm", |m| {
        m["type"] == "recording_alarm"
    })
    .await?;
    if alarm["code"] != "disk_full" || alarm["stopped"] != true {
        problems.push(format!("the alarm: {alarm}"));
    }
    console_until(&mut console, &mut seen, mark, "recording off", |m| {
        m["type"] == "recording" && m["state"] == "off"
    })
    .await?;
    let stopped_at = Instant::now();
    if recording_state(&s.api, &session, &staff).await? != "off" {
        problems.push("the session still shows as recorded".into());
    }
    let log = attendance(&s.api, &session, &staff).await?;
    match of_kind(&log, "recording_stopped").as_slice() {
        [stopped] if stopped["data"]["reason"] == "disk_full" => {}
        other => problems.push(format!("recording_stopped: {other:?}")),
    }
    for peer in &peers {
        let offs = peer
            .recording_messages()
            .iter()
            .filter(|m| m["state"] == "off")
            .count();
        if offs == 0 {
            problems.push("a member was not told the recording stopped".into());
        }
    }
    let text = metrics(&s.api).await?;
    match metric(&text, "seduta_recording_alarms_total{code=\"disk_full\"}") {
        Some(n) if n >= 1.0 => {}
        other => problems.push(format!("disk_full alarms in /metrics: {other:?}")),
    }
    match metric(&text, "seduta_recording_disk_free_bytes") {
        Some(b) if b < (MIN_FREE_MB << 20) as f64 => {}
        other => problems.push(format!("free bytes in /metrics: {other:?}")),
    }
    let first_run = media_files(&folder)?;
    if first_run.len() < 6 {
        problems.push(format!("first run's files: {first_run:?}"));
    }
    for f in &first_run {
        if let Err(e) = decodes_cleanly(f) {
            problems.push(format!("after the stop: {e:#}"));
        }
    }

    // ---- Nothing else breaks ---------------------------------------------------------
    let before: Vec<u64> = [("assessore-2", 0), ("assessore-1", 1)]
        .iter()
        .map(|(who, i)| packets_from(&peers[*i], who))
        .collect();
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(stopped_at.elapsed())).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after: Vec<u64> = [("assessore-2", 0), ("assessore-1", 1)]
        .iter()
        .map(|(who, i)| packets_from(&peers[*i], who))
        .collect();
    if after.iter().zip(&before).any(|(a, b)| a <= b) {
        problems.push(format!(
            "media stopped flowing with the recording: {before:?} -> {after:?}"
        ));
    }
    act_ok(
        &s.api,
        &session,
        &staff,
        json!({"kind": "open_item", "item": 1}),
    )
    .await?;

    // ---- Starting again on the full disk is refused; after the cleanup it runs -------
    let log_before = attendance(&s.api, &session, &staff).await?;
    let refused = act(
        &s.api,
        &session,
        &staff,
        json!({"kind": "resume_recording"}),
    )
    .await?;
    if refused.code().as_deref() != Some("disk_full") {
        problems.push(format!("starting on a full disk: {refused}"));
    }
    let log_after = attendance(&s.api, &session, &staff).await?;
    let added: Vec<&str> = log_after[log_before.len()..]
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    if added.iter().any(|k| *k != "recording_failed") {
        problems.push(format!("a refused start logged {added:?}"));
    }
    if recording_state(&s.api, &session, &staff).await? != "off" {
        problems.push("a refused start changed the recording state".into());
    }
    std::fs::remove_file(&filler)?;
    act_ok(
        &s.api,
        &session,
        &staff,
        json!({"kind": "resume_recording"}),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !folder.join("mix-2.flac").exists() {
        ensure!(Instant::now() < deadline, "the second run did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    // ---- The disk filled to the last byte --------------------------------------------
    fill(&filler, free, 0)?;
    eprintln!("filled to the end: {} bytes free", free()?);
    let mark = seen.len();
    console_until(
        &mut console,
        &mut seen,
        mark,
        "a second recording_alarm",
        |m| m["type"] == "recording_alarm",
    )
    .await?;
    console_until(&mut console, &mut seen, mark, "recording off again", |m| {
        m["type"] == "recording" && m["state"] == "off"
    })
    .await?;
    // The files must decode however full the disk: cut back to whole elements.
    for f in media_files(&folder)? {
        if first_run.contains(&f) {
            continue;
        }
        // A FLAC whose header could not be finished is not claimed clean; every
        // Matroska/WebM track and mix must be.
        if f.extension().is_some_and(|e| e == "flac") {
            continue;
        }
        if let Err(e) = decodes_cleanly(&f) {
            problems.push(format!("after the disk filled up: {e:#}"));
        }
    }
    std::fs::remove_file(&filler)?;
    let log = attendance(&s.api, &session, &staff).await?;
    let stops = of_kind(&log, "recording_stopped");
    if stops.len() != 2 || stops.iter().any(|e| e["data"]["reason"] != "disk_full") {
        problems.push(format!("recording_stopped entries: {stops:?}"));
    }
    let jsonl: String = log.iter().map(|e| format!("{e}\n")).collect();
    if let Err(e) = read_jsonl(&jsonl)
        .map_err(|b| anyhow::anyhow!("{b}"))
        .and_then(|entries| verify(&entries).map_err(|b| anyhow::anyhow!("{b}")))
    {
        problems.push(format!("the log does not verify: {e:#}"));
    }
    act_ok(&s.api, &session, &staff, json!({"kind": "close_session"})).await?;

    for peer in peers {
        peer.close().await;
    }
    drop(s);
    let _ = std::fs::remove_dir_all(&data_dir);
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
    Ok(())
}
