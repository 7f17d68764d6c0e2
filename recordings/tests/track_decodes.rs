//! (a) Tracks written from real Opus and VP8 frames decode with ffmpeg without errors,
//! and their duration is the one written.

mod common;

use std::time::{Duration, Instant};

use seduta_recordings::{Codec, Frame, SessionClock, TrackKind, TrackSpec, TrackWriter, Written};

#[test]
fn opus_track_decodes_and_lasts_what_was_written() {
    let dir = common::scratch("opus-track");
    let clock = SessionClock::now();
    let spec = TrackSpec::new("p1-audio", "p1", TrackKind::Audio, Codec::Opus);
    let mut writer = TrackWriter::new(&dir, spec, clock).expect("writer");
    let first_rtp = 1_234_567u64;
    let packets = common::opus_tone(440.0, 0.5, 3.0);
    for (i, packet) in packets.into_iter().enumerate() {
        let frame = Frame {
            rtp_time: first_rtp + i as u64 * 960,
            keyframe: true,
            data: packet,
            arrival: clock.origin_instant() + Duration::from_millis(i as u64 * 20),
        };
        assert_eq!(writer.write(frame).expect("write"), Written::Written);
    }
    assert!((writer.media_seconds() - 3.0).abs() < 1e-9);
    let path = writer.path();
    let end = writer
        .finish()
        .expect("finish")
        .expect("frames were written");
    assert!(end.clean);
    assert_eq!(end.frames, 150);

    assert_eq!(common::decode_errors(&path), "");
    assert_eq!(common::stream_field(&path, "codec_name"), "opus");
    let duration = common::probed_duration(&path);
    assert!(
        (duration - 3.0).abs() < 0.1,
        "ffprobe: {duration} s, written 3 s"
    );
    // What decodes is the tone that was sent.
    let pcm = common::decode_pcm(&path);
    let tone = common::goertzel(&pcm[4800..], 440.0, 48_000.0);
    let other = common::goertzel(&pcm[4800..], 660.0, 48_000.0);
    assert!(
        tone > 0.03 && other < tone / 100.0,
        "440 Hz: {tone}, 660 Hz: {other}"
    );

    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p1-audio.json")).expect("sidecar"))
            .expect("sidecar JSON");
    assert_eq!(sidecar["participant"], "p1");
    assert_eq!(sidecar["kind"], "audio");
    assert_eq!(sidecar["codec"], "opus");
    assert_eq!(sidecar["clock_rate"], 48_000);
    assert_eq!(sidecar["first_rtp_timestamp"], first_rtp);
    assert_eq!(sidecar["file"], "p1-audio.webm");
    assert!(
        sidecar["wall_clock_start"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    assert_eq!(sidecar["end"]["clean"], true);
}

#[test]
fn vp8_track_decodes_and_lasts_what_was_written() {
    let dir = common::scratch("vp8-track");
    let frames = common::vp8_frames(&dir, 3, 25);
    assert_eq!(frames.len(), 75);
    let clock = SessionClock::now();
    let spec = TrackSpec::new("p1-video", "p1", TrackKind::Video, Codec::Vp8);
    let mut writer = TrackWriter::new(&dir, spec, clock).expect("writer");
    // RTP timestamps start anywhere and wrap nothing here: 64-bit unrolled.
    let base = 4_000_000_000u64;
    for (rtp, data) in frames {
        let keyframe = seduta_recordings::vp8_is_keyframe(&data);
        let frame = Frame {
            rtp_time: base + rtp,
            keyframe,
            data,
            arrival: Instant::now(),
        };
        assert_eq!(writer.write(frame).expect("write"), Written::Written);
    }
    let path = writer.path();
    writer.finish().expect("finish");

    assert_eq!(common::decode_errors(&path), "");
    assert_eq!(common::stream_field(&path, "codec_name"), "vp8");
    assert_eq!(common::stream_field(&path, "width"), "320");
    let packets = common::packets(&path);
    assert_eq!(packets.len(), 75);
    // The last frame starts at 2.96 s and lasts 40 ms.
    let duration = packets.last().map(|(pts, _)| pts + 0.04).unwrap_or(0.0);
    assert!(
        (duration - 3.0).abs() < 0.1,
        "ffprobe: {duration} s, written 3 s"
    );
}

#[test]
fn video_waits_for_a_keyframe() {
    let dir = common::scratch("vp8-keyframe");
    let frames = common::vp8_frames(&dir, 2, 25);
    let clock = SessionClock::now();
    let spec = TrackSpec::new("p2-video", "p2", TrackKind::Video, Codec::Vp8);
    let mut writer = TrackWriter::new(&dir, spec, clock).expect("writer");
    // Joining mid-stream: the first 10 frames are interframes, the 26th a keyframe.
    let mut outcomes = Vec::new();
    for (rtp, data) in frames.into_iter().skip(15) {
        outcomes.push(writer.write(Frame::new(rtp, false, data)).expect("write"));
    }
    assert!(
        outcomes[..10]
            .iter()
            .all(|o| *o == Written::WaitingForKeyframe)
    );
    assert!(outcomes[10..].iter().all(|o| *o == Written::Written));
    let path = writer.path();
    let end = writer.finish().expect("finish").expect("written");
    assert_eq!(end.skipped_before_keyframe, 10);
    assert_eq!(common::decode_errors(&path), "");
    assert_eq!(common::packets(&path).len(), 25);
}

#[test]
fn an_existing_recording_is_never_overwritten() {
    let dir = common::scratch("no-overwrite");
    std::fs::write(dir.join("p3-audio.webm"), b"earlier").expect("write");
    let spec = TrackSpec::new("p3-audio", "p3", TrackKind::Audio, Codec::Opus);
    assert!(TrackWriter::new(&dir, spec, SessionClock::now()).is_err());
    let bad = TrackSpec::new("../escape", "p3", TrackKind::Audio, Codec::Opus);
    assert!(TrackWriter::new(&dir, bad, SessionClock::now()).is_err());
}
