//! The codecs and kinds of track that are recorded, and what is read from their frames.

use serde::Serialize;

/// The codec of a recorded track, as received (nothing is transcoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Opus audio (RTP clock 48 kHz).
    Opus,
    /// VP8 video (RTP clock 90 kHz).
    Vp8,
    /// H.264 video, access units in Annex B byte-stream form (RTP clock 90 kHz).
    H264,
}

impl Codec {
    /// The RTP clock rate that WebRTC uses for this codec.
    pub fn default_clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Vp8 | Codec::H264 => 90_000,
        }
    }

    /// The codec's name in sidecars: `opus`, `vp8` or `h264`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Vp8 => "vp8",
            Codec::H264 => "h264",
        }
    }

    /// Whether this is an audio codec.
    pub fn is_audio(self) -> bool {
        matches!(self, Codec::Opus)
    }

    /// The file extension of this codec's working master: WebM where the codec is
    /// allowed there (Opus, VP8), Matroska otherwise (H.264).
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Opus | Codec::Vp8 => "webm",
            Codec::H264 => "mkv",
        }
    }
}

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    /// A participant's microphone.
    Audio,
    /// A participant's camera.
    Video,
    /// A participant's screen share.
    Screen,
    /// The live mix of every audio track.
    Mix,
}

/// The number of channels an Opus packet codes, from its TOC byte (RFC 6716 §3.1).
pub(crate) fn opus_channels(packet: &[u8]) -> u8 {
    match packet.first() {
        Some(toc) if toc & 0x04 != 0 => 2,
        _ => 1,
    }
}

/// The number of 48 kHz samples an Opus packet codes, or `None` if it is malformed.
pub(crate) fn opus_samples(packet: &[u8]) -> Option<u32> {
    opus::packet::get_nb_samples(packet, 48_000)
        .ok()
        .and_then(|n| u32::try_from(n).ok())
}

/// Whether a VP8 frame is a keyframe (RFC 6386 §9.1: bit 0 of the frame tag is 0).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|tag| tag & 0x01 == 0)
}

/// The width and height of a VP8 keyframe (RFC 6386 §9.1), or `None` for an interframe
/// or a frame too short to hold them.
pub(crate) fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if !vp8_is_keyframe(frame) || frame.len() < 10 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    (width > 0 && height > 0).then_some((width, height))
}

/// Whether an H.264 access unit in Annex B form holds an IDR slice (NAL type 5).
pub fn h264_is_keyframe(access_unit: &[u8]) -> bool {
    let mut zeros = 0;
    for (i, &byte) in access_unit.iter().enumerate() {
        if byte == 0 {
            zeros += 1;
            continue;
        }
        if byte == 1 && zeros >= 2 && access_unit.get(i + 1).is_some_and(|nal| nal & 0x1f == 5) {
            return true;
        }
        zeros = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_header() {
        let key = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
        assert!(vp8_is_keyframe(&key));
        assert_eq!(vp8_keyframe_size(&key), Some((320, 240)));
        let inter = [0x11, 0x02, 0x00, 0x00];
        assert!(!vp8_is_keyframe(&inter));
        assert_eq!(vp8_keyframe_size(&inter), None);
        assert_eq!(vp8_keyframe_size(&[]), None);
    }

    #[test]
    fn h264_idr_found() {
        assert!(h264_is_keyframe(&[
            0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88
        ]));
        assert!(!h264_is_keyframe(&[0, 0, 0, 1, 0x41, 0x9a]));
        assert!(!h264_is_keyframe(&[0, 0, 1]));
    }

    #[test]
    fn opus_toc() {
        assert_eq!(opus_channels(&[0xfc]), 2);
        assert_eq!(opus_channels(&[0xf8]), 1);
        assert_eq!(opus_channels(&[]), 1);
        // Config 31 (CELT FB 20 ms), one frame.
        assert_eq!(opus_samples(&[0xf8, 0xff]), Some(960));
    }
}
