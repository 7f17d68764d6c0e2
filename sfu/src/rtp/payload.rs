//! What the SFU reads in one RTP payload: whether it starts a frame or a keyframe, and
//! where the codec's own bytes begin. Nothing else of the media is ever parsed.

use str0m::format::Codec;

/// The codecs the SFU forwards, as far as their payloads matter to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// Every packet is one whole frame.
    Opus,
    /// RFC 7741.
    Vp8,
    /// RFC 6184 (packetization mode 1).
    H264,
    /// Forwarded as it comes; never a keyframe to switch on.
    Other,
}

impl PayloadKind {
    /// The kind of a negotiated codec.
    pub fn of(codec: Codec) -> Self {
        match codec {
            Codec::Opus => Self::Opus,
            Codec::Vp8 => Self::Vp8,
            Codec::H264 => Self::H264,
            _ => Self::Other,
        }
    }
}

/// What one packet is, for forwarding and for the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketFacts {
    /// The first packet of a frame.
    pub frame_start: bool,
    /// The first packet of a keyframe (a subscriber may switch to its layer here).
    pub keyframe: bool,
}

/// Reads `payload` of a packet in `kind`; malformed payloads are neither starts nor
/// keyframes (they are forwarded, never switched on, and the recorder drops them).
pub fn facts(kind: PayloadKind, payload: &[u8]) -> PacketFacts {
    match kind {
        PayloadKind::Opus => PacketFacts {
            frame_start: !payload.is_empty(),
            keyframe: !payload.is_empty(),
        },
        PayloadKind::Vp8 => vp8_facts(payload),
        PayloadKind::H264 => {
            let keyframe = h264_keyframe(payload);
            PacketFacts {
                frame_start: keyframe || h264_starts_nal(payload),
                keyframe,
            }
        }
        PayloadKind::Other => PacketFacts::default(),
    }
}

/// Length of the VP8 payload descriptor (RFC 7741 §4.2), `None` when truncated.
pub fn vp8_descriptor_len(payload: &[u8]) -> Option<usize> {
    let first = *payload.first()?;
    let mut len = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(1)?;
        len += 1;
        if ext & 0x80 != 0 {
            // PictureID: 7 bits, or 15 when its M bit is set.
            let pid = *payload.get(len)?;
            len += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            len += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            len += 1; // TID/Y/KEYIDX
        }
    }
    (len < payload.len()).then_some(len)
}

fn vp8_facts(payload: &[u8]) -> PacketFacts {
    let Some(len) = vp8_descriptor_len(payload) else {
        return PacketFacts::default();
    };
    // S bit set and partition index 0: the first packet of a frame.
    let frame_start = payload[0] & 0x10 != 0 && payload[0] & 0x07 == 0;
    // The P bit of the VP8 payload header is 0 on keyframes.
    let keyframe = frame_start && payload[len] & 0x01 == 0;
    PacketFacts {
        frame_start,
        keyframe,
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// Whether an H.264 packet carries the start of an IDR picture or of the SPS that
/// precedes one.
fn h264_keyframe(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    let starts_key = |nal: u8| matches!(nal & 0x1f, NAL_IDR | NAL_SPS);
    match header & 0x1f {
        NAL_STAP_A => {
            stap_a_nals(&payload[1..]).any(|nal| nal.first().is_some_and(|h| starts_key(*h)))
        }
        NAL_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && starts_key(*fu)),
        _ => starts_key(header),
    }
}

/// Whether an H.264 packet begins a NAL unit (the recorder's frame boundaries come
/// from the RTP timestamp and marker; this only refuses a fragment's middle).
fn h264_starts_nal(payload: &[u8]) -> bool {
    match payload.first().map(|h| h & 0x1f) {
        Some(NAL_FU_A) => payload.get(1).is_some_and(|fu| fu & 0x80 != 0),
        Some(0) | None => false,
        Some(_) => true,
    }
}

/// The NAL units of a STAP-A body (16-bit size, then the unit), stopping at the first
/// malformed size.
pub(crate) fn stap_a_nals(mut body: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if body.len() < 2 {
            return None;
        }
        let size = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let nal = body.get(2..2 + size)?;
        body = &body[2 + size..];
        (!nal.is_empty()).then_some(nal)
    })
}

/// Appends the codec's bytes of one packet to a frame being put back together: the
/// VP8 partition data without the descriptor, H.264 NAL units in Annex B form, the
/// Opus packet as it is. `false` for a malformed payload.
pub fn append_frame_bytes(kind: PayloadKind, payload: &[u8], out: &mut Vec<u8>) -> bool {
    const START_CODE: [u8; 4] = [0, 0, 0, 1];
    match kind {
        PayloadKind::Opus | PayloadKind::Other => {
            out.extend_from_slice(payload);
            true
        }
        PayloadKind::Vp8 => match vp8_descriptor_len(payload) {
            Some(len) => {
                out.extend_from_slice(&payload[len..]);
                true
            }
            None => false,
        },
        PayloadKind::H264 => {
            let Some(&header) = payload.first() else {
                return false;
            };
            match header & 0x1f {
                NAL_STAP_A => {
                    let mut any = false;
                    for nal in stap_a_nals(&payload[1..]) {
                        out.extend_from_slice(&START_CODE);
                        out.extend_from_slice(nal);
                        any = true;
                    }
                    any
                }
                NAL_FU_A => {
                    let Some(&fu) = payload.get(1) else {
                        return false;
                    };
                    if fu & 0x80 != 0 {
                        out.extend_from_slice(&START_CODE);
                        out.push((header & 0xe0) | (fu & 0x1f));
                    }
                    out.extend_from_slice(&payload[2..]);
                    true
                }
                0 | 25..=31 => false,
                _ => {
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(payload);
                    true
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 payload: descriptor with a 15-bit picture id, TL0PICIDX and TID, then a
    /// payload header whose first byte is `p`.
    fn vp8(start: bool, p: u8) -> Vec<u8> {
        let s = if start { 0x10 } else { 0 };
        vec![0x80 | s, 0xe0, 0x81, 0x23, 0x07, 0x20, p, 0xaa, 0xbb]
    }

    #[test]
    fn vp8_descriptor_lengths_and_keyframes() {
        assert_eq!(vp8_descriptor_len(&vp8(true, 0)), Some(6));
        assert_eq!(vp8_descriptor_len(&[0x10, 0x00]), Some(1));
        // 7-bit picture id only.
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80, 0x05, 0x00]), Some(3));
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80]), None, "truncated");
        assert_eq!(vp8_descriptor_len(&[0x90]), None);
        assert_eq!(vp8_descriptor_len(&[]), None);
        let key = facts(PayloadKind::Vp8, &vp8(true, 0x10));
        assert_eq!(
            key,
            PacketFacts {
                frame_start: true,
                keyframe: true
            }
        );
        let delta = facts(PayloadKind::Vp8, &vp8(true, 0x11));
        assert_eq!(
            delta,
            PacketFacts {
                frame_start: true,
                keyframe: false
            }
        );
        let middle = facts(PayloadKind::Vp8, &vp8(false, 0x10));
        assert_eq!(middle, PacketFacts::default());
        let mut frame = Vec::new();
        assert!(append_frame_bytes(
            PayloadKind::Vp8,
            &vp8(true, 0x10),
            &mut frame
        ));
        assert_eq!(frame, [0x10, 0xaa, 0xbb]);
        assert!(!append_frame_bytes(
            PayloadKind::Vp8,
            &[0x90, 0x80],
            &mut frame
        ));
    }

    #[test]
    fn h264_keyframes_in_single_stap_a_and_fu_a() {
        assert!(facts(PayloadKind::H264, &[0x65, 1, 2]).keyframe, "IDR");
        assert!(facts(PayloadKind::H264, &[0x67, 1]).keyframe, "SPS");
        assert!(
            !facts(PayloadKind::H264, &[0x41, 1]).keyframe,
            "non-IDR slice"
        );
        // STAP-A holding SPS (2 bytes) and PPS (1 byte).
        let stap = [0x78, 0, 2, 0x67, 9, 0, 1, 0x68];
        assert!(facts(PayloadKind::H264, &stap).keyframe);
        // FU-A: start of an IDR, then its middle.
        let fu_start = [0x7c, 0x85, 1, 2];
        let fu_mid = [0x7c, 0x05, 3];
        assert!(facts(PayloadKind::H264, &fu_start).keyframe);
        assert!(!facts(PayloadKind::H264, &fu_mid).keyframe);
        assert!(!facts(PayloadKind::H264, &fu_mid).frame_start);
        let mut frame = Vec::new();
        assert!(append_frame_bytes(PayloadKind::H264, &stap, &mut frame));
        assert!(append_frame_bytes(PayloadKind::H264, &fu_start, &mut frame));
        assert!(append_frame_bytes(PayloadKind::H264, &fu_mid, &mut frame));
        assert_eq!(
            frame,
            [
                0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 1, 2, 3
            ]
        );
        // A size running past the end stops the STAP-A.
        assert!(!append_frame_bytes(
            PayloadKind::H264,
            &[0x78, 0, 9, 1],
            &mut Vec::new()
        ));
        assert!(!facts(PayloadKind::H264, &[]).keyframe);
    }

    #[test]
    fn opus_packets_are_whole_frames() {
        assert_eq!(
            facts(PayloadKind::Opus, &[0xfc]),
            PacketFacts {
                frame_start: true,
                keyframe: true
            }
        );
        assert_eq!(facts(PayloadKind::Opus, &[]), PacketFacts::default());
    }
}
