//! One str0m peer, fenced: every call into it runs under `catch_unwind`, so a panic
//! or an error closes this peer only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
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

/// Timeouts already due that [`Peer::poll_event`] feeds back at once, at most, before
/// leaving the rest to the loop's timer.
const IMMEDIATE_TIMEOUTS: u32 = 2;

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
                Output::Transmit(t) => out.push(t.proto, t.destination, &t.contents),
                // After sending, str0m's pacer asks for a timeout at once to take
                // stock; giving it here spares the loop a turn for it.
                Output::Timeout(t) if t <= now && due_now > 0 => {
                    due_now -= 1;
                    self.handle_input(Input::Timeout(now));
                }
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    self.dirty = false;
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
