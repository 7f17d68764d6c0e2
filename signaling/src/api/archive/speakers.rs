//! "When did assessore X speak": `GET /api/archive/sessions/{id}/speakers`.
//!
//! Nothing in the record says who spoke when: the attendance log has no floor
//! control, and the SFU's active-speaker detection is shown live but not kept. What
//! the recording does keep is each participant's own microphone track (a working
//! master, `<participant>-microphone.webm`, with its sidecar's wall-clock start). So
//! the spans here are **microphone activity**, derived from levels: ffmpeg's
//! `silencedetect` (below -40 dBFS for at least 0.7 s is silence; timestamp gaps of
//! a pause or DTX are filled with silence first) on each microphone track, the rest
//! being activity, placed on the recording's clock (the earliest mix's wall-clock
//! start is 0, as for the chapters), gaps under 1 s merged, spans under 0.8 s dropped.
//! A remote member's microphone (with the browser's echo cancellation) mostly holds
//! their own voice; the chamber's microphone holds everyone in the room, so its spans
//! are labelled with the chamber, not a person. Derived once, on the first request
//! (about 0.01 CPU-s per track-second), and kept in the folder as `.speakers.json`
//! (hidden: not listed, not part of the package, not deleted by the retention
//! procedure, so the spans outlive the working masters they come from).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::super::ApiError;
use super::super::extract::Staff;
use super::{READERS, closed_session};
use crate::Shared;
use crate::preservation::session_folder;

/// The cache file in the recording folder.
const CACHE: &str = ".speakers.json";
/// Below this level is silence (dBFS).
const THRESHOLD_DB: i32 = -40;
/// Silence shorter than this is not a pause.
const MIN_SILENCE_S: f64 = 0.7;
/// Activity closer than this is one span.
const MERGE_GAP_MS: u64 = 1000;
/// Spans shorter than this are dropped (a cough, a click).
const MIN_SPAN_MS: u64 = 800;

/// One derivation at a time on this server (each runs ffmpeg over every track).
static DERIVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Microphone activity per participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpeakerReport {
    /// Whether spans could be derived (`false`: see `reason`).
    pub available: bool,
    /// `no_recording`, `no_microphone_tracks`, `no_timeline`, `tool_failed`.
    pub reason: Option<String>,
    /// How: `microphone_level` (ffmpeg silencedetect).
    pub method: String,
    /// The silence threshold, dBFS.
    pub threshold_db: i32,
    /// One entry per participant with a microphone track.
    pub speakers: Vec<SpeakerSpans>,
}

/// One participant's activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpeakerSpans {
    /// Participant id.
    pub participant: String,
    /// Name (filled in when served).
    pub name: String,
    /// Role in the session (`room`: the chamber's microphone, anyone in the room).
    pub role: String,
    /// Spans on the recording's clock.
    pub spans: Vec<Span>,
}

/// A span of activity, in ms on the recording's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Span {
    /// Start.
    pub start_ms: u64,
    /// End.
    pub end_ms: u64,
}

impl SpeakerReport {
    fn unavailable(reason: &str) -> Self {
        Self {
            available: false,
            reason: Some(reason.to_owned()),
            method: "microphone_level".to_owned(),
            threshold_db: THRESHOLD_DB,
            speakers: Vec::new(),
        }
    }
}

/// Microphone activity of each participant of a closed session (segretario and
/// clerks); derived on the first request and kept.
#[utoipa::path(get, path = "/api/archive/sessions/{id}/speakers", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = SpeakerReport), (status = 403, body = super::super::error::ErrorBody),
              (status = 404, body = super::super::error::ErrorBody), (status = 409, body = super::super::error::ErrorBody)))]
pub async fn speakers(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<SpeakerReport>, ApiError> {
    closed_session(&shared, &staff, &id, READERS).await?;
    let Some(folder) = shared
        .config
        .recordings_dir
        .as_deref()
        .and_then(|root| session_folder(root, &id))
    else {
        return Ok(Json(SpeakerReport::unavailable("no_recording")));
    };
    let people = shared.store.participants(&id).await?;
    let _one_at_a_time = DERIVING.lock().await;
    let mut report = tokio::task::spawn_blocking(move || cached_or_derived(&folder))
        .await
        .map_err(|_| ApiError::internal("the microphone tracks could not be read"))?;
    for s in &mut report.speakers {
        if let Some(p) = people.iter().find(|p| p.id == s.participant) {
            s.name = p.name.clone();
            s.role = p.role.as_str().to_owned();
        } else {
            s.name = s.participant.clone();
        }
    }
    Ok(Json(report))
}

fn cached_or_derived(folder: &Path) -> SpeakerReport {
    if let Some(cached) = std::fs::read(folder.join(CACHE))
        .ok()
        .and_then(|b| serde_json::from_slice::<SpeakerReport>(&b).ok())
    {
        return cached;
    }
    let report = derive(folder);
    // Kept only when derived (a missing tool may be installed later); written
    // atomically.
    let keep = report.available || report.reason.as_deref() == Some("no_microphone_tracks");
    if keep && let Ok(bytes) = serde_json::to_vec(&report) {
        let tmp = folder.join(".speakers.json.tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, folder.join(CACHE));
        }
    }
    report
}

/// The sidecars of the folder, as JSON.
fn sidecars(folder: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Value)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") || name.starts_with('.') {
                return None;
            }
            let v: Value = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            v.get("wall_clock_start_unix_ns")?;
            Some((name, v))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

fn start_ns(v: &Value) -> Option<u64> {
    v.get("wall_clock_start_unix_ns").and_then(Value::as_u64)
}

/// Derives the spans of every microphone track of `folder`.
pub fn derive(folder: &Path) -> SpeakerReport {
    let cars = sidecars(folder);
    let Some(zero) = cars
        .iter()
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("mix"))
        .filter_map(start_ns)
        .min()
    else {
        return SpeakerReport::unavailable("no_timeline");
    };
    let mut by_person: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    let mut tracks = 0;
    for car in &cars {
        let audio = car.get("kind").and_then(Value::as_str) == Some("audio");
        let participant = car.get("participant").and_then(Value::as_str).unwrap_or("");
        let file = car.get("file").and_then(Value::as_str).unwrap_or("");
        let (Some(start), true) = (start_ns(car), audio && !participant.is_empty()) else {
            continue;
        };
        if !super::media::known_file_name(file) || !folder.join(file).is_file() {
            continue;
        }
        tracks += 1;
        let Some(activity) = track_activity(&folder.join(file)) else {
            return SpeakerReport::unavailable("tool_failed");
        };
        let offset_ms = start.saturating_sub(zero) / 1_000_000;
        by_person
            .entry(participant.to_owned())
            .or_default()
            .extend(activity.into_iter().map(|s| Span {
                start_ms: s.start_ms + offset_ms,
                end_ms: s.end_ms + offset_ms,
            }));
    }
    if tracks == 0 {
        return SpeakerReport::unavailable("no_microphone_tracks");
    }
    SpeakerReport {
        available: true,
        reason: None,
        method: "microphone_level".to_owned(),
        threshold_db: THRESHOLD_DB,
        speakers: by_person
            .into_iter()
            .map(|(participant, mut spans)| {
                spans.sort_by_key(|s| s.start_ms);
                SpeakerSpans {
                    participant,
                    name: String::new(),
                    role: String::new(),
                    spans: tidy(spans),
                }
            })
            .collect(),
    }
}

/// The activity of one audio file, in ms from its start; `None` if ffmpeg failed.
fn track_activity(file: &Path) -> Option<Vec<Span>> {
    let filter = format!(
        "aresample=async=1:first_pts=0,silencedetect=noise={THRESHOLD_DB}dB:d={MIN_SILENCE_S}"
    );
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(file)
        .args(["-vn", "-af", &filter, "-f", "null", "-"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let log = String::from_utf8_lossy(&out.stderr);
    Some(activity_from_log(&log))
}

/// Activity = the complement of the silences ffmpeg reported, up to the last `time=`.
fn activity_from_log(log: &str) -> Vec<Span> {
    let seconds = |s: &str| -> Option<f64> { s.split_whitespace().next()?.parse().ok() };
    let mut silences: Vec<(f64, Option<f64>)> = Vec::new();
    let mut duration = 0.0f64;
    for line in log.split(['\n', '\r']) {
        if let Some(rest) = line.split("silence_start:").nth(1) {
            if let Some(t) = seconds(rest) {
                silences.push((t.max(0.0), None));
            }
        } else if let Some(rest) = line.split("silence_end:").nth(1) {
            let t = rest.split('|').next().and_then(seconds);
            if let (Some(t), Some(last)) = (t, silences.last_mut()) {
                last.1 = Some(t);
            }
        }
        if let Some(rest) = line.split("time=").nth(1)
            && let Some(t) = clock_seconds(rest.split_whitespace().next().unwrap_or(""))
        {
            duration = duration.max(t);
        }
    }
    let ms = |s: f64| (s * 1000.0).round().max(0.0) as u64;
    let mut spans = Vec::new();
    let mut cursor = 0.0;
    for (start, end) in silences {
        if start > cursor {
            spans.push(Span {
                start_ms: ms(cursor),
                end_ms: ms(start),
            });
        }
        cursor = end.unwrap_or(f64::INFINITY);
    }
    if cursor < duration {
        spans.push(Span {
            start_ms: ms(cursor),
            end_ms: ms(duration),
        });
    }
    spans
}

/// `HH:MM:SS.xx` in seconds.
fn clock_seconds(s: &str) -> Option<f64> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    Some(
        h.parse::<f64>().ok()? * 3600.0
            + m.parse::<f64>().ok()? * 60.0
            + sec.parse::<f64>().ok()?,
    )
}

/// Sorted spans with small gaps merged and short spans dropped.
fn tidy(spans: Vec<Span>) -> Vec<Span> {
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start_ms <= last.end_ms + MERGE_GAP_MS => {
                last.end_ms = last.end_ms.max(s.end_ms);
            }
            _ => merged.push(s),
        }
    }
    merged.retain(|s| s.end_ms - s.start_ms >= MIN_SPAN_MS);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silences_become_spans() {
        let log = "[silencedetect @ 0x1] silence_start: 1.02\n\
                   [silencedetect @ 0x1] silence_end: 3.01 | silence_duration: 1.99\n\
                   size=N/A time=00:00:04.50 bitrate=N/A speed= 900x\r\
                   [silencedetect @ 0x1] silence_start: 4.2\n";
        assert_eq!(
            activity_from_log(log),
            vec![
                Span {
                    start_ms: 0,
                    end_ms: 1020
                },
                Span {
                    start_ms: 3010,
                    end_ms: 4200
                },
            ]
        );
        assert_eq!(
            tidy(vec![
                Span {
                    start_ms: 0,
                    end_ms: 500
                },
                Span {
                    start_ms: 1200,
                    end_ms: 1500
                },
                Span {
                    start_ms: 5000,
                    end_ms: 5300
                },
            ]),
            vec![Span {
                start_ms: 0,
                end_ms: 1500
            }]
        );
    }

    /// A real microphone track made by ffmpeg (tone, silence, tone), its sidecar
    /// starting 2 s after the mix's: the spans land where the tones are.
    #[test]
    fn spans_of_a_real_track() {
        let dir = std::env::temp_dir().join(format!(
            "seduta-speakers-{}-{}",
            std::process::id(),
            crate::auth::uuid_like()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("sine=frequency=440:duration=1.5:sample_rate=48000")
            .args(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono:d=2.5"])
            .args(["-f", "lavfi", "-i"])
            .arg("sine=frequency=660:duration=2:sample_rate=48000")
            .args(["-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1[a]"])
            .args(["-map", "[a]", "-ac", "1", "-c:a", "libopus"])
            .arg(dir.join("p1-microphone.webm"))
            .status()
            .expect("ffmpeg runs (the tests need Debian's ffmpeg)");
        assert!(status.success());
        let base: u64 = 1_772_443_800_000_000_000;
        let write = |name: &str, v: Value| {
            std::fs::write(dir.join(name), serde_json::to_vec(&v).expect("json")).expect("write")
        };
        write(
            "mix.json",
            serde_json::json!({"kind": "mix", "participant": "", "file": "mix.webm",
                "wall_clock_start_unix_ns": base}),
        );
        write(
            "p1-microphone.json",
            serde_json::json!({"kind": "audio", "participant": "p1", "file": "p1-microphone.webm",
                "wall_clock_start_unix_ns": base + 2_000_000_000}),
        );
        let report = derive(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(report.available, "{report:?}");
        assert_eq!(report.speakers.len(), 1);
        let spans = &report.speakers[0].spans;
        assert_eq!(spans.len(), 2, "{spans:?}");
        let near = |got: u64, want: u64| got.abs_diff(want) <= 150;
        assert!(
            near(spans[0].start_ms, 2000) && near(spans[0].end_ms, 3500),
            "{spans:?}"
        );
        assert!(
            near(spans[1].start_ms, 6000) && near(spans[1].end_ms, 8000),
            "{spans:?}"
        );
    }
}
