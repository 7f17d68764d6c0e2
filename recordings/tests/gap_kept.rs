//! (b) A gap in the input (DTX, mute, loss) is a gap of the same length in the file.

mod common;

use seduta_recordings::{Codec, Frame, SessionClock, TrackKind, TrackSpec, TrackWriter};

#[test]
fn a_three_second_gap_stays_three_seconds() {
    let dir = common::scratch("gap");
    let spec = TrackSpec::new("p1-audio", "p1", TrackKind::Audio, Codec::Opus);
    let mut writer = TrackWriter::new(&dir, spec, SessionClock::now()).expect("writer");
    let packets = common::opus_tone(440.0, 0.5, 2.0);
    // One second, then nothing for three seconds (RTP time runs on), then one second.
    let first = 90_000u64;
    for (i, packet) in packets.into_iter().enumerate() {
        let i = i as u64;
        let at = if i < 50 { i * 960 } else { (i + 150) * 960 };
        writer
            .write(Frame::new(first + at, true, packet))
            .expect("write");
    }
    assert!((writer.media_seconds() - 5.0).abs() < 1e-9);
    let path = writer.path();
    writer.finish().expect("finish");

    assert_eq!(common::decode_errors(&path), "");
    let packets = common::packets(&path);
    assert_eq!(packets.len(), 100);
    let (before, after) = (packets[49], packets[50]);
    let gap = after.0 - (before.0 + before.1);
    assert!((gap - 3.0).abs() < 0.005, "gap in the file: {gap} s");
    let duration = common::probed_duration(&path);
    assert!(
        (duration - 5.0).abs() < 0.1,
        "ffprobe: {duration} s, written 5 s"
    );
    // Played on its timeline, the file is 5 s long: tone, 3 s of silence, tone.
    let pcm = common::decode_pcm_on_timeline(&path);
    let seconds = pcm.len() as f64 / 48_000.0;
    assert!((seconds - 5.0).abs() < 0.1, "decoded {seconds} s");
    let silence = &pcm[48_000 + 4_800..4 * 48_000 - 4_800];
    assert!(
        silence.iter().all(|s| s.unsigned_abs() < 64),
        "no tone during the gap"
    );
    let tone = common::goertzel(&pcm[4 * 48_000 + 4_800..], 440.0, 48_000.0);
    assert!(tone > 0.03, "the tone after the gap: {tone}");
}

#[test]
fn a_video_gap_stays_a_gap() {
    let dir = common::scratch("video-gap");
    let frames = common::vp8_frames(&dir, 2, 25);
    let spec = TrackSpec::new("p1-video", "p1", TrackKind::Video, Codec::Vp8);
    let mut writer = TrackWriter::new(&dir, spec, SessionClock::now()).expect("writer");
    // The second second of pattern (from its keyframe) comes 3 s late: a camera paused.
    for (rtp, data) in frames {
        let rtp = if rtp >= 90_000 { rtp + 3 * 90_000 } else { rtp };
        writer.write(Frame::new(rtp, false, data)).expect("write");
    }
    let path = writer.path();
    writer.finish().expect("finish");
    assert_eq!(common::decode_errors(&path), "");
    let packets = common::packets(&path);
    assert_eq!(packets.len(), 50);
    let gap = packets[25].0 - packets[24].0;
    assert!((gap - 3.04).abs() < 0.005, "gap between frames: {gap} s");
}
