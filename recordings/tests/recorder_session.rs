//! The recorder end to end: tracks pushed in real time as the SFU would, a clean stop,
//! every file closed, the mix holding both speakers, the sender reports in the sidecar.

mod common;

use std::time::{Duration, Instant, SystemTime};

use seduta_recordings::{
    Codec, Frame, NtpTime, Recorder, RecorderConfig, RecorderEvent, SenderReport, TrackKind,
    TrackSpec,
};

#[test]
fn a_short_session_is_recorded_and_closed_cleanly() {
    let dir = common::scratch("session");
    let frames = common::vp8_frames(&dir, 1, 25);
    let recorder = Recorder::start(RecorderConfig::new(&dir)).expect("recorder");
    let anna = recorder
        .add_track(TrackSpec::new(
            "p1-audio",
            "p1",
            TrackKind::Audio,
            Codec::Opus,
        ))
        .expect("track");
    let bruno = recorder
        .add_track(TrackSpec::new(
            "p2-audio",
            "p2",
            TrackKind::Audio,
            Codec::Opus,
        ))
        .expect("track");
    let camera = recorder
        .add_track(TrackSpec::new(
            "p2-video",
            "p2",
            TrackKind::Video,
            Codec::Vp8,
        ))
        .expect("track");
    let tone_a = common::opus_tone(440.0, 0.3, 2.0);
    let tone_b = common::opus_tone(660.0, 0.3, 2.0);
    let start = Instant::now();
    // Bruno's RTP clock starts elsewhere and his packets arrive 40 ms later.
    for i in 0..100u64 {
        std::thread::sleep(
            (start + Duration::from_millis(i * 20)).saturating_duration_since(Instant::now()),
        );
        recorder
            .push(anna, Frame::new(i * 960, true, tone_a[i as usize].clone()))
            .expect("push");
        if i >= 2 {
            let j = i - 2;
            recorder
                .push(
                    bruno,
                    Frame::new(5_000_000 + j * 960, true, tone_b[j as usize].clone()),
                )
                .expect("push");
        }
        // The camera comes in mid-GOP: its file starts at the next keyframe.
        if i % 2 == 0 && i >= 10 {
            let n = (i / 2) as usize;
            let data = frames[n % 25].1.clone();
            recorder
                .push(camera, Frame::new(n as u64 * 3600, false, data))
                .expect("push");
        }
        if i == 50 {
            let ntp = NtpTime::from_system_time(SystemTime::now()).expect("after 1970");
            recorder
                .sender_report(
                    anna,
                    SenderReport {
                        rtp_timestamp: 48_000,
                        ntp,
                    },
                )
                .expect("report");
        }
    }
    let mut events = Vec::new();
    while let Some(event) = recorder.poll_event() {
        events.push(event);
    }
    assert!(events.contains(&RecorderEvent::KeyframeWanted(camera)));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RecorderEvent::TrackFailed { .. }))
    );

    let summary = recorder.stop().expect("stop");
    assert_eq!(summary.dropped_frames, 0);
    assert_eq!(summary.tracks.len(), 3);
    for track in &summary.tracks {
        assert!(track.error.is_none(), "{track:?}");
        let end = track.end.as_ref().expect("frames written");
        assert!(end.clean);
        assert_eq!(common::decode_errors(&track.file), "");
    }
    assert_eq!(summary.tracks[0].end.as_ref().map(|e| e.frames), Some(100));
    assert_eq!(summary.tracks[1].end.as_ref().map(|e| e.frames), Some(98));
    // Camera frames from i = 10 (frame 5) on; the first keyframe is frame 25.
    assert_eq!(
        summary.tracks[2]
            .end
            .as_ref()
            .map(|e| e.skipped_before_keyframe),
        Some(20)
    );

    let mix = summary.mix.expect("the mix closed cleanly");
    let seconds = mix.flac_samples as f64 / 48_000.0;
    assert!((1.9..4.0).contains(&seconds), "mix of {seconds} s");
    let pcm = common::decode_pcm(&dir.join("mix.flac"));
    let middle = &pcm[24_000..72_000];
    assert!(common::goertzel(middle, 440.0, 48_000.0) > 0.005);
    assert!(common::goertzel(middle, 660.0, 48_000.0) > 0.005);

    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p1-audio.json")).expect("sidecar"))
            .expect("JSON");
    assert_eq!(sidecar["ntp_mapping"]["first"]["rtp_timestamp"], 48_000);
    assert_eq!(sidecar["ntp_mapping"]["reports"], 1);
    assert_eq!(sidecar["end"]["clean"], true);
    let video: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p2-video.json")).expect("sidecar"))
            .expect("JSON");
    assert_eq!(video["first_rtp_timestamp"], 25 * 3600);
}
