//! Process-wide traffic counters of the media loop, for measurement (`seduta loadtest`,
//! benchmarks) and the Prometheus metrics. Relaxed atomic additions on the UDP path;
//! nothing reads them in the SFU itself. ICE-TCP traffic is not counted.
//!
//! NACKs are counted from str0m's stats events (every 2 s per stream, see
//! `Core::new_peer`): each event carries a stream's running total, and
//! [`StreamTotals`] turns successive totals into increments.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use str0m::media::{Mid, Rid};

static UDP_IN_PACKETS: AtomicU64 = AtomicU64::new(0);
static UDP_IN_BYTES: AtomicU64 = AtomicU64::new(0);
static RTP_IN_PACKETS: AtomicU64 = AtomicU64::new(0);
static UDP_OUT_PACKETS: AtomicU64 = AtomicU64::new(0);
static UDP_OUT_BYTES: AtomicU64 = AtomicU64::new(0);
static RTP_OUT_PACKETS: AtomicU64 = AtomicU64::new(0);
static RTP_OUT_BYTES: AtomicU64 = AtomicU64::new(0);
static RTP_OUT_PADDED: AtomicU64 = AtomicU64::new(0);
static UDP_SEND_FAILURES: AtomicU64 = AtomicU64::new(0);
static KEYFRAME_REQUESTS_IN: AtomicU64 = AtomicU64::new(0);
static KEYFRAME_REQUESTS_OUT: AtomicU64 = AtomicU64::new(0);
static NACKS_IN: AtomicU64 = AtomicU64::new(0);
static NACKS_OUT: AtomicU64 = AtomicU64::new(0);

/// Totals since the process started, summed over every SFU in the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    /// UDP datagrams received (STUN, DTLS, SRTP, SRTCP).
    pub udp_in_packets: u64,
    /// Their bytes.
    pub udp_in_bytes: u64,
    /// Received datagrams that are RTP (not RTCP, STUN or DTLS; RFC 7983 and 5761).
    pub rtp_in_packets: u64,
    /// UDP datagrams handed to the socket successfully.
    pub udp_out_packets: u64,
    /// Their bytes.
    pub udp_out_bytes: u64,
    /// Sent datagrams that are RTP: forwarded media, retransmissions and padding.
    pub rtp_out_packets: u64,
    /// Their bytes.
    pub rtp_out_bytes: u64,
    /// Of those, packets with the padding bit: the bandwidth estimator's probes.
    pub rtp_out_padded: u64,
    /// Datagrams the socket refused (a full buffer drops them, as the network would).
    pub udp_send_failures: u64,
    /// Keyframe requests (PLI/FIR) received from subscribers.
    pub keyframe_requests_in: u64,
    /// Keyframe requests (PLI) sent to publishers, after throttling.
    pub keyframe_requests_out: u64,
    /// RTCP NACK packets received from subscribers (each lists one or more lost
    /// packets; str0m retransmits them). Counted up to the last stats event (2 s).
    pub nacks_in: u64,
    /// RTCP NACK packets sent to publishers (str0m sends none for a stream whose
    /// SSRC is declared without an RTX stream). Counted up to the last stats event
    /// (2 s).
    pub nacks_out: u64,
}

impl Traffic {
    /// Counters now.
    pub fn now() -> Self {
        Self {
            udp_in_packets: UDP_IN_PACKETS.load(Relaxed),
            udp_in_bytes: UDP_IN_BYTES.load(Relaxed),
            rtp_in_packets: RTP_IN_PACKETS.load(Relaxed),
            udp_out_packets: UDP_OUT_PACKETS.load(Relaxed),
            udp_out_bytes: UDP_OUT_BYTES.load(Relaxed),
            rtp_out_packets: RTP_OUT_PACKETS.load(Relaxed),
            rtp_out_bytes: RTP_OUT_BYTES.load(Relaxed),
            rtp_out_padded: RTP_OUT_PADDED.load(Relaxed),
            udp_send_failures: UDP_SEND_FAILURES.load(Relaxed),
            keyframe_requests_in: KEYFRAME_REQUESTS_IN.load(Relaxed),
            keyframe_requests_out: KEYFRAME_REQUESTS_OUT.load(Relaxed),
            nacks_in: NACKS_IN.load(Relaxed),
            nacks_out: NACKS_OUT.load(Relaxed),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            udp_in_packets: self.udp_in_packets.saturating_sub(earlier.udp_in_packets),
            udp_in_bytes: self.udp_in_bytes.saturating_sub(earlier.udp_in_bytes),
            rtp_in_packets: self.rtp_in_packets.saturating_sub(earlier.rtp_in_packets),
            udp_out_packets: self.udp_out_packets.saturating_sub(earlier.udp_out_packets),
            udp_out_bytes: self.udp_out_bytes.saturating_sub(earlier.udp_out_bytes),
            rtp_out_packets: self.rtp_out_packets.saturating_sub(earlier.rtp_out_packets),
            rtp_out_bytes: self.rtp_out_bytes.saturating_sub(earlier.rtp_out_bytes),
            rtp_out_padded: self.rtp_out_padded.saturating_sub(earlier.rtp_out_padded),
            udp_send_failures: self
                .udp_send_failures
                .saturating_sub(earlier.udp_send_failures),
            keyframe_requests_in: self
                .keyframe_requests_in
                .saturating_sub(earlier.keyframe_requests_in),
            keyframe_requests_out: self
                .keyframe_requests_out
                .saturating_sub(earlier.keyframe_requests_out),
            nacks_in: self.nacks_in.saturating_sub(earlier.nacks_in),
            nacks_out: self.nacks_out.saturating_sub(earlier.nacks_out),
        }
    }
}

/// Whether a datagram is RTP: version 2, and not an RTCP packet type (192..=223).
fn is_rtp(bytes: &[u8]) -> bool {
    matches!(bytes, [first, second, ..] if first >> 6 == 2 && !(192..=223).contains(second))
}

/// Counts a keyframe request from a subscriber.
pub(crate) fn keyframe_request_in() {
    KEYFRAME_REQUESTS_IN.fetch_add(1, Relaxed);
}

/// Counts a keyframe request sent to a publisher.
pub(crate) fn keyframe_request_out() {
    KEYFRAME_REQUESTS_OUT.fetch_add(1, Relaxed);
}

/// Counts NACKs received from a subscriber.
pub(crate) fn nacks_in(n: u64) {
    if n > 0 {
        NACKS_IN.fetch_add(n, Relaxed);
    }
}

/// Counts NACKs sent to a publisher.
pub(crate) fn nacks_out(n: u64) {
    if n > 0 {
        NACKS_OUT.fetch_add(n, Relaxed);
    }
}

/// The last running total seen of each stream (mid and rid) of one peer, to turn
/// str0m's cumulative stats into increments. Grows by one entry per stream, at its
/// first stats event; nothing is allocated per packet.
#[derive(Debug, Default)]
pub(crate) struct StreamTotals {
    seen: Vec<(Mid, Option<Rid>, u64)>,
}

impl StreamTotals {
    /// Records `total` for the stream and returns how much it grew since the last
    /// one. A total below the last one is a new stream under the same mid and rid:
    /// all of it is new.
    pub(crate) fn advance(&mut self, mid: Mid, rid: Option<Rid>, total: u64) -> u64 {
        match self
            .seen
            .iter_mut()
            .find(|(m, r, _)| *m == mid && *r == rid)
        {
            Some((_, _, last)) => {
                let grew = if total >= *last { total - *last } else { total };
                *last = total;
                grew
            }
            None => {
                self.seen.push((mid, rid, total));
                total
            }
        }
    }
}

/// Counts one received datagram.
pub(crate) fn received(bytes: &[u8]) {
    UDP_IN_PACKETS.fetch_add(1, Relaxed);
    UDP_IN_BYTES.fetch_add(bytes.len() as u64, Relaxed);
    if is_rtp(bytes) {
        RTP_IN_PACKETS.fetch_add(1, Relaxed);
    }
}

/// Counts one datagram handed to the socket, or refused by it.
pub(crate) fn sent(bytes: &[u8], ok: bool) {
    if !ok {
        UDP_SEND_FAILURES.fetch_add(1, Relaxed);
        return;
    }
    UDP_OUT_PACKETS.fetch_add(1, Relaxed);
    UDP_OUT_BYTES.fetch_add(bytes.len() as u64, Relaxed);
    if is_rtp(bytes) {
        RTP_OUT_PACKETS.fetch_add(1, Relaxed);
        RTP_OUT_BYTES.fetch_add(bytes.len() as u64, Relaxed);
        if bytes[0] & 0x20 != 0 {
            RTP_OUT_PADDED.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{StreamTotals, is_rtp};
    use str0m::media::{Mid, Rid};

    #[test]
    fn running_totals_become_increments_per_stream() {
        let mut t = StreamTotals::default();
        let (m0, m1) = (Mid::from("0"), Mid::from("1"));
        let (q, f) = (Some(Rid::from("q")), Some(Rid::from("f")));
        assert_eq!(t.advance(m0, None, 3), 3);
        assert_eq!(t.advance(m0, None, 3), 0);
        assert_eq!(t.advance(m0, None, 7), 4);
        assert_eq!(t.advance(m1, q, 2), 2);
        assert_eq!(t.advance(m1, f, 5), 5);
        assert_eq!(t.advance(m1, q, 4), 2);
        // A new stream under the same mid restarts from zero.
        assert_eq!(t.advance(m0, None, 1), 1);
        assert_eq!(t.advance(m0, None, 2), 1);
    }

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 96])); // VP8, no marker
        assert!(is_rtp(&[0x90, 96 | 0x80])); // extension, marker
        assert!(!is_rtp(&[0x80, 200])); // sender report
        assert!(!is_rtp(&[0x81, 205])); // transport feedback
        assert!(!is_rtp(&[0x00, 0x01])); // STUN binding request
        assert!(!is_rtp(&[22, 0xfe])); // DTLS handshake
        assert!(!is_rtp(&[0x80]));
    }
}
