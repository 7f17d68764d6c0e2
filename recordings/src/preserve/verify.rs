//! The copy's check before it is kept: ffprobe says H.264 High at the asked size and
//! 25 fps with FLAC audio and the expected length; ffmpeg decodes every video and audio
//! frame without a message; and, when the mix was copied, the decoded audio is the
//! mix's, sample for sample (same PCM MD5).

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::WORK_DIR;
use super::error::PreserveError;
use super::register::TargetRecord;
use super::settings::PreservationSettings;
use super::sources::Inventory;
use super::tool::{probe, run_ffmpeg};

/// How far the copy's length may be from the mix's (one frame at 25 fps and the
/// container's rounding).
const LENGTH_TOLERANCE: f64 = 0.25;

/// Checks `file` (relative to `dir`); returns what the register says of it (without
/// its digest). `on_fraction` gets the stage's progress.
pub(crate) fn verify(
    dir: &Path,
    file: &str,
    inventory: &Inventory,
    settings: &PreservationSettings,
    on_fraction: &mut dyn FnMut(f64),
) -> Result<TargetRecord, PreserveError> {
    let path = dir.join(file);
    let fail = |why: String| Err(PreserveError::Verification(why));
    let probed = probe(&settings.ffprobe, &path)?;
    let Some(video) = probed.stream("video") else {
        return fail("no video stream".into());
    };
    let Some(audio) = probed.stream("audio") else {
        return fail("no audio stream".into());
    };
    if video.codec_name != "h264" || video.profile.as_deref() != Some("High") {
        return fail(format!(
            "video is {} profile {:?}, not h264 High",
            video.codec_name, video.profile
        ));
    }
    let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    if width < settings.width || height < settings.height {
        return fail(format!("video is {width}x{height}"));
    }
    let fps = format!("{}/1", settings.fps);
    if video.r_frame_rate.as_deref() != Some(fps.as_str())
        || video.avg_frame_rate.as_deref() != Some(fps.as_str())
    {
        return fail(format!(
            "video frame rate is {:?} (average {:?}), not a constant {fps}",
            video.r_frame_rate, video.avg_frame_rate
        ));
    }
    if audio.codec_name != "flac" && !audio.codec_name.starts_with("pcm_") {
        return fail(format!("audio is {}, not FLAC or PCM", audio.codec_name));
    }
    if !probed.format.format_name.contains("mp4") {
        return fail(format!("container is {}", probed.format.format_name));
    }
    let expected = inventory.length.as_secs_f64();
    let duration = probed.duration().unwrap_or(0.0);
    if (duration - expected).abs() > LENGTH_TOLERANCE {
        return fail(format!("lasts {duration:.3} s, the mix {expected:.3} s"));
    }

    // Decode everything; at -v error ffmpeg prints nothing for a sound file.
    let md5_file = format!("{WORK_DIR}/copy-audio.md5");
    let args: Vec<String> = [
        "-i", file, "-map", "0:v", "-map", "0:a", "-f", "null", "-", "-map", "0:a", "-f", "md5",
        &md5_file,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let total = expected.max(0.04);
    let out = run_ffmpeg(
        &settings.ffmpeg,
        dir,
        &args,
        settings.nice,
        &mut |pos: Duration| on_fraction((pos.as_secs_f64() / total).min(1.0)),
    )?;
    if !out.stderr.trim().is_empty() {
        return fail(format!("decoding printed: {}", out.stderr.trim()));
    }
    if (out.position.as_secs_f64() - expected).abs() > LENGTH_TOLERANCE {
        return fail(format!(
            "decoded {:.3} s of {expected:.3} s",
            out.position.as_secs_f64()
        ));
    }
    if let [mix] = inventory.mixes.as_slice() {
        let md5 = fs::read_to_string(dir.join(&md5_file)).unwrap_or_default();
        if md5.trim() != mix.pcm_md5 || mix.pcm_md5.is_empty() {
            return fail(format!(
                "the audio is not the mix's: PCM {} instead of {}",
                md5.trim(),
                mix.pcm_md5
            ));
        }
    }
    Ok(TargetRecord {
        name: String::new(),
        format: "mp4".into(),
        codecs: vec![
            format!("h264 (High), {width}x{height}, {} fps", settings.fps),
            audio.codec_name.clone(),
        ],
        width,
        height,
        fps: settings.fps,
        duration_seconds: duration,
        chapters: inventory.chapters.len(),
        sha256: String::new(),
        size: 0,
    })
}
