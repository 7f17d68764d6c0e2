//! The job's first stage: what the session folder holds, each file hashed and probed,
//! the mix decoded once (its length, its PCM digest for the final check). Missing and
//! undecodable files become register errors; they are never silently skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::WORK_DIR;
use super::error::PreserveError;
use super::hash::sha256_file;
use super::register::SourceRecord;
use super::settings::PreservationSettings;
use super::sidecars::{SidecarRecord, SourceKind, read_sidecars};
use super::tool::{probe, run_ffmpeg, video_packet_times};
use crate::chapters::{ChapterList, NavigationPoint};

/// A mix to put in the copy's audio.
#[derive(Debug, Clone)]
pub(crate) struct MixSource {
    /// The FLAC file's name.
    pub file: String,
    /// Its wall-clock start.
    pub start: SystemTime,
    /// Its decoded length.
    pub length: Duration,
    /// The MD5 of its decoded PCM, as ffmpeg's md5 muxer writes it.
    pub pcm_md5: String,
}

/// A video working master to put on its tile.
#[derive(Debug, Clone)]
pub(crate) struct VideoSource {
    /// The file's name.
    pub file: String,
    /// Its sidecar.
    pub sidecar: SidecarRecord,
    /// The spans (seconds, in the file's time) that have pictures: a camera's file has
    /// gaps where the recording was paused or the picture was lost, and its tile is
    /// black there rather than frozen on the last picture.
    pub spans: Vec<(f64, f64)>,
}

/// A camera without a frame for longer than this is shown as a black tile.
pub(crate) const CAMERA_GAP_SECONDS: f64 = 1.0;
/// A screen share's picture is held for this long without a new frame (a still screen
/// sends few frames).
pub(crate) const SCREEN_GAP_SECONDS: f64 = 10.0;
/// How long the last picture before a gap stays (about two frames at 25 fps).
const HOLD_SECONDS: f64 = 0.08;

/// The spans of `times` (sorted packet times) without a gap longer than `gap`.
pub(crate) fn spans(times: &[f64], gap: f64) -> Vec<(f64, f64)> {
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for &t in times {
        match spans.last_mut() {
            Some(last) if t - last.1 <= gap => last.1 = t,
            _ => spans.push((t, t)),
        }
    }
    for span in &mut spans {
        span.1 += HOLD_SECONDS;
    }
    spans
}

/// What the session folder holds for the copy.
#[derive(Debug, Clone)]
pub(crate) struct Inventory {
    /// Every sidecar read (for the grid).
    pub sidecars: Vec<SidecarRecord>,
    /// The usable mixes, earliest first.
    pub mixes: Vec<MixSource>,
    /// The usable video and screen tracks.
    pub videos: Vec<VideoSource>,
    /// The chapters for the MP4.
    pub chapters: Vec<NavigationPoint>,
    /// Time zero: the earliest mix's start.
    pub origin: SystemTime,
    /// The copy's length: to the end of the last mix.
    pub length: Duration,
    /// Every source, for the register.
    pub records: Vec<SourceRecord>,
}

impl Inventory {
    /// Why there is no usable mix (`None` when there is one).
    pub fn no_mix(&self) -> Option<PreserveError> {
        if !self.mixes.is_empty() {
            return None;
        }
        let why: Vec<String> = self
            .records
            .iter()
            .filter(|r| r.role == "audio_mix")
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.name)))
            .collect();
        Some(PreserveError::NoMix(if why.is_empty() {
            "no mix sidecar (mix.json) in the folder".to_owned()
        } else {
            why.join("; ")
        }))
    }
}

fn record(name: &str, role: &str, participant: Option<&str>) -> SourceRecord {
    SourceRecord {
        name: name.to_owned(),
        role: role.to_owned(),
        participant: participant.filter(|p| !p.is_empty()).map(str::to_owned),
        format: None,
        codecs: Vec::new(),
        sha256: None,
        size: None,
        used: false,
        error: None,
    }
}

/// Hashes and probes `name`: fills the record, returns whether the file has a stream of
/// `codec_type`.
fn examine(
    dir: &Path,
    settings: &PreservationSettings,
    rec: &mut SourceRecord,
    codec_type: &str,
) -> bool {
    let path = dir.join(&rec.name);
    match sha256_file(&path) {
        Ok((sha, size)) => {
            rec.sha256 = Some(sha);
            rec.size = Some(size);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            rec.error = Some("missing: the file does not exist".into());
            return false;
        }
        Err(e) => {
            rec.error = Some(format!("unreadable: {e}"));
            return false;
        }
    }
    match probe(&settings.ffprobe, &path) {
        Ok(p) => {
            rec.format = Some(p.format.format_name.clone());
            rec.codecs = p.streams.iter().map(|s| s.codec_name.clone()).collect();
            if p.stream(codec_type).is_none() {
                rec.error = Some(format!("undecodable: no {codec_type} stream"));
                return false;
            }
            true
        }
        Err(e) => {
            rec.error = Some(format!("undecodable: {e}"));
            false
        }
    }
}

/// Reads the session folder `dir`. `on_fraction` gets the stage's progress (0–1).
pub(crate) fn inventory(
    dir: &Path,
    settings: &PreservationSettings,
    on_fraction: &mut dyn FnMut(f64),
) -> Result<Inventory, PreserveError> {
    let (sidecars, problems) = read_sidecars(dir).map_err(|e| PreserveError::io(dir, e))?;
    let mut records = Vec::new();
    for problem in problems {
        let mut rec = record(&problem.file, "unknown", None);
        rec.error = Some(format!("unreadable sidecar: {}", problem.error));
        records.push(rec);
    }

    // The mixes: hashed, probed, decoded once (length and PCM digest).
    let mix_sidecars: Vec<&SidecarRecord> = sidecars
        .iter()
        .filter(|s| s.kind == SourceKind::Mix)
        .collect();
    let expected: f64 = mix_sidecars
        .iter()
        .map(|s| s.end.map_or(1.0, |e| e.media_seconds.max(0.1)))
        .sum::<f64>()
        .max(0.1);
    let mut done_seconds = 0.0;
    let mut mixes = Vec::new();
    for (i, sidecar) in mix_sidecars.iter().enumerate() {
        let name = sidecar
            .preservation_file
            .clone()
            .unwrap_or_else(|| format!("{}.flac", sidecar.track));
        let mut rec = record(&name, "audio_mix", None);
        if examine(dir, settings, &mut rec, "audio") {
            let md5_file = format!("{WORK_DIR}/mix-{i}.md5");
            let args: Vec<String> = ["-i", &name, "-map", "0:a", "-f", "md5", &md5_file]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let base = done_seconds;
            match run_ffmpeg(&settings.ffmpeg, dir, &args, settings.nice, &mut |pos| {
                on_fraction(((base + pos.as_secs_f64()) / expected).min(1.0))
            }) {
                Ok(out) => {
                    if !out.stderr.trim().is_empty() {
                        rec.error = Some(format!("decoded with errors: {}", out.stderr.trim()));
                    }
                    let md5 = fs::read_to_string(dir.join(&md5_file)).unwrap_or_default();
                    if out.position.is_zero() {
                        rec.error = Some("undecodable: no audio decoded".into());
                    } else {
                        rec.used = true;
                        mixes.push(MixSource {
                            file: name.clone(),
                            start: sidecar.wall_clock_start(),
                            length: out.position,
                            pcm_md5: md5.trim().to_owned(),
                        });
                    }
                }
                Err(e) => rec.error = Some(format!("undecodable: {e}")),
            }
        }
        done_seconds += sidecar.end.map_or(1.0, |e| e.media_seconds.max(0.1));
        records.push(rec);
    }
    on_fraction(1.0);
    mixes.sort_by_key(|m| m.start);
    // Without a mix there is no copy; the caller registers the failure with `records`.
    let origin = mixes.first().map_or(SystemTime::UNIX_EPOCH, |m| m.start);
    let end = mixes
        .iter()
        .map(|m| m.start + m.length)
        .max()
        .unwrap_or(origin);
    let length = end.duration_since(origin).unwrap_or_default();

    // The cameras and screen shares.
    let mut videos = Vec::new();
    for sidecar in sidecars
        .iter()
        .filter(|s| matches!(s.kind, SourceKind::Video | SourceKind::Screen))
    {
        let role = if sidecar.kind == SourceKind::Screen {
            "screen"
        } else {
            "video"
        };
        let mut rec = record(&sidecar.file, role, Some(&sidecar.participant));
        if examine(dir, settings, &mut rec, "video") {
            let gap = if sidecar.kind == SourceKind::Screen {
                SCREEN_GAP_SECONDS
            } else {
                CAMERA_GAP_SECONDS
            };
            match video_packet_times(&settings.ffprobe, &dir.join(&sidecar.file)) {
                Ok(times) if !times.is_empty() => {
                    // On the file's own timeline from its first picture, as placed.
                    let first = times[0];
                    let times: Vec<f64> = times.iter().map(|t| t - first).collect();
                    rec.used = true;
                    videos.push(VideoSource {
                        file: sidecar.file.clone(),
                        sidecar: sidecar.clone(),
                        spans: spans(&times, gap),
                    });
                }
                Ok(_) => rec.error = Some("undecodable: no video packets".into()),
                Err(e) => rec.error = Some(format!("undecodable: {e}")),
            }
        }
        records.push(rec);
    }

    // Working masters without a sidecar cannot be placed on the timeline.
    let known: BTreeSet<&str> = sidecars.iter().map(|s| s.file.as_str()).collect();
    let mut orphans: Vec<String> = fs::read_dir(dir)
        .map_err(|e| PreserveError::io(dir, e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && (n.ends_with(".webm") || n.ends_with(".mkv")))
        .filter(|n| !known.contains(n.as_str()))
        .collect();
    orphans.sort();
    for name in orphans {
        let mut rec = record(&name, "unknown", None);
        if let Ok((sha, size)) = sha256_file(&dir.join(&name)) {
            rec.sha256 = Some(sha);
            rec.size = Some(size);
        }
        rec.error = Some("no sidecar: cannot be placed on the timeline".into());
        records.push(rec);
    }

    // The chapters, when signaling wrote them.
    let mut chapters = Vec::new();
    let chapters_path = dir.join(crate::chapters::CHAPTERS_JSON);
    if chapters_path.exists() {
        let mut rec = record(crate::chapters::CHAPTERS_JSON, "chapters", None);
        rec.format = Some("json".into());
        if let Ok((sha, size)) = sha256_file(&chapters_path) {
            rec.sha256 = Some(sha);
            rec.size = Some(size);
        }
        match ChapterList::read(dir) {
            Ok(Some(list)) => {
                // The chapters are on the mix's clock; the copy starts at the earliest mix.
                let shift = list
                    .recording_start_time()
                    .duration_since(origin)
                    .unwrap_or_default();
                let shift_ms = u64::try_from(shift.as_millis()).unwrap_or(0);
                let length_ms = u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
                chapters = list
                    .navigation()
                    .into_iter()
                    .map(|mut p| {
                        p.start_ms = (p.start_ms + shift_ms).min(length_ms);
                        p.end_ms = (p.end_ms + shift_ms).min(length_ms);
                        p
                    })
                    .filter(|p| p.end_ms > p.start_ms)
                    .collect();
                rec.used = true;
            }
            Ok(None) => rec.error = Some("missing: the file does not exist".into()),
            Err(e) => rec.error = Some(format!("unreadable: {e}")),
        }
        records.push(rec);
    }

    Ok(Inventory {
        sidecars,
        mixes,
        videos,
        chapters,
        origin,
        length,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::spans;

    #[test]
    fn gaps_longer_than_the_limit_split_the_spans() {
        let times = [0.0, 0.04, 0.08, 1.0, 2.5, 2.54];
        let got = spans(&times, 1.0);
        assert_eq!(got.len(), 2);
        assert!((got[0].0 - 0.0).abs() < 1e-9 && (got[0].1 - 1.08).abs() < 1e-9);
        assert!((got[1].0 - 2.5).abs() < 1e-9 && (got[1].1 - 2.62).abs() < 1e-9);
        assert!(spans(&[], 1.0).is_empty());
    }
}
