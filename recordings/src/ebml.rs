//! Where a Matroska byte stream can be cut: the end of its last complete element.
//!
//! The muxer hands its output over in pieces (a block's header and its payload come as
//! two buffers). Writing a piece at a time would let a crash cut a block in half, which
//! decoders report as an error. This reader of EBML framing (RFC 8794 §4) finds the
//! longest prefix made only of whole elements, so that every write to disk ends on one.
//! Elements of unknown size (the live Segment and Cluster) count as complete once their
//! header is: what follows them are their children.

/// The length of a complete prefix of `buf`: it ends after a whole element, or after the
/// header of an element of unknown size. Bytes that are not EBML at all are all let
/// through (never held back forever).
pub(crate) fn complete_prefix(buf: &[u8]) -> usize {
    let mut pos = 0;
    loop {
        let Some(&first) = buf.get(pos) else {
            return pos;
        };
        let Some(id_len) = vint_len(first).filter(|&n| n <= 4) else {
            return buf.len();
        };
        let size_at = pos + id_len;
        let Some(&size_first) = buf.get(size_at) else {
            return pos;
        };
        let Some(size_len) = vint_len(size_first) else {
            return buf.len();
        };
        let Some(size_bytes) = buf.get(size_at..size_at + size_len) else {
            return pos;
        };
        let body = size_at + size_len;
        match vint_value(size_bytes) {
            None => pos = body,
            Some(size) => {
                let end = usize::try_from(size)
                    .ok()
                    .and_then(|size| body.checked_add(size));
                match end {
                    Some(end) if end <= buf.len() => pos = end,
                    _ => return pos,
                }
            }
        }
    }
}

/// The length in bytes of a variable-length integer from its first byte (1 to 8).
fn vint_len(first: u8) -> Option<usize> {
    (first != 0).then(|| first.leading_zeros() as usize + 1)
}

/// The value of a size vint, or `None` when it means "unknown" (all value bits set).
fn vint_value(bytes: &[u8]) -> Option<u64> {
    let len = bytes.len();
    let marker_mask = if len >= 8 { 0 } else { 0xffu8 >> len };
    let mut value = u64::from(bytes.first().copied().unwrap_or(0) & marker_mask);
    for &b in bytes.iter().skip(1) {
        value = (value << 8) | u64::from(b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    (value != all_ones).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EBML_HEADER: [u8; 7] = [0x1a, 0x45, 0xdf, 0xa3, 0x82, 0x42, 0x86];
    const SEGMENT_UNKNOWN: [u8; 12] = [
        0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    #[test]
    fn whole_elements_and_open_masters() {
        // An EBML header whose 2-byte body is still incomplete.
        assert_eq!(complete_prefix(&EBML_HEADER[..6]), 0);
        let mut stream = EBML_HEADER.to_vec();
        assert_eq!(complete_prefix(&stream), 7);
        stream.extend_from_slice(&SEGMENT_UNKNOWN);
        assert_eq!(complete_prefix(&stream), 19);
        // A SimpleBlock of 4 bytes whose header has come but not its payload.
        stream.extend_from_slice(&[0xa3, 0x84]);
        assert_eq!(complete_prefix(&stream), 19);
        stream.extend_from_slice(&[0x81, 0x00, 0x00, 0x80]);
        assert_eq!(complete_prefix(&stream), 25);
    }

    #[test]
    fn sizes() {
        assert_eq!(vint_value(&[0x82]), Some(2));
        assert_eq!(vint_value(&[0xff]), None);
        assert_eq!(vint_value(&[0x40, 0x02]), Some(2));
        assert_eq!(vint_value(&[0x7f, 0xff]), None);
        assert_eq!(vint_value(&SEGMENT_UNKNOWN[4..]), None);
        assert_eq!(vint_value(&[0x01, 0, 0, 0, 0, 0, 0x11, 0x0b]), Some(0x110b));
    }

    #[test]
    fn garbage_is_let_through() {
        assert_eq!(complete_prefix(&[0x00, 0x01, 0x02]), 3);
    }
}
