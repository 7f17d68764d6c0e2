//! The preservation copy end to end: a session recorded through the `Recorder` (three
//! participants arriving at different times), its chapters, the job, and the copy
//! judged by ffprobe and ffmpeg; the register's digests recomputed with sha256sum; a
//! job killed midway and finished by `resume_pending`; missing and damaged sources in
//! the register; bad requests refused.

mod common;
mod preserve_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, UNIX_EPOCH};

use preserve_common::{ffprobe_json, mix_start_ns, region_luma, session_copy, sha256_hex};
use seduta_recordings::chapters::{Marker, MarkerKind, write_chapters};
use seduta_recordings::preserve::{
    self, JobState, MigrationResult, PreservationRequest, PreservationSettings, Stage,
};

fn names() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("p1".to_owned(), "Sindaca Anna Bianchi".to_owned()),
        ("p2".to_owned(), "Assessore Bruno D'Amico".to_owned()),
        ("p3".to_owned(), "Segretaria Carla Neri: 100%".to_owned()),
    ])
}

fn write_test_chapters(dir: &Path) {
    let start = UNIX_EPOCH + Duration::from_nanos(u64::try_from(mix_start_ns(dir)).expect("u64"));
    let at = |ms: i64| {
        if ms >= 0 {
            start + Duration::from_millis(ms.unsigned_abs())
        } else {
            start - Duration::from_millis(ms.unsigned_abs())
        }
    };
    let markers = vec![
        Marker::new(
            at(-2000),
            MarkerKind::AgendaItemStarted,
            "item-1",
            "Punto 1: Bilancio",
        ),
        Marker::new(
            at(1000),
            MarkerKind::VoteOpened,
            "vote-1",
            "Votazione sul punto 1",
        ),
        Marker::new(at(2000), MarkerKind::VoteClosed, "vote-1", "Approvato"),
        Marker::new(
            at(3000),
            MarkerKind::AgendaItemEnded,
            "item-1",
            "Fine del punto 1",
        ),
        Marker::new(
            at(3500),
            MarkerKind::Suspended,
            "suspension-1",
            "Sospensione",
        ),
    ];
    write_chapters(dir, &markers).expect("chapters");
}

fn mix_seconds(dir: &Path) -> f64 {
    common::decode_pcm(&dir.join("mix.flac")).len() as f64 / 48_000.0
}

#[test]
fn the_copy_is_h264_high_with_the_mix_the_chapters_and_a_verified_register_entry() {
    let (_root, dir) = session_copy("conformant");
    write_test_chapters(&dir);
    let job = preserve::enqueue(&dir, PreservationRequest::new(names())).expect("enqueue");
    assert_eq!(job.state, JobState::Queued);

    let mut reports = Vec::new();
    let outcome = preserve::run(&dir, &mut |p| reports.push(p)).expect("the job");
    let mp4 = dir.join("preservation.mp4");
    assert_eq!(outcome.target, mp4);
    assert_eq!(outcome.result, MigrationResult::Ok, "{:?}", outcome.errors);

    // Progress: from ffmpeg's reports, through every stage, never backwards, to the end.
    assert!(
        reports
            .iter()
            .any(|p| p.stage == Stage::Composing && p.fraction > 0.05)
    );
    assert!(reports.iter().any(|p| p.stage == Stage::Verifying));
    assert!(reports.windows(2).all(|w| w[1].fraction >= w[0].fraction));
    let status = preserve::status(&dir).expect("status").expect("a job");
    assert_eq!(status.state, JobState::Done);
    assert!((status.progress - 1.0).abs() < 1e-9);

    // What ffprobe says.
    let probe = ffprobe_json(&mp4);
    let streams = probe["streams"].as_array().expect("streams");
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("video");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["profile"], "High");
    assert!(video["width"].as_u64() >= Some(1280) && video["height"].as_u64() >= Some(720));
    assert_eq!(video["r_frame_rate"], "25/1");
    assert_eq!(video["avg_frame_rate"], "25/1");
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("audio");
    assert_eq!(audio["codec_name"], "flac");
    assert!(
        probe["format"]["format_name"]
            .as_str()
            .unwrap_or("")
            .contains("mp4")
    );

    // Decodes end to end without a word; as long as the mix; the audio is the mix's.
    assert_eq!(common::decode_errors(&mp4), "");
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("duration");
    let mix = mix_seconds(&dir);
    assert!(
        (duration - mix).abs() < 0.1,
        "copy {duration} s, mix {mix} s"
    );
    let pcm = common::decode_pcm(&mp4);
    let flac = common::decode_pcm(&dir.join("mix.flac"));
    assert_eq!(pcm, flac, "the copy's audio is the mix, sample for sample");
    // Every speaker is in it (the mix itself is tested elsewhere; these windows are wide
    // because the session was recorded in real time on a shared machine).
    for (freq, from) in [(440.0, 0.2), (660.0, 1.8), (880.0, 2.8)] {
        let at = (from * 48_000.0) as usize;
        let power = common::goertzel(&pcm[at..at + 48_000], freq, 48_000.0);
        assert!(power > 0.001, "{freq} Hz from {from} s: {power}");
    }

    // The chapters are in the MP4 (a player can navigate by them).
    let chapters = probe["chapters"].as_array().expect("chapters");
    let titles: Vec<&str> = chapters
        .iter()
        .map(|c| c["tags"]["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        titles,
        ["Punto 1: Bilancio", "Votazione sul punto 1", "Sospensione"]
    );
    let starts: Vec<f64> = chapters
        .iter()
        .map(|c| {
            c["start_time"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1.0)
        })
        .collect();
    assert!((starts[0] - 0.0).abs() < 0.01 && (starts[1] - 1.0).abs() < 0.01);
    assert!((starts[2] - 3.5).abs() < 0.01);

    // The grid (2x2 of 640x360: p1, p2, p3): p1's tile is black during the pause of
    // its camera (not frozen on the last picture); p2's tile is black before p2 arrives and
    // shows the picture while the camera is on; p3 (audio only) stays black but for
    // its name label at the bottom.
    let p1_picture = |at| region_luma(&mp4, at, 64, 36, 512, 200);
    assert!(p1_picture(0.5) > 60, "p1's camera at the start");
    assert!(
        p1_picture(2.0) < 20,
        "p1's tile is black while the camera is paused"
    );
    assert!(p1_picture(4.0) > 60, "p1's camera after the pause");
    let p2_picture = |at| region_luma(&mp4, at, 640 + 64, 36, 512, 200);
    assert!(p2_picture(0.5) < 20, "p2's tile is black before p2 arrives");
    assert!(p2_picture(2.5) > 60, "p2's tile shows the camera");
    assert!(
        p2_picture(4.5) < 20,
        "p2's tile is black after the camera ends"
    );
    assert!(region_luma(&mp4, 3.0, 0, 360, 640, 260) < 10);
    assert!(
        region_luma(&mp4, 3.0, 0, 660, 640, 60) > 8,
        "a label on p3's tile"
    );

    // The register: one entry, whose digests are the files' (recomputed here).
    let register: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("register.json")).expect("register"))
            .expect("JSON");
    let entries = register.as_array().expect("a list");
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["result"], "ok");
    assert_eq!(entry["tool"]["name"], "ffmpeg");
    assert!(!entry["tool"]["version"].as_str().unwrap_or("").is_empty());
    assert!(
        entry["tool"]["encoder"]
            .as_str()
            .unwrap_or("")
            .starts_with("x264 - core "),
        "{}",
        entry["tool"]
    );
    assert!(entry["time"].as_str().unwrap_or("").ends_with('Z'));
    assert_eq!(entry["target"]["name"], "preservation.mp4");
    assert_eq!(entry["target"]["sha256"], sha256_hex(&mp4).as_str());
    assert_eq!(outcome.sha256, sha256_hex(&mp4));
    assert_eq!(entry["target"]["codecs"][1], "flac");
    let sources = entry["sources"].as_array().expect("sources");
    let source_names: Vec<&str> = sources.iter().filter_map(|s| s["name"].as_str()).collect();
    for name in [
        "mix.flac",
        "p1-video.webm",
        "p2-video.webm",
        "chapters.json",
    ] {
        assert!(source_names.contains(&name), "{name} in {source_names:?}");
    }
    for source in sources {
        let name = source["name"].as_str().expect("name");
        assert_eq!(
            source["sha256"],
            sha256_hex(&dir.join(name)).as_str(),
            "{name}"
        );
        assert!(source["error"].is_null(), "{source}");
        assert_eq!(source["used"], true);
    }
    let vp8 = sources
        .iter()
        .find(|s| s["name"] == "p1-video.webm")
        .expect("p1's camera");
    assert_eq!(vp8["codecs"][0], "vp8");
    assert_eq!(vp8["format"], "matroska,webm");

    // Nothing left behind but the copy, the register and the job's state.
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .expect("folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("partial") || n.contains(".preservation.work"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Done is done: a second run and a second queueing are refused.
    let again = preserve::run(&dir, &mut |_| {}).expect_err("done");
    assert_eq!(again.code(), "preserve.already_done");
    let again = preserve::enqueue(&dir, PreservationRequest::new(names())).expect_err("done");
    assert_eq!(again.code(), "preserve.already_done");
}

/// Set in the child process: the session folder whose job it runs until killed.
const CHILD_ENV: &str = "SEDUTA_PRESERVE_CHILD";

/// The child's side of the restart test: runs the queued job. Does nothing in an
/// ordinary test run.
#[test]
fn preserve_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let _ = preserve::run(Path::new(&dir), &mut |_| {});
}

fn ffmpeg_processes_writing_in(dir: &Path) -> usize {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
                        return false;
                    };
                    let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    cwd.to_string_lossy() == needle
                        && String::from_utf8_lossy(&cmdline).starts_with("ffmpeg")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_job_killed_midway_is_registered_as_interrupted_and_resume_pending_finishes_it() {
    let (root, dir) = session_copy("restart");
    // One encoder thread and the slowest sensible preset keep the job running long
    // enough to be killed in the middle of composing.
    let mut request = PreservationRequest::new(names());
    request.settings = PreservationSettings {
        threads: 1,
        preset: "slow".into(),
        ..PreservationSettings::default()
    };
    preserve::enqueue(&dir, request).expect("enqueue");

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "preserve_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the child");
    let waited = Instant::now();
    loop {
        let status = preserve::status(&dir).expect("status").expect("job");
        if status.stage == Some(Stage::Composing) && status.progress > 0.06 {
            break;
        }
        assert!(
            status.state != JobState::Done,
            "the job ended before it was killed"
        );
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the job never reached composing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    let status = preserve::status(&dir).expect("status").expect("job");
    assert_eq!(
        status.state,
        JobState::Running,
        "left as it was when killed"
    );
    assert!(!dir.join("preservation.mp4").exists());
    // ffmpeg died with the job (PR_SET_PDEATHSIG), within a bounded wait.
    let waited = Instant::now();
    while ffmpeg_processes_writing_in(&dir) > 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "ffmpeg outlived the job"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        preserve::pending_jobs(&root).expect("pending"),
        vec![dir.clone()]
    );

    let results = preserve::resume_pending(&root, &mut |_, _| {}).expect("resume");
    assert_eq!(results.len(), 1);
    let outcome = results[0].1.as_ref().expect("finished after the restart");
    assert_eq!(outcome.result, MigrationResult::Ok);
    let status = preserve::status(&dir).expect("status").expect("job");
    assert_eq!(status.state, JobState::Done);
    assert_eq!(status.attempts, 2);

    let register = preserve::read_register(&dir).expect("register");
    let results: Vec<MigrationResult> = register.iter().map(|e| e.result).collect();
    assert_eq!(results, [MigrationResult::Interrupted, MigrationResult::Ok]);
    assert_eq!((register[0].attempt, register[1].attempt), (1, 2));
    let mp4 = dir.join("preservation.mp4");
    assert_eq!(
        register[1].target.as_ref().map(|t| t.sha256.clone()),
        Some(sha256_hex(&mp4))
    );
    assert_eq!(common::decode_errors(&mp4), "");
    let partials = std::fs::read_dir(&dir)
        .expect("folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("partial"))
        .count();
    assert_eq!(partials, 0, "the interrupted attempt's output was removed");
    assert!(preserve::pending_jobs(&root).expect("pending").is_empty());
}

#[test]
fn missing_and_undecodable_sources_are_registered_as_errors() {
    let (_root, dir) = session_copy("damaged");
    // p2's camera is gone; p4's camera is not a video; a master has no sidecar.
    std::fs::remove_file(dir.join("p2-video.webm")).expect("remove");
    let mut p4: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p1-video.json")).expect("sidecar"))
            .expect("JSON");
    p4["track"] = "p4-video".into();
    p4["file"] = "p4-video.webm".into();
    p4["participant"] = "p4".into();
    std::fs::write(dir.join("p4-video.json"), p4.to_string()).expect("sidecar");
    std::fs::write(dir.join("p4-video.webm"), b"not a video at all").expect("garbage");
    std::fs::copy(dir.join("p1-video.webm"), dir.join("stray.webm")).expect("stray");

    preserve::enqueue(&dir, PreservationRequest::new(names())).expect("enqueue");
    let outcome = preserve::run(&dir, &mut |_| {}).expect("a copy from what is left");
    assert_eq!(outcome.result, MigrationResult::OkWithErrors);
    let mp4 = dir.join("preservation.mp4");
    assert_eq!(common::decode_errors(&mp4), "");

    let register = preserve::read_register(&dir).expect("register");
    let entry = register.last().expect("an entry");
    assert_eq!(entry.result, MigrationResult::OkWithErrors);
    let source = |name: &str| {
        entry
            .sources
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in the register"))
    };
    let missing = source("p2-video.webm");
    assert!(
        !missing.used
            && missing
                .error
                .as_deref()
                .unwrap_or("")
                .starts_with("missing")
    );
    let garbage = source("p4-video.webm");
    assert!(
        !garbage.used
            && garbage
                .error
                .as_deref()
                .unwrap_or("")
                .starts_with("undecodable")
    );
    assert_eq!(
        garbage.sha256.as_deref(),
        Some(sha256_hex(&dir.join("p4-video.webm")).as_str())
    );
    let stray = source("stray.webm");
    assert!(!stray.used && stray.error.as_deref().unwrap_or("").contains("no sidecar"));
    assert_eq!(entry.errors.len(), 3, "{:?}", entry.errors);
    assert!(source("p1-video.webm").used);
}

#[test]
fn without_a_mix_the_job_fails_and_says_so_in_the_register() {
    let (_root, dir) = session_copy("no-mix");
    std::fs::remove_file(dir.join("mix.flac")).expect("remove");
    preserve::enqueue(&dir, PreservationRequest::new(names())).expect("enqueue");
    let error = preserve::run(&dir, &mut |_| {}).expect_err("no audio");
    assert_eq!(error.code(), "preserve.no_mix");
    assert!(!dir.join("preservation.mp4").exists());
    let status = preserve::status(&dir).expect("status").expect("job");
    assert_eq!(status.state, JobState::Failed);
    assert_eq!(
        status.error.map(|e| e.code),
        Some("preserve.no_mix".to_owned())
    );
    let register = preserve::read_register(&dir).expect("register");
    assert_eq!(register.len(), 1);
    assert_eq!(register[0].result, MigrationResult::Failed);
    assert!(register[0].target.is_none());
    let mix = register[0]
        .sources
        .iter()
        .find(|s| s.name == "mix.flac")
        .expect("the mix is named");
    assert!(mix.error.as_deref().unwrap_or("").starts_with("missing"));
    // A failed job is not retried by itself; queued again, it runs again.
    assert_eq!(
        preserve::run(&dir, &mut |_| {}).expect_err("failed").code(),
        "preserve.previously_failed"
    );
    assert!(
        preserve::pending_jobs(dir.parent().expect("root"))
            .expect("pending")
            .is_empty()
    );
    preserve::enqueue(&dir, PreservationRequest::new(names())).expect("queued again");
}

#[test]
fn a_request_below_720p_or_not_25_fps_is_refused_and_nothing_is_written() {
    let dir = common::scratch("preserve-bad-request");
    for settings in [
        PreservationSettings {
            width: 640,
            height: 360,
            ..PreservationSettings::default()
        },
        PreservationSettings {
            fps: 30,
            ..PreservationSettings::default()
        },
        PreservationSettings {
            preset: "ultrafast".into(),
            ..PreservationSettings::default()
        },
    ] {
        let request = PreservationRequest {
            names: names(),
            settings,
        };
        let error = preserve::enqueue(&dir, request).expect_err("refused");
        assert_eq!(error.code(), "preserve.invalid_request");
    }
    assert!(preserve::status(&dir).expect("status").is_none());
    let error = preserve::run(&dir, &mut |_| {}).expect_err("no job");
    assert_eq!(error.code(), "preserve.no_job");
    assert!(
        !dir.join("preservation.job.lock").exists(),
        "nothing written"
    );
}

#[test]
fn a_recording_in_two_runs_puts_both_mixes_on_one_timeline() {
    let (_root, dir) = session_copy("two-mixes");
    // The service restarted: a second mix (2 s of 1 kHz) started 6 s after the first.
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000",
        ])
        .args(["-t", "2", "-ac", "1", "-c:a", "flac"])
        .arg(dir.join("mix-2.flac"))
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let mut sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("mix.json")).expect("mix.json"))
            .expect("JSON");
    let start = mix_start_ns(&dir) + 6_000_000_000;
    sidecar["track"] = "mix-2".into();
    sidecar["file"] = "mix-2.webm".into();
    sidecar["preservation_file"] = "mix-2.flac".into();
    sidecar["wall_clock_start_unix_ns"] = serde_json::json!(start);
    sidecar["end"]["media_seconds"] = 2.0.into();
    std::fs::write(dir.join("mix-2.json"), sidecar.to_string()).expect("sidecar");

    preserve::enqueue(&dir, PreservationRequest::new(names())).expect("enqueue");
    let outcome = preserve::run(&dir, &mut |_| {}).expect("the job");
    assert_eq!(outcome.result, MigrationResult::Ok, "{:?}", outcome.errors);
    let mp4 = dir.join("preservation.mp4");
    assert_eq!(common::decode_errors(&mp4), "");
    let probe = ffprobe_json(&mp4);
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("duration");
    assert!(
        (duration - 8.0).abs() < 0.1,
        "two mixes end at 8 s: {duration}"
    );
    let pcm = common::decode_pcm(&mp4);
    // Silence between the runs, the second run's tone where it belongs.
    let window = |from: f64| &pcm[(from * 48_000.0) as usize..((from + 0.5) * 48_000.0) as usize];
    assert!(window(5.3).iter().all(|s| s.unsigned_abs() < 64));
    // ffmpeg's sine is at 1/8 of full scale: about 0.004 here.
    assert!(common::goertzel(window(6.5), 1000.0, 48_000.0) > 0.002);
    let register = preserve::read_register(&dir).expect("register");
    let used: Vec<&str> = register[0]
        .sources
        .iter()
        .filter(|s| s.role == "audio_mix" && s.used)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(used, ["mix-2.flac", "mix.flac"]);
}

#[test]
fn a_session_heard_but_never_seen_still_gets_a_conformant_copy_with_name_tiles() {
    let (_root, dir) = session_copy("audio-only");
    for name in ["p1-video", "p2-video"] {
        std::fs::remove_file(dir.join(format!("{name}.webm"))).expect("remove");
        std::fs::remove_file(dir.join(format!("{name}.json"))).expect("remove");
    }
    preserve::enqueue(&dir, PreservationRequest::new(names())).expect("enqueue");
    let outcome = preserve::run(&dir, &mut |_| {}).expect("the job");
    assert_eq!(outcome.result, MigrationResult::Ok, "{:?}", outcome.errors);
    let mp4 = dir.join("preservation.mp4");
    assert_eq!(common::decode_errors(&mp4), "");
    let probe = ffprobe_json(&mp4);
    let video = &probe["streams"][0];
    assert_eq!(
        (video["codec_name"].as_str(), video["profile"].as_str()),
        (Some("h264"), Some("High"))
    );
    // Three black tiles (p1, p2, p3 from their microphones), each with its name.
    assert!(region_luma(&mp4, 1.0, 0, 0, 640, 260) < 5);
    assert!(region_luma(&mp4, 1.0, 0, 300, 640, 60) > 8, "p1's label");
}
