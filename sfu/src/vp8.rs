//! The one thing the SFU reads inside a VP8 frame: the picture size of keyframes.

/// Width and height of a VP8 keyframe (RFC 6386 §9.1), or `None` for other frames.
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    // 3-byte frame tag: bit 0 is 0 for keyframes; then the start code 9d 01 2a.
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keyframe_size_and_ignores_the_rest() {
        let mut kf = vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a];
        kf.extend_from_slice(&1280u16.to_le_bytes());
        kf.extend_from_slice(&(720u16 | 0x4000).to_le_bytes()); // scale bits are masked
        assert_eq!(keyframe_size(&kf), Some((1280, 720)));
        let mut inter = kf.clone();
        inter[0] |= 1;
        assert_eq!(keyframe_size(&inter), None);
        assert_eq!(keyframe_size(&kf[..8]), None);
        assert_eq!(keyframe_size(&[]), None);
    }
}
