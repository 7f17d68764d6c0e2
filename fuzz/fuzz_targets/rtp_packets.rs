//! What the SFU reads in the RTP payloads it forwards and records (`sfu/src/rtp/`):
//! the codec facts of a payload (frame start, keyframe, VP8 descriptor length), the
//! per-subscriber renumbering with its VP8 descriptor patch, and the recorder's frame
//! assembly, fed a sequence of arbitrary packets as a publisher could send them.
//!
//! Input: one codec byte, then packets of `[seq delta, time delta, flags, len, payload]`.
//!
//! Holds: no panic; a VP8 or H.264 keyframe is a frame start; a VP8 descriptor length
//! leaves at least one payload byte; within a layer segment every packet keeps the
//! same sequence-number offset (a loss stays a loss, nothing collides), and nothing
//! older than the segment is passed; the assembler never delivers an empty frame.

#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use seduta_sfu::fuzzing::{
    Assembler, PayloadKind, Rewriter, append_frame_bytes, facts, vp8_descriptor_len,
};

fuzz_target!(|data: &[u8]| {
    let Some((&codec, mut rest)) = data.split_first() else {
        return;
    };
    let kind = match codec % 4 {
        0 => PayloadKind::Opus,
        1 => PayloadKind::Vp8,
        2 => PayloadKind::H264,
        _ => PayloadKind::Other,
    };
    let t0 = Instant::now();
    let mut assembler = Assembler::new(kind);
    let mut rewriter = Rewriter::default();
    let (mut seq, mut time) = (1_000u64, 90_000u64);
    // The current segment: its first input sequence number and its offset.
    let mut segment: Option<(u64, i64)> = None;
    let mut step = 0u64;
    while rest.len() >= 4 {
        let (head, tail) = rest.split_at(4);
        let len = usize::from(head[3] % 64).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        step += 1;
        // Sequence numbers mostly advance, sometimes go back (reordering, duplicates).
        seq = seq.saturating_add_signed(i64::from(head[0] as i8)).max(1);
        time = time.saturating_add(u64::from(head[1]) * 30);
        let flags = head[2];
        let (marker, switched) = (flags & 1 != 0, flags & 2 != 0);

        let f = facts(kind, payload);
        assert!(!f.keyframe || f.frame_start);
        if let Some(n) = vp8_descriptor_len(payload) {
            assert!(n < payload.len());
        }
        let mut frame = Vec::new();
        let _ = append_frame_bytes(kind, payload, &mut frame);

        let vp8 = (kind == PayloadKind::Vp8).then_some(payload);
        let fresh = switched || segment.is_none();
        match rewriter.map(seq, time, 90_000, switched, vp8) {
            Some(out) => {
                let offset = out.seq as i64 - seq as i64;
                if fresh {
                    segment = Some((seq, offset));
                } else if let Some((_, expected)) = segment {
                    assert_eq!(offset, expected, "one offset per segment");
                }
            }
            None => {
                assert!(!fresh, "a segment's first packet always passes");
                assert!(segment.is_some_and(|(start, _)| seq < start));
            }
        }

        let now = t0 + Duration::from_millis(step * u64::from(flags >> 2));
        assembler.push(seq, time, marker, Arc::from(payload), now);
        while let Some(frame) = assembler.pop() {
            assert!(!frame.data.is_empty());
        }
    }
});
