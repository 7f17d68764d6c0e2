//! One forwarded stream as one subscriber sees it: continuous sequence numbers,
//! timestamps and VP8 picture ids, whichever simulcast layer is being forwarded.
//!
//! Each layer of a publisher's track is its own RTP stream with its own numbering. A
//! subscriber gets one stream, so at a layer switch (always at a keyframe) the new
//! layer's numbers are re-based to continue one after the last ones sent. Packets of
//! the new layer older than the switch are dropped: their numbers would collide with
//! what was already sent. Within a layer the offsets stay fixed, so a loss, a
//! reordering or a late retransmission from the publisher reaches the subscriber as
//! exactly that.

use str0m::rtp::{Vp8Descriptor, Vp8Patch};

use super::timeline::Timeline;

/// The numbers of one packet toward the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended sequence number (starts below 65 536, as str0m wants without
    /// out-of-band rollover signalling).
    pub seq: u64,
    /// RTP timestamp.
    pub time: u32,
    /// The VP8 descriptor rewrite, when the picture ids were re-based.
    pub vp8: Option<Vp8Patch>,
}

/// Rewriting state of one subscriber's copy of one track.
#[derive(Debug, Clone, Default)]
pub struct Rewriter {
    /// Output minus input sequence number, for the current segment.
    seq_offset: i64,
    /// First input sequence number of the current segment (the layer being sent).
    segment_start: Option<u64>,
    /// Highest output sequence number sent.
    last_seq: Option<u64>,
    timeline: Timeline,
    picture: PictureIds,
}

impl Rewriter {
    /// Maps one packet. `switched` marks the first packet of a newly chosen layer (or
    /// the first packet ever); `vp8` is the payload of a VP8 packet. `None`: drop it,
    /// it predates the current segment.
    pub fn map(
        &mut self,
        seq_in: u64,
        time_in: u64,
        clock_rate: u64,
        switched: bool,
        vp8: Option<&[u8]>,
    ) -> Option<Rewritten> {
        let fresh = switched || self.segment_start.is_none();
        if fresh {
            let first_out = match self.last_seq {
                Some(last) => last + 1,
                // Below 65 536: no rollover counter to signal.
                None => seq_in & 0xffff,
            };
            self.seq_offset = first_out as i64 - seq_in as i64;
            self.segment_start = Some(seq_in);
        } else if self.segment_start.is_some_and(|start| seq_in < start) {
            return None;
        }
        let seq = (seq_in as i64 + self.seq_offset).max(0) as u64;
        self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
        let time = self.timeline.map(time_in, clock_rate, fresh) as u32;
        let vp8 = vp8.and_then(|payload| self.picture.map(payload, fresh));
        Some(Rewritten { seq, time, vp8 })
    }
}

/// VP8 picture id and TL0PICIDX continuity. Each simulcast layer counts its own
/// pictures; a receiver seeing them jump at a switch may wait for references that
/// never come.
#[derive(Debug, Clone, Copy, Default)]
struct PictureIds {
    picture_offset: u16,
    tl0_offset: u8,
    last_picture: Option<u16>,
    last_tl0: Option<u8>,
}

impl PictureIds {
    fn map(&mut self, payload: &[u8], fresh: bool) -> Option<Vp8Patch> {
        let descriptor = Vp8Descriptor::parse(payload).ok()?;
        let picture_in = descriptor.picture_id()?;
        // 15-bit ids have the M bit set in the first byte of the field.
        let mask: u16 = if wide(payload) { 0x7fff } else { 0x7f };
        let tl0_in = descriptor.tl0_pic_idx();
        if fresh {
            self.picture_offset = match self.last_picture {
                Some(last) => last.wrapping_add(1).wrapping_sub(picture_in),
                None => 0,
            };
            self.tl0_offset = match (self.last_tl0, tl0_in) {
                (Some(last), Some(t)) => last.wrapping_add(1).wrapping_sub(t),
                _ => 0,
            };
        }
        let picture = picture_in.wrapping_add(self.picture_offset) & mask;
        let tl0 = tl0_in.map(|t| t.wrapping_add(self.tl0_offset));
        self.last_picture = Some(picture);
        if tl0.is_some() {
            self.last_tl0 = tl0;
        }
        if picture == picture_in && tl0 == tl0_in {
            return None;
        }
        let mut patch = descriptor.patch().picture_id(picture);
        if let Some(t) = tl0 {
            patch = patch.tl0_pic_idx(t);
        }
        patch.build().ok()
    }
}

/// Whether a VP8 descriptor's picture id field is 15 bits wide: X set, I set, then
/// the M bit of the field's first byte.
fn wide(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x80 != 0)
        && payload.get(1).is_some_and(|b| b & 0x80 != 0)
        && payload.get(2).is_some_and(|b| b & 0x80 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 90_000;

    /// A VP8 first packet with a 15-bit picture id and a TL0PICIDX.
    fn vp8(picture: u16, tl0: u8) -> Vec<u8> {
        let [hi, lo] = picture.to_be_bytes();
        vec![0x90, 0xe0, 0x80 | hi, lo, tl0, 0x20, 0x10, 0x00]
    }

    #[test]
    fn one_layer_keeps_its_offsets_through_loss_and_reordering() {
        let mut r = Rewriter::default();
        let first = r.map(70_000, 1_000, HZ, true, None).expect("first");
        assert_eq!(
            first.seq,
            70_000 & 0xffff,
            "starts without a rollover count"
        );
        // A gap stays a gap, a late packet keeps its place.
        assert_eq!(
            r.map(70_003, 4_000, HZ, false, None).map(|p| p.seq),
            Some(first.seq + 3)
        );
        assert_eq!(
            r.map(70_002, 4_000, HZ, false, None).map(|p| p.seq),
            Some(first.seq + 2)
        );
        assert_eq!(
            r.map(70_003, 4_000, HZ, false, None).map(|p| p.time),
            Some(4_000)
        );
    }

    #[test]
    fn a_switch_continues_after_the_last_packet_and_drops_older_ones() {
        let mut r = Rewriter::default();
        r.map(100, 1_000, HZ, true, None);
        r.map(101, 1_000, HZ, false, None);
        // The new layer's numbering is far away; its keyframe comes at 5_000.
        let switched = r.map(5_000, 4_000, HZ, true, None).expect("switch");
        assert_eq!(switched.seq, 102);
        assert_eq!(
            r.map(5_001, 4_000, HZ, false, None).map(|p| p.seq),
            Some(103)
        );
        // A packet of the new layer from before the switch would collide: dropped.
        assert_eq!(r.map(4_999, 1_000, HZ, false, None), None);
        // Switching back lands after everything sent so far.
        assert_eq!(r.map(130, 7_000, HZ, true, None).map(|p| p.seq), Some(104));
    }

    #[test]
    fn picture_ids_continue_across_a_switch() {
        let mut r = Rewriter::default();
        // The first layer passes through untouched.
        let a = r.map(1, 0, HZ, true, Some(&vp8(300, 7))).expect("a");
        assert_eq!(a.vp8, None);
        r.map(2, 3_000, HZ, false, Some(&vp8(301, 8)));
        // The other layer counts from 20_000 / 200: re-based to 302 / 9.
        let b = r
            .map(900, 6_000, HZ, true, Some(&vp8(20_000, 200)))
            .expect("b");
        let patch = b.vp8.expect("patched");
        assert_eq!(
            patch,
            Vp8Descriptor::parse(&vp8(20_000, 200))
                .expect("parse")
                .patch()
                .picture_id(302)
                .tl0_pic_idx(9)
                .build()
                .expect("build")
        );
        // The following pictures keep the offset, wrapping at 15 bits.
        let c = r
            .map(901, 9_000, HZ, false, Some(&vp8(20_001, 201)))
            .expect("c");
        assert!(c.vp8.is_some());
        let mut wrap = Rewriter::default();
        wrap.map(1, 0, HZ, true, Some(&vp8(0x7fff, 1)));
        let w = wrap.map(50, 3_000, HZ, true, Some(&vp8(5, 1))).expect("w");
        assert_eq!(
            w.vp8,
            Vp8Descriptor::parse(&vp8(5, 1))
                .expect("parse")
                .patch()
                .picture_id(0)
                .tl0_pic_idx(2)
                .build()
                .ok()
        );
    }
}
