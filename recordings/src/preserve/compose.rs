//! The ffmpeg command that makes the copy: the grid composite (every video track placed
//! on the timeline by its sidecar's wall-clock start, a name label on each tile), the
//! mix as FLAC, the chapters, into MP4 with H.264 High.
//!
//! Everything the filter graph refers to is a relative path inside the session folder
//! (ffmpeg runs there): file names are the recorder's (letters, digits, `-`, `_`, `.`)
//! and the labels are read from files (`textfile`, `expansion=none`), so no name, quote
//! or colon in a participant's name needs escaping in the graph.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::WORK_DIR;
use super::error::PreserveError;
use super::layout::grid;
use super::settings::PreservationRequest;
use super::sources::Inventory;
use crate::clock::rfc3339;

/// The composition: ffmpeg's arguments (after the common ones) and a description of
/// the encoder settings for the register.
#[derive(Debug, Clone)]
pub(crate) struct Composition {
    pub args: Vec<String>,
    pub encoder_settings: String,
}

/// Escapes a value of an FFMETADATA file (`=`, `;`, `#`, `\` and newlines).
fn ffmetadata_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '=' | ';' | '#' | '\\' | '\n') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn seconds(d: std::time::Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

fn offset_seconds(later: std::time::SystemTime, origin: std::time::SystemTime) -> f64 {
    match later.duration_since(origin) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn signed_seconds(later: std::time::SystemTime, origin: std::time::SystemTime) -> String {
    match later.duration_since(origin) {
        Ok(d) => format!("+{:.6}", d.as_secs_f64()),
        Err(e) => format!("-{:.6}", e.duration().as_secs_f64()),
    }
}

/// Writes the graph, the labels and the chapters into the work folder and returns the
/// ffmpeg arguments writing `output` (relative to `dir`).
pub(crate) fn compose(
    dir: &Path,
    inventory: &Inventory,
    request: &PreservationRequest,
    output: &str,
) -> Result<Composition, PreserveError> {
    let s = &request.settings;
    let work = dir.join(WORK_DIR);
    let tiles = grid(&inventory.sidecars, &request.names, s.width, s.height);
    let mut args: Vec<String> = Vec::new();
    let mut graph = String::new();
    let length = seconds(inventory.length);
    let _ = writeln!(
        graph,
        "color=c=black:s={}x{}:r={}:d={length},format=yuv420p[base0];",
        s.width, s.height, s.fps
    );

    // Inputs: the video tracks, then the mixes, then the chapters.
    let mut input = 0usize;
    let mut layer = 0usize;
    for video in &inventory.videos {
        let screen = video.sidecar.kind == super::sidecars::SourceKind::Screen;
        let Some(tile) = tiles
            .iter()
            .find(|t| t.participant == video.sidecar.participant && t.screen == screen)
        else {
            continue;
        };
        args.extend(["-i".into(), video.file.clone()]);
        let offset = signed_seconds(video.sidecar.wall_clock_start(), inventory.origin);
        let shift = offset_seconds(video.sidecar.wall_clock_start(), inventory.origin);
        // The tile shows the picture only where the file has pictures (its spans, on
        // the copy's timeline); elsewhere the black tile with the name.
        let enable = video
            .spans
            .iter()
            .map(|(a, b)| format!("between(t,{:.3},{:.3})", a + shift, b + shift))
            .collect::<Vec<_>>()
            .join("+");
        let (w, h) = (tile.width, tile.height);
        let _ = writeln!(
            graph,
            "[{input}:v]setpts=PTS-STARTPTS{offset}/TB,\
             scale={w}:{h}:force_original_aspect_ratio=decrease,\
             pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p[v{input}];"
        );
        let _ = writeln!(
            graph,
            "[base{layer}][v{input}]overlay=x={}:y={}:eof_action=pass:format=yuv420:\
             enable='{enable}'[base{}];",
            tile.x,
            tile.y,
            layer + 1
        );
        layer += 1;
        input += 1;
    }

    // The labels, drawn last so that they show over pictures and black tiles alike.
    let mut labels = format!("[base{layer}]");
    if tiles.is_empty() {
        labels.push_str("null");
    }
    for (i, tile) in tiles.iter().enumerate() {
        let file = format!("{WORK_DIR}/label-{i}.txt");
        fs::write(dir.join(&file), tile.label.as_bytes())
            .map_err(|e| PreserveError::io(dir.join(&file), e))?;
        let size = (tile.height / 12).clamp(14, 36);
        if i > 0 {
            labels.push(',');
        }
        let _ = write!(
            labels,
            "drawtext=textfile={file}:expansion=none:font=Sans:fontsize={size}:\
             fontcolor=white:box=1:boxcolor=black@0.6:boxborderw={pad}:\
             x={x}+{pad}:y={y}+{h}-th-{margin}",
            pad = size / 4,
            x = tile.x,
            y = tile.y,
            h = tile.height,
            margin = size / 2,
        );
    }
    labels.push_str("[vout];");
    graph.push_str(&labels);
    graph.push('\n');

    // The audio: one mix is copied as it is (lossless, bit-exact); several (the
    // recording restarted) are placed on the timeline and encoded to FLAC again.
    let first_mix = input;
    for mix in &inventory.mixes {
        args.extend(["-i".into(), mix.file.clone()]);
        input += 1;
    }
    let audio_map;
    let audio_codec: Vec<String>;
    if inventory.mixes.len() == 1 {
        audio_map = format!("{first_mix}:a");
        audio_codec = vec!["-c:a".into(), "copy".into()];
    } else {
        let mut amix = String::new();
        for (i, mix) in inventory.mixes.iter().enumerate() {
            let delay = mix
                .start
                .duration_since(inventory.origin)
                .unwrap_or_default()
                .as_millis();
            let _ = write!(
                graph,
                "[{}:a]adelay=delays={delay}:all=1[a{i}];",
                first_mix + i
            );
            let _ = write!(amix, "[a{i}]");
        }
        let _ = writeln!(
            graph,
            "{amix}amix=inputs={}:duration=longest:normalize=0[aout];",
            inventory.mixes.len()
        );
        audio_map = "[aout]".into();
        audio_codec = vec!["-c:a".into(), "flac".into()];
    }
    // The graph's last statement must not end with ';'.
    let graph = graph.trim_end().trim_end_matches(';').to_owned();
    let graph_file = format!("{WORK_DIR}/graph.txt");
    fs::write(work.join("graph.txt"), &graph).map_err(|e| PreserveError::io(&work, e))?;

    // The chapters, as an FFMETADATA input: the MP4 gets a QuickTime chapter track.
    let mut meta = String::from(";FFMETADATA1\n");
    let _ = writeln!(
        meta,
        "title=Registrazione della seduta (copia di conservazione)"
    );
    let _ = writeln!(meta, "creation_time={}", rfc3339(inventory.origin));
    for point in &inventory.chapters {
        let _ = write!(
            meta,
            "[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={}\n",
            point.start_ms,
            point.end_ms,
            ffmetadata_escape(&point.title)
        );
    }
    let meta_file = format!("{WORK_DIR}/metadata.txt");
    fs::write(work.join("metadata.txt"), meta).map_err(|e| PreserveError::io(&work, e))?;
    args.extend(["-f".into(), "ffmetadata".into(), "-i".into(), meta_file]);
    let meta_input = input;

    let gop = (s.fps * 2).to_string();
    let encoder_settings = format!(
        "libx264 preset={} profile=high crf={} pix_fmt=yuv420p gop={gop} {}x{} {} fps; \
         audio: {}",
        s.preset,
        s.crf,
        s.width,
        s.height,
        s.fps,
        if inventory.mixes.len() == 1 {
            "FLAC copied from the mix without re-encoding"
        } else {
            "the mixes placed on the timeline and encoded to FLAC"
        }
    );
    args.extend([
        "-filter_complex_script".into(),
        graph_file,
        "-map".into(),
        "[vout]".into(),
        "-map".into(),
        audio_map,
        "-map_metadata".into(),
        meta_input.to_string(),
        "-map_chapters".into(),
        meta_input.to_string(),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        s.preset.clone(),
        "-profile:v".into(),
        "high".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-crf".into(),
        s.crf.to_string(),
        "-g".into(),
        gop,
        "-r".into(),
        s.fps.to_string(),
        "-threads".into(),
        s.threads.to_string(),
    ]);
    args.extend(audio_codec);
    args.extend([
        // FLAC in MP4 ("Encapsulation of FLAC in ISO Base Media File Format") is still
        // flagged experimental by ffmpeg 5.1's muxer; the result is verified below.
        "-strict".into(),
        "experimental".into(),
        "-movflags".into(),
        "+faststart".into(),
        "-t".into(),
        length,
        "-f".into(),
        "mp4".into(),
        output.to_owned(),
    ]);
    Ok(Composition {
        args,
        encoder_settings,
    })
}

#[cfg(test)]
mod tests {
    use super::ffmetadata_escape;

    #[test]
    fn ffmetadata_values_are_escaped() {
        assert_eq!(
            ffmetadata_escape("Punto 1; a=b #2 \\ fine"),
            "Punto 1\\; a\\=b \\#2 \\\\ fine"
        );
    }
}
