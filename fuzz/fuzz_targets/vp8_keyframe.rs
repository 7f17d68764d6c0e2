//! The one thing the SFU reads inside VP8 frames: the size of a keyframe
//! (`sfu/src/vp8.rs`, RFC 6386 §9.1), on every forwarded keyframe.
//!
//! Holds: no panic; the result is exactly the one the RFC defines (frame tag bit 0
//! clear, start code 9d 01 2a, 14-bit width and height, both non-zero).

#![no_main]

use libfuzzer_sys::fuzz_target;
use seduta_sfu::fuzzing::keyframe_size;

fn reference(f: &[u8]) -> Option<(u16, u16)> {
    let tag = f.first()?;
    let start = f.get(3..6)?;
    let size = f.get(6..10)?;
    if tag & 1 != 0 || start != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = (u16::from(size[0]) | u16::from(size[1]) << 8) & 0x3fff;
    let h = (u16::from(size[2]) | u16::from(size[3]) << 8) & 0x3fff;
    (w != 0 && h != 0).then_some((w, h))
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(keyframe_size(data), reference(data));
});
