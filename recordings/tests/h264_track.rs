//! H.264 (when that is what a sender sent) is written without transcoding into Matroska.

mod common;

use std::process::Command;

use seduta_recordings::{Codec, Frame, SessionClock, TrackKind, TrackSpec, TrackWriter};

/// Access units of a 2 s, 25 fps H.264 stream in Annex B form, made by ffmpeg with an
/// access unit delimiter (NAL type 9) in front of each.
fn h264_access_units(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let path = dir.join("pattern.h264");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
        ])
        .args([
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "baseline",
        ])
        .args(["-g", "25"])
        .args(["-x264-params", "aud=1", "-f", "h264"])
        .arg(&path)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not encode H.264");
    let bytes = std::fs::read(&path).expect("read");
    let mut starts = Vec::new();
    for i in 0..bytes.len().saturating_sub(4) {
        if bytes[i..i + 3] == [0, 0, 1] && bytes[i + 3] & 0x1f == 9 {
            starts.push(if i > 0 && bytes[i - 1] == 0 { i - 1 } else { i });
        }
    }
    starts.push(bytes.len());
    starts
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect()
}

#[test]
fn h264_track_decodes() {
    let dir = common::scratch("h264-track");
    let units = h264_access_units(&dir);
    assert_eq!(units.len(), 50);
    let spec = TrackSpec::new("chamber-video", "chamber", TrackKind::Video, Codec::H264);
    let mut writer = TrackWriter::new(&dir, spec, SessionClock::now()).expect("writer");
    for (i, unit) in units.into_iter().enumerate() {
        let keyframe = seduta_recordings::h264_is_keyframe(&unit);
        writer
            .write(Frame::new(i as u64 * 3600, keyframe, unit))
            .expect("write");
    }
    let path = writer.path();
    assert!(path.extension().is_some_and(|e| e == "mkv"));
    writer.finish().expect("finish");
    assert_eq!(common::decode_errors(&path), "");
    assert_eq!(common::stream_field(&path, "codec_name"), "h264");
    let packets = common::packets(&path);
    assert_eq!(packets.len(), 50);
    assert!((packets[49].0 - 1.96).abs() < 0.005);
}
