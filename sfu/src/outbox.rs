//! The datagrams a turn of the media loop produced, in buffers that are used again:
//! once sent, a datagram's buffer goes back to a free list, so that steady forwarding
//! copies each packet into memory it already has instead of allocating.

use std::net::SocketAddr;

use str0m::net::Protocol;

use crate::peer::Outgoing;

/// Buffers kept for reuse at most (a burst larger than this allocates the rest).
const MAX_FREE: usize = 4096;

/// Outgoing datagrams and the free buffers they are copied into.
#[derive(Debug, Default)]
pub struct Outbox {
    packets: Vec<Outgoing>,
    free: Vec<Vec<u8>>,
}

impl Outbox {
    /// Queues a copy of `contents` for `destination`.
    pub fn push(&mut self, proto: Protocol, destination: SocketAddr, contents: &[u8]) {
        let mut bytes = self.free.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(contents);
        self.packets.push(Outgoing {
            proto,
            destination,
            bytes,
        });
    }

    /// The queued datagrams, in order.
    pub fn packets(&self) -> &[Outgoing] {
        &self.packets
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Empties the queue, keeping the buffers for the next datagrams.
    pub fn recycle(&mut self) {
        for packet in self.packets.drain(..) {
            if self.free.len() < MAX_FREE {
                self.free.push(packet.bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_used_again_and_contents_never_leak_between_datagrams() {
        let to: SocketAddr = "127.0.0.1:9".parse().expect("address");
        let mut out = Outbox::default();
        out.push(Protocol::Udp, to, &[1, 2, 3, 4, 5]);
        out.push(Protocol::Tcp, to, &[6]);
        assert_eq!(out.packets().len(), 2);
        let first = out.packets()[0].bytes.as_ptr();
        out.recycle();
        assert!(out.is_empty());
        out.push(Protocol::Udp, to, &[9, 9]);
        out.push(Protocol::Udp, to, &[7, 7, 7]);
        // The most recently freed buffer is taken first; both came from the pool.
        let reused: Vec<_> = out.packets().iter().map(|p| p.bytes.as_ptr()).collect();
        assert!(reused.contains(&first));
        assert_eq!(out.packets()[0].bytes, vec![9, 9]);
        assert_eq!(out.packets()[1].bytes, vec![7, 7, 7]);
    }
}
