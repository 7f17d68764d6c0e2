//! (e) Thirteen loud speakers at once never clip the mix and never wrap around.

mod common;

use seduta_recordings::MixConfig;

#[test]
fn thirteen_loud_tracks_never_clip() {
    let dir = common::scratch("mix-limiter");
    // Thirteen speakers near full scale, all starting together (peaks add up to ~12x).
    let tracks: Vec<(u64, Vec<Vec<u8>>)> = (0..13)
        .map(|i| (0, common::opus_tone(150.0 + 70.0 * i as f32, 0.95, 2.0)))
        .collect();
    let (_, flac) = common::mix_tracks(&dir, &tracks, MixConfig::default());
    assert_eq!(common::decode_errors(&flac), "");
    let pcm = common::decode_pcm(&flac);
    assert_eq!(pcm.len(), 2 * 48_000);

    // The ceiling is -1 dBFS: 29 204 of 32 767.
    let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(peak <= 29_205, "peak {peak} above the -1 dBFS ceiling");
    assert!(peak > 25_000, "limited, not silenced: peak {peak}");
    assert!(
        !pcm.iter().any(|&s| s == i16::MAX || s == i16::MIN),
        "a sample at full scale"
    );
    // No flat tops: never three equal samples in a row at the ceiling's level.
    let flat = pcm
        .windows(3)
        .filter(|w| w[0].unsigned_abs() > 29_000 && w[0] == w[1] && w[1] == w[2])
        .count();
    assert_eq!(flat, 0, "runs of clipped samples");
    // No wrap-around: a wrapped sum jumps by about the whole range in one sample.
    let jump = pcm
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap_or(0);
    assert!(jump < 20_000, "a jump of {jump} between two samples");
}
