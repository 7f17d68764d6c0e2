//! RFC 4571 framing for ICE-TCP: each packet is preceded by its 16-bit length.

/// Largest packet we accept over TCP (a UDP-sized datagram).
pub const MAX_FRAME: usize = 2048;

/// Accumulates bytes from a TCP stream and yields whole packets.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

/// The stream is not RFC 4571 (a frame is empty or too large): close it.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFrame;

impl Deframer {
    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, if one is buffered.
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>, BadFrame> {
        if self.buf.len() < 2 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
        if len == 0 || len > MAX_FRAME {
            return Err(BadFrame);
        }
        if self.buf.len() < 2 + len {
            return Ok(None);
        }
        let packet = self.buf[2..2 + len].to_vec();
        self.buf.drain(..2 + len);
        Ok(Some(packet))
    }
}

/// Frames one packet for sending; `None` if it is too large to frame.
pub fn frame(packet: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(packet.len()).ok()?;
    let mut out = Vec::with_capacity(packet.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_split_reads() {
        let mut bytes = frame(b"hello").expect("frame");
        bytes.extend(frame(b"world!").expect("frame"));
        let mut d = Deframer::default();
        d.push(&bytes[..3]);
        assert_eq!(d.next_packet(), Ok(None));
        d.push(&bytes[3..]);
        assert_eq!(d.next_packet(), Ok(Some(b"hello".to_vec())));
        assert_eq!(d.next_packet(), Ok(Some(b"world!".to_vec())));
        assert_eq!(d.next_packet(), Ok(None));
    }

    #[test]
    fn refuses_oversized_and_empty_frames() {
        let mut d = Deframer::default();
        d.push(&[0xff, 0xff, 1, 2]);
        assert_eq!(d.next_packet(), Err(BadFrame));
        let mut d = Deframer::default();
        d.push(&[0, 0]);
        assert_eq!(d.next_packet(), Err(BadFrame));
    }
}
