//! RFC 4571 framing of ICE-TCP (`sfu/src/tcp.rs`): a TCP stream from anyone on the
//! internet, delivered in arbitrary reads.
//!
//! The first byte seeds the read sizes; the rest is the stream. The reads are fed to
//! a `Deframer` as the engine does (push one read, then take every whole packet;
//! stop at the first `BadFrame`, which closes the connection).
//!
//! Holds: no panic; every packet is 1..=MAX_FRAME bytes; the packets, framed again,
//! are exactly a prefix of the stream (nothing lost, reordered or invented); the
//! buffer never holds more than one partial frame plus one read; `BadFrame` comes
//! only for a zero or oversized length; and `frame` round-trips every packet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use seduta_sfu::fuzzing::{Deframer, MAX_FRAME, frame};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let mut d = Deframer::default();
    let mut rebuilt = Vec::new();
    let mut at = 0;
    let mut step = usize::from(seed) + 1;
    let mut bad = false;
    'read: while at < stream.len() {
        let n = step.min(stream.len() - at);
        d.push(&stream[at..at + n]);
        at += n;
        step = step * 7 % 4099 + 1;
        loop {
            match d.next_packet() {
                Ok(Some(p)) => {
                    assert!(!p.is_empty() && p.len() <= MAX_FRAME);
                    let framed = frame(&p).expect("a packet this small frames");
                    let mut again = Deframer::default();
                    again.push(&framed);
                    assert_eq!(again.next_packet(), Ok(Some(p.clone())));
                    rebuilt.extend_from_slice(&framed);
                }
                Ok(None) => break,
                Err(_) => {
                    bad = true;
                    break 'read;
                }
            }
        }
        // Whatever is left buffered is one partial frame.
        assert!(
            at - rebuilt.len() < 2 + MAX_FRAME,
            "buffered {}",
            at - rebuilt.len()
        );
    }
    assert_eq!(&stream[..rebuilt.len()], rebuilt.as_slice());
    if bad {
        let len = usize::from(u16::from_be_bytes([
            stream[rebuilt.len()],
            stream[rebuilt.len() + 1],
        ]));
        assert!(len == 0 || len > MAX_FRAME, "refused a good length {len}");
    } else {
        // Everything not delivered is an incomplete frame.
        let rest = &stream[rebuilt.len()..];
        if rest.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            assert!(rest.len() < 2 + len, "a whole frame was left behind");
        }
    }
});
