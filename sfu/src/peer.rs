//! One str0m peer, fenced: every call into it runs under `catch_unwind`, so a panic
//! or an error closes this peer only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use str0m::{Event, IceConnectionState, Input, Output, PacerReason, Reason, Rtc};
use tracing::{debug, warn};

use crate::api::PeerRole;
use crate::outbox::Outbox;
use crate::traffic::{self, StreamTotals};

/// A packet to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// UDP or TCP.
    pub proto: Protocol,
    /// Where to.
    pub destination: std::net::SocketAddr,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Timeouts [`Peer::poll_event`] feeds back at once, at most, before leaving the rest
/// to the loop's timer: more than the packets one subscriber is sent from one batch of
/// input. str0m's pacer lets one packet out per timeout input, then asks for another
/// timeout a microsecond later; left to the loop's timer (millisecond resolution),
/// each further packet would leave a turn, and up to a millisecond, later.
const IMMEDIATE_TIMEOUTS: u32 = 64;

/// How long ICE may stay disconnected before the peer is given up.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer connection and its health.
pub struct Peer {
    rtc: Rtc,
    /// Which of the participant's two connections this is.
    pub role: PeerRole,
    /// Why it closed, once closed.
    closed: Option<String>,
    /// When str0m next wants a timeout input.
    pub next_timeout: Instant,
    /// Since when ICE has been disconnected.
    disconnected_since: Option<Instant>,
    /// Whether the closing has been reported to the control plane.
    close_reported: bool,
    /// NACKs sent so far on each stream this peer receives (a publisher).
    nacks_sent: StreamTotals,
    /// NACKs received so far on each stream this peer sends (a subscriber).
    nacks_received: StreamTotals,
    /// Something was done to the `Rtc` since it last said it was idle: it may have
    /// output. Polling only such peers spares the room a `poll_output` of every peer
    /// after every input (str0m recomputes its timeouts on each).
    dirty: bool,
    /// Packets were written since the last timeout input. str0m moves written packets
    /// to its send queue on a timeout input, so one comes before the next poll; one
    /// per batch of writes rather than one loop turn per write.
    written: bool,
    /// Packets written since the last poll and not yet out (any datagram out counts,
    /// so this errs low): while some are, the pacer's next timeout is given at once.
    unsent: u32,
}

impl Peer {
    /// Wraps a freshly built `Rtc`.
    pub fn new(rtc: Rtc, role: PeerRole, now: Instant) -> Self {
        Self {
            rtc,
            role,
            closed: None,
            next_timeout: now,
            disconnected_since: None,
            close_reported: false,
            nacks_sent: StreamTotals::default(),
            nacks_received: StreamTotals::default(),
            dirty: true,
            written: false,
            unsent: 0,
        }
    }

    /// `Some(reason)` once the peer is closed.
    pub fn closed(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// The reason the peer closed, the first time it is asked after closing; then `None`.
    pub fn take_close_report(&mut self) -> Option<String> {
        if self.close_reported {
            return None;
        }
        let reason = self.closed.clone()?;
        self.close_reported = true;
        Some(reason)
    }

    /// Closes the peer with a reason (kept for the control plane).
    pub fn close(&mut self, reason: impl Into<String>) {
        if self.closed.is_none() {
            let reason = reason.into();
            debug!(role = ?self.role, %reason, "closing peer");
            self.closed = Some(reason);
            let rtc = &mut self.rtc;
            let _ = catch_unwind(AssertUnwindSafe(|| rtc.disconnect()));
        }
    }

    /// Runs `f` on the `Rtc`; a panic closes the peer and yields `None`. The peer may
    /// have output afterwards.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Rtc) -> R) -> Option<R> {
        self.dirty = true;
        self.call(f)
    }

    /// [`Peer::with`] for lookups that leave nothing to poll.
    pub fn peek<R>(&mut self, f: impl FnOnce(&mut Rtc) -> R) -> Option<R> {
        self.call(f)
    }

    /// [`Peer::with`] for calls that change nothing (reading state, polling).
    fn call<R>(&mut self, f: impl FnOnce(&mut Rtc) -> R) -> Option<R> {
        if self.closed.is_some() {
            return None;
        }
        let rtc = &mut self.rtc;
        match catch_unwind(AssertUnwindSafe(|| f(rtc))) {
            Ok(r) => Some(r),
            Err(_) => {
                warn!(role = ?self.role, "peer panicked; closing it");
                self.close("internal fault in the peer");
                None
            }
        }
    }

    /// Whether this peer owns `input` (by ICE credentials or address).
    pub fn accepts(&mut self, input: &Input) -> bool {
        self.call(|rtc| rtc.accepts(input)).unwrap_or(false)
    }

    /// Notes that packets were written to the `Rtc` (see `written`).
    pub fn mark_written(&mut self) {
        self.written = true;
        self.unsent = self.unsent.saturating_add(1);
        self.dirty = true;
    }

    /// Feeds one input; an error closes the peer.
    pub fn handle_input(&mut self, input: Input) {
        // Every input advances str0m's clock, which is what queues written packets.
        self.written = false;
        if let Some(Err(e)) = self.with(|rtc| rtc.handle_input(input)) {
            self.close(format!("input refused: {e}"));
        }
    }

    /// Polls until the next event, queueing packets to send. `None` when idle
    /// (the next timeout is recorded) or closed.
    pub fn poll_event(&mut self, out: &mut Outbox, now: Instant) -> Option<Event> {
        if !self.dirty {
            return None;
        }
        if std::mem::take(&mut self.written) {
            self.handle_input(Input::Timeout(now));
        }
        let mut due_now = IMMEDIATE_TIMEOUTS;
        loop {
            let output = match self.call(|rtc| rtc.poll_output()) {
                Some(Ok(output)) => output,
                Some(Err(e)) => {
                    self.close(format!("output failed: {e}"));
                    return None;
                }
                None => return None,
            };
            match output {
                Output::Transmit(t) => {
                    self.unsent = self.unsent.saturating_sub(1);
                    out.push(t.proto, t.destination, &t.contents);
                }
                // After sending, str0m's pacer asks for a timeout (a microsecond on)
                // before it lets the next packet out: given here, at the same
                // instant, while written packets wait. The one after the last is
                // left to the loop, where a later write can serve it (serving it here
                // too cost more CPU on average in busy rooms: docs/benchmarks.md).
                Output::Timeout(t)
                    if due_now > 0
                        && (t <= now || (self.unsent > 0 && self.pacer_wants_more())) =>
                {
                    due_now -= 1;
                    self.handle_input(Input::Timeout(now));
                }
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    self.dirty = false;
                    self.unsent = 0;
                    return None;
                }
                Output::Event(event) => {
                    self.track_health(&event, now);
                    self.count_stats(&event);
                    return Some(event);
                }
            }
        }
    }

    /// Whether the timeout str0m just asked for is its pacer's request to let the next
    /// packet out.
    fn pacer_wants_more(&mut self) -> bool {
        self.call(|rtc| rtc.last_timeout_reason() == Reason::Pacer(PacerReason::Immediate))
            .unwrap_or(false)
    }

    fn track_health(&mut self, event: &Event, now: Instant) {
        match event {
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.disconnected_since.get_or_insert(now);
            }
            Event::IceConnectionStateChange(_) => self.disconnected_since = None,
            Event::Closed => self.close("closed by the remote side"),
            _ => {}
        }
    }

    /// Adds a stats event's new NACKs to the process-wide counters.
    fn count_stats(&mut self, event: &Event) {
        match event {
            Event::MediaIngressStats(s) => {
                traffic::nacks_out(self.nacks_sent.advance(s.mid, s.rid, s.nacks));
            }
            Event::MediaEgressStats(s) => {
                traffic::nacks_in(self.nacks_received.advance(s.mid, s.rid, s.nacks));
            }
            _ => {}
        }
    }

    /// Gives up a peer that stayed disconnected too long or that str0m considers dead.
    pub fn check_alive(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if let Some(since) = self.disconnected_since
            && now.saturating_duration_since(since) >= DISCONNECT_TIMEOUT
        {
            self.close("connection lost");
            return;
        }
        if self.call(|rtc| rtc.is_alive()) == Some(false) {
            self.close("connection ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use str0m::format::Codec;
    use str0m::media::{Direction, MediaKind, Mid, Pt};
    use str0m::net::Receive;
    use str0m::rtp::{RtpWrite, SeqNo};
    use str0m::{Candidate, Rtc};

    use super::*;
    use crate::core::Core;

    fn addr(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], port))
    }

    /// Moves one side's output to the other; returns that side's next timeout.
    fn relay(from: &mut Rtc, from_addr: SocketAddr, to: &mut Rtc, now: Instant) -> Instant {
        loop {
            match from.poll_output().expect("poll") {
                Output::Transmit(t) => {
                    let bytes: &[u8] = &t.contents;
                    let contents = bytes.try_into().expect("datagram");
                    let input = Input::Receive(
                        now,
                        Receive {
                            proto: Protocol::Udp,
                            source: from_addr,
                            destination: t.destination,
                            contents,
                        },
                    );
                    to.handle_input(input).expect("input");
                }
                Output::Timeout(t) => return t,
                Output::Event(_) => {}
            }
        }
    }

    /// A subscriber peer exactly as the core builds it, offering one video m-line to
    /// a client, connected in memory on a virtual clock.
    fn connected_pair(now: &mut Instant) -> (Peer, Rtc, Mid, Pt) {
        let (sfu_addr, client_addr) = (addr(1, 5000), addr(2, 6000));
        let candidate = Candidate::host(sfu_addr, "udp").expect("candidate");
        let mut peer = Core::new(vec![candidate], false, *now).new_peer(PeerRole::Subscriber, *now);
        let sfu = &mut peer.rtc;
        let mut client = Rtc::builder().build(*now);
        client.add_local_candidate(Candidate::host(client_addr, "udp").expect("candidate"));
        let mut api = sfu.sdp_api();
        let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().expect("offer");
        let answer = client.sdp_api().accept_offer(offer).expect("answer");
        sfu.sdp_api()
            .accept_answer(pending, answer)
            .expect("accept answer");
        for _ in 0..1_000 {
            if sfu.is_connected() && client.is_connected() {
                break;
            }
            let a = relay(sfu, sfu_addr, &mut client, *now);
            let b = relay(&mut client, client_addr, sfu, *now);
            *now = a.min(b).max(*now + Duration::from_millis(1));
            sfu.handle_input(Input::Timeout(*now)).expect("timeout");
            client.handle_input(Input::Timeout(*now)).expect("timeout");
        }
        assert!(sfu.is_connected() && client.is_connected(), "connected");
        let pt = sfu
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
            .expect("vp8");
        (peer, client, mid, pt)
    }

    fn is_rtp(bytes: &[u8]) -> bool {
        matches!(bytes, [first, second, ..] if first >> 6 == 2 && !(192..=223).contains(second))
    }

    #[test]
    fn packets_written_in_one_batch_leave_in_one_poll() {
        let mut now = Instant::now();
        let (mut peer, _client, mid, pt) = connected_pair(&mut now);
        let mut out = Outbox::default();
        while peer.poll_event(&mut out, now).is_some() {}
        out.recycle();

        // Five packets of one frame, forwarded in one batch at one instant.
        const PACKETS: u16 = 5;
        for n in 0..PACKETS {
            let written = peer.with(|rtc| {
                let mut api = rtc.direct_api();
                let stream = api.stream_tx_by_mid(mid, None).expect("send stream");
                stream.set_unpaced(true);
                let payload: std::sync::Arc<[u8]> = vec![0x10, 0, 0, 0x9d, 1, 0x2a].into();
                let write = RtpWrite::new(pt, SeqNo::from(100 + u64::from(n)), 9_000, now, payload)
                    .marker(n + 1 == PACKETS);
                stream.write_rtp(write);
            });
            assert!(written.is_some());
            peer.mark_written();
        }
        while peer.poll_event(&mut out, now).is_some() {}
        let rtp = out.packets().iter().filter(|p| is_rtp(&p.bytes)).count();
        // str0m's pacer lets one packet out per timeout input; the peer gives it
        // those inputs at the same instant instead of leaving one packet per turn
        // of the media loop.
        assert!(
            rtp >= usize::from(PACKETS),
            "{rtp} of {PACKETS} packets left in the poll"
        );
        assert!(peer.closed().is_none());
    }
}
