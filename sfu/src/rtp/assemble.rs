//! Whole frames for the recorder, put back together from a track's packets.
//!
//! Forwarding never waits for a frame; the recorder takes frames. Packets are kept in
//! sequence order until a frame is complete (its first packet through its marker, or
//! through the last packet before the next timestamp, with no hole), then the frame
//! leaves in order. A hole is waited for while a retransmission can still fill it
//! ([`MAX_WAIT`], [`MAX_PACKETS`]); after that the incomplete frame is given up and
//! the next frame is marked as following a gap, so a video recording restarts at a
//! keyframe instead of storing a picture with missing references.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::payload::{PacketFacts, PayloadKind, append_frame_bytes, facts};

/// How long a hole is waited for: a NACK and its retransmission on a slow link.
pub const MAX_WAIT: Duration = Duration::from_millis(500);

/// Packets held while waiting, at most (a 1080p keyframe is about 200).
pub const MAX_PACKETS: usize = 1_024;

/// One frame for the recorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// Extended RTP timestamp.
    pub rtp_time: u64,
    /// Whether it is a keyframe.
    pub keyframe: bool,
    /// The codec's bytes (VP8 frame, H.264 Annex B access unit, Opus packet).
    pub data: Vec<u8>,
    /// When its first packet arrived.
    pub arrival: Instant,
    /// Something before it was lost for good.
    pub after_gap: bool,
}

#[derive(Debug)]
struct Held {
    time: u64,
    marker: bool,
    facts: PacketFacts,
    payload: Arc<[u8]>,
    arrival: Instant,
}

/// Reassembly of one track's frames.
#[derive(Debug)]
pub struct Assembler {
    kind: PayloadKind,
    held: BTreeMap<u64, Held>,
    /// The first sequence number not yet delivered or given up.
    floor: u64,
    /// Whether `floor` is the start of a frame (else the next frame start is taken).
    synced: bool,
    gap: bool,
    latest: Option<Instant>,
}

impl Assembler {
    /// An assembler for packets of `kind`.
    pub fn new(kind: PayloadKind) -> Self {
        Self {
            kind,
            held: BTreeMap::new(),
            floor: 0,
            synced: false,
            gap: false,
            latest: None,
        }
    }

    /// Forgets everything held and starts again at the next frame start (after a
    /// pause, whose packets would otherwise stand as a hole to wait for).
    pub fn reset(&mut self) {
        *self = Self::new(self.kind);
    }

    /// Takes one packet (extended sequence number and timestamp).
    pub fn push(&mut self, seq: u64, time: u64, marker: bool, payload: Arc<[u8]>, now: Instant) {
        self.latest = Some(now);
        if seq < self.floor {
            return; // delivered or given up already
        }
        let facts = facts(self.kind, &payload);
        self.held.entry(seq).or_insert(Held {
            time,
            marker,
            facts,
            payload,
            arrival: now,
        });
    }

    /// The next complete frame, if there is one.
    pub fn pop(&mut self) -> Option<AssembledFrame> {
        loop {
            let (&seq, first) = self.held.first_key_value()?;
            if !self.synced {
                if !first.facts.frame_start {
                    self.held.pop_first();
                    self.floor = seq + 1;
                    continue;
                }
                self.synced = true;
                self.floor = seq;
            }
            if seq > self.floor {
                if !self.overdue() {
                    return None;
                }
                // The hole will not be filled: go on from what is here.
                self.give_up(seq);
                continue;
            }
            match self.frame_end(seq) {
                Some(end) => {
                    if let Some(frame) = self.take(seq, end) {
                        return Some(frame);
                    }
                }
                None if self.overdue() => self.give_up(seq + 1),
                None => return None,
            }
        }
    }

    /// The last sequence number of the frame starting at `start`, once all of it is
    /// here.
    fn frame_end(&self, start: u64) -> Option<u64> {
        let time = self.held.get(&start)?.time;
        for (expected, (&seq, p)) in (start..).zip(self.held.range(start..)) {
            if seq != expected {
                return None;
            }
            if p.time != time {
                // The next frame began right after: this one ended without a marker.
                return Some(seq - 1);
            }
            if p.marker || self.kind == PayloadKind::Opus {
                return Some(seq);
            }
        }
        None
    }

    fn take(&mut self, start: u64, end: u64) -> Option<AssembledFrame> {
        let mut data = Vec::new();
        let mut keyframe = false;
        let mut whole = true;
        let mut first = None;
        for seq in start..=end {
            let Some(p) = self.held.remove(&seq) else {
                whole = false;
                continue;
            };
            keyframe |= p.facts.keyframe;
            whole &= append_frame_bytes(self.kind, &p.payload, &mut data);
            first.get_or_insert((p.time, p.arrival));
        }
        self.floor = end + 1;
        let (rtp_time, arrival) = first?;
        if !whole || data.is_empty() {
            self.gap = true;
            return None;
        }
        let after_gap = std::mem::take(&mut self.gap);
        Some(AssembledFrame {
            rtp_time,
            keyframe,
            data,
            arrival,
            after_gap,
        })
    }

    /// Drops everything below `seq` and looks for the next frame start from there.
    fn give_up(&mut self, seq: u64) {
        while self.held.first_key_value().is_some_and(|(&s, _)| s < seq) {
            self.held.pop_first();
        }
        self.floor = seq;
        self.synced = false;
        self.gap = true;
    }

    fn overdue(&self) -> bool {
        if self.held.len() > MAX_PACKETS {
            return true;
        }
        match (self.held.values().map(|p| p.arrival).min(), self.latest) {
            (Some(oldest), Some(latest)) => latest.saturating_duration_since(oldest) >= MAX_WAIT,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 packet: `start` of a frame, keyframe or not, with one byte of data.
    fn vp8(start: bool, key: bool, byte: u8) -> Arc<[u8]> {
        let s = if start { 0x10 } else { 0 };
        let p = if key { 0x00 } else { 0x01 };
        Arc::from(vec![s, if start { p } else { byte }, byte])
    }

    fn frames(a: &mut Assembler) -> Vec<AssembledFrame> {
        std::iter::from_fn(|| a.pop()).collect()
    }

    #[test]
    fn frames_leave_whole_and_in_order_despite_reordering() {
        let t0 = Instant::now();
        let mut a = Assembler::new(PayloadKind::Vp8);
        a.push(10, 1_000, false, vp8(true, true, 1), t0);
        a.push(12, 1_000, true, vp8(false, false, 3), t0);
        assert_eq!(a.pop(), None, "11 is missing");
        a.push(11, 1_000, false, vp8(false, false, 2), t0);
        a.push(14, 4_000, true, vp8(false, false, 5), t0);
        a.push(13, 4_000, false, vp8(true, false, 4), t0);
        let got = frames(&mut a);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].data, [0x00, 1, 2, 2, 3, 3]);
        assert!(got[0].keyframe && !got[0].after_gap);
        assert_eq!(got[1].rtp_time, 4_000);
        assert!(!got[1].keyframe);
        // A duplicate of something delivered is ignored.
        a.push(12, 1_000, true, vp8(false, false, 3), t0);
        assert_eq!(a.pop(), None);
    }

    #[test]
    fn a_hole_is_given_up_after_the_wait_and_marks_the_next_frame() {
        let t0 = Instant::now();
        let mut a = Assembler::new(PayloadKind::Vp8);
        a.push(1, 0, true, vp8(true, true, 1), t0);
        assert!(a.pop().is_some());
        // 2..=3 is a frame whose 3 never comes; 4 is the next frame.
        a.push(2, 3_000, false, vp8(true, false, 2), t0);
        a.push(4, 6_000, true, vp8(true, false, 4), t0);
        assert_eq!(a.pop(), None, "still waiting for 3");
        a.push(5, 9_000, true, vp8(true, true, 5), t0 + MAX_WAIT);
        let got = frames(&mut a);
        assert_eq!(
            got.iter().map(|f| f.rtp_time).collect::<Vec<_>>(),
            [6_000, 9_000]
        );
        assert!(got[0].after_gap && !got[1].after_gap);
        // The given-up packet arriving late changes nothing.
        a.push(3, 3_000, true, vp8(false, false, 3), t0 + MAX_WAIT);
        assert_eq!(a.pop(), None);
    }

    #[test]
    fn starts_at_the_first_frame_start_and_without_marker_ends_at_the_next_timestamp() {
        let t0 = Instant::now();
        let mut a = Assembler::new(PayloadKind::Vp8);
        a.push(7, 0, false, vp8(false, false, 7), t0);
        a.push(8, 3_000, false, vp8(true, true, 8), t0);
        a.push(9, 6_000, false, vp8(true, false, 9), t0);
        let got = frames(&mut a);
        assert_eq!(got.len(), 1, "the tail of an unknown frame is skipped");
        assert_eq!(got[0].rtp_time, 3_000);
        assert!(got[0].keyframe);
    }

    #[test]
    fn opus_packets_are_frames_and_malformed_vp8_is_dropped() {
        let t0 = Instant::now();
        let mut a = Assembler::new(PayloadKind::Opus);
        a.push(1, 960, false, Arc::from(vec![0xfc, 1]), t0);
        a.push(2, 1_920, false, Arc::from(vec![0xfc, 2]), t0);
        assert_eq!(frames(&mut a).len(), 2);
        let mut v = Assembler::new(PayloadKind::Vp8);
        // X and I set, but the picture id is cut off: not a frame start, never a frame.
        v.push(1, 0, true, Arc::from(vec![0x90, 0x80]), t0);
        assert_eq!(v.pop(), None);
    }
}
