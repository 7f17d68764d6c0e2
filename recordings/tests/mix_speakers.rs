//! (d) The mix holds every speaker: three tracks with distinct tones are all in the
//! FLAC mix (and in the Opus one), lined up.

mod common;

use seduta_recordings::MixConfig;

#[test]
fn every_speaker_is_in_the_mix() {
    let dir = common::scratch("mix-speakers");
    // Three speakers; the third joins half a second in.
    let tracks = vec![
        (0, common::opus_tone(440.0, 0.3, 3.0)),
        (0, common::opus_tone(660.0, 0.3, 3.0)),
        (24_000, common::opus_tone(990.0, 0.3, 2.5)),
    ];
    let (opus, flac) = common::mix_tracks(&dir, &tracks, MixConfig::default());

    assert_eq!(common::decode_errors(&flac), "");
    assert_eq!(common::decode_errors(&opus), "");
    assert_eq!(common::stream_field(&flac, "codec_name"), "flac");
    assert_eq!(common::stream_field(&flac, "sample_rate"), "48000");
    assert_eq!(common::stream_field(&opus, "codec_name"), "opus");

    let pcm = common::decode_pcm(&flac);
    assert_eq!(pcm.len(), 3 * 48_000, "the FLAC mix lasts the session");
    let window = &pcm[48_000..2 * 48_000];
    let absent = common::goertzel(window, 1_500.0, 48_000.0);
    for freq in [440.0, 660.0, 990.0] {
        let power = common::goertzel(window, freq, 48_000.0);
        assert!(
            power > 0.005 && power > 100.0 * absent,
            "{freq} Hz: {power} (absent: {absent})"
        );
    }
    // The 990 Hz speaker joined at 0.5 s: not before.
    let early = common::goertzel(&pcm[2_400..21_600], 990.0, 48_000.0);
    assert!(early < 1e-4, "990 Hz before it joined: {early}");

    // The Opus master holds the same mix, lined up with the FLAC to the sample.
    let decoded = common::decode_pcm(&opus);
    for freq in [440.0, 660.0, 990.0] {
        let power = common::goertzel(&decoded[48_000..2 * 48_000], freq, 48_000.0);
        assert!(power > 0.005, "{freq} Hz in the Opus mix: {power}");
    }
    let correlation = |lag: i64| -> f64 {
        (48_000..96_000i64)
            .map(|i| f64::from(pcm[i as usize]) * f64::from(decoded[(i + lag) as usize]))
            .sum()
    };
    let best = (-48..=48).max_by(|&a, &b| correlation(a).total_cmp(&correlation(b)));
    assert!(
        best.is_some_and(|lag: i64| lag.abs() <= 1),
        "Opus vs FLAC lag: {best:?}"
    );

    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("mix.json")).expect("sidecar"))
            .expect("JSON");
    assert_eq!(sidecar["kind"], "mix");
    assert_eq!(sidecar["preservation_file"], "mix.flac");
}
