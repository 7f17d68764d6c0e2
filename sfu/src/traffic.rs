//! Process-wide traffic counters of the media loop, for measurement (`seduta loadtest`,
//! benchmarks) and the Prometheus metrics. Relaxed atomic additions on the UDP path;
//! nothing reads them in the SFU itself. ICE-TCP traffic is not counted.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    use super::is_rtp;

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
