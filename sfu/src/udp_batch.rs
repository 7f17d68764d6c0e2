//! Batched UDP sends: the datagrams one input produced (a frame's fan-out to every
//! subscriber, each encrypted for its own connection) leave in one `sendmmsg(2)`
//! instead of one `sendto(2)` each, which is most of the media loop's system time.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use str0m::net::Protocol;

use crate::peer::Outgoing;

/// Most datagrams handed to one `sendmmsg` call (the kernel's UIO_MAXIOV is 1024).
const MAX_BATCH: usize = 512;

/// Reused `sendmmsg` arguments: after the first batches, sending allocates nothing.
#[derive(Default)]
pub(crate) struct UdpBatch {
    addrs: Vec<libc::sockaddr_storage>,
    lens: Vec<libc::socklen_t>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    /// The index in the caller's slice of each datagram of the batch.
    index: Vec<usize>,
}

// SAFETY: the raw pointers inside are only set and used within `send`, which fills
// them from its own arguments and clears nothing it does not own; between calls they
// point at nothing that is read.
unsafe impl Send for UdpBatch {}

impl UdpBatch {
    /// Sends the UDP datagrams of `packets` (the others are left to the caller) from
    /// `socket`, in order, in as few system calls as it can. A datagram the socket
    /// refuses (a full buffer: dropped, as the network would drop it) is skipped and
    /// the rest still go. Calls `sent(packet, ok)` once per UDP datagram.
    pub(crate) fn send(
        &mut self,
        socket: &impl AsRawFd,
        packets: &[Outgoing],
        mut sent: impl FnMut(&Outgoing, bool),
    ) {
        self.addrs.clear();
        self.lens.clear();
        self.iovs.clear();
        self.index.clear();
        for (i, packet) in packets.iter().enumerate() {
            if packet.proto != Protocol::Udp {
                continue;
            }
            let (addr, len) = sockaddr(packet.destination);
            self.addrs.push(addr);
            self.lens.push(len);
            self.iovs.push(libc::iovec {
                iov_base: packet.bytes.as_ptr() as *mut libc::c_void,
                iov_len: packet.bytes.len(),
            });
            self.index.push(i);
        }
        let total = self.index.len();
        self.msgs.clear();
        for i in 0..total {
            // SAFETY: an all-zero mmsghdr is a valid empty message.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = self.lens[i];
            m.msg_hdr.msg_iov = &mut self.iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        let fd = socket.as_raw_fd();
        let mut done = 0usize;
        while done < total {
            let count = (total - done).min(MAX_BATCH);
            // SAFETY: msgs[done..done + count] point into addrs and iovs, which live
            // and stay unmoved until this call returns, and the iovecs point into the
            // caller's datagrams, borrowed for the whole call.
            let r = unsafe {
                libc::sendmmsg(fd, self.msgs[done..].as_mut_ptr(), count as libc::c_uint, 0)
            };
            match usize::try_from(r) {
                Ok(n) if n > 0 => {
                    for &i in &self.index[done..done + n] {
                        sent(&packets[i], true);
                    }
                    done += n;
                }
                _ => {
                    // The first of the rest was refused (EAGAIN: the socket buffer is
                    // full; or an unroutable address): drop it, go on with the others.
                    let error = io::Error::last_os_error();
                    tracing::debug!(%error, "UDP send failed");
                    sent(&packets[self.index[done]], false);
                    done += 1;
                }
            }
        }
    }
}

/// `addr` as a `sockaddr_storage` and the length of the part that matters.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid (AF_UNSPEC).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                std::ptr::write(
                    (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>(),
                    sin,
                );
            }
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>(),
                    sin6,
                );
            }
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use super::*;

    fn udp(destination: SocketAddr, bytes: &[u8]) -> Outgoing {
        Outgoing {
            proto: Protocol::Udp,
            destination,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn every_datagram_arrives_in_order_with_its_own_bytes() -> io::Result<()> {
        let from = UdpSocket::bind("127.0.0.1:0")?;
        let to_a = UdpSocket::bind("127.0.0.1:0")?;
        let to_b = UdpSocket::bind("127.0.0.1:0")?;
        for s in [&to_a, &to_b] {
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
        }
        let (a, b) = (to_a.local_addr()?, to_b.local_addr()?);
        let mut packets: Vec<Outgoing> = (0..5u8)
            .map(|i| {
                udp(
                    if i % 2 == 0 { a } else { b },
                    &vec![i; 100 + usize::from(i)],
                )
            })
            .collect();
        // An ICE-TCP packet in the middle is not the batch's.
        packets.insert(
            2,
            Outgoing {
                proto: Protocol::Tcp,
                destination: a,
                bytes: b"tcp".to_vec(),
            },
        );
        let mut batch = UdpBatch::default();
        let mut outcomes = Vec::new();
        batch.send(&from, &packets, |p, ok| outcomes.push((p.bytes[0], ok)));
        assert_eq!(outcomes, (0..5).map(|i| (i, true)).collect::<Vec<_>>());
        let mut buf = [0u8; 256];
        for (i, socket) in [(0, &to_a), (2, &to_a), (4, &to_a), (1, &to_b), (3, &to_b)] {
            let n = socket.recv(&mut buf)?;
            assert_eq!(&buf[..n], vec![i as u8; 100 + i].as_slice());
        }
        // A second batch reuses the buffers.
        batch.send(&from, &[udp(b, b"again")], |_, ok| assert!(ok));
        let n = to_b.recv(&mut buf)?;
        assert_eq!(&buf[..n], b"again");
        Ok(())
    }

    #[test]
    fn a_refused_datagram_is_skipped_and_the_rest_go() -> io::Result<()> {
        let from = UdpSocket::bind("127.0.0.1:0")?;
        let to = UdpSocket::bind("127.0.0.1:0")?;
        to.set_read_timeout(Some(Duration::from_secs(2)))?;
        // An IPv6 destination from an IPv4 socket is refused.
        let v6: SocketAddr = "[::1]:9".parse().map_err(io::Error::other)?;
        let packets = [
            udp(to.local_addr()?, b"one"),
            udp(v6, b"refused"),
            udp(to.local_addr()?, b"two"),
        ];
        let mut outcomes = Vec::new();
        UdpBatch::default().send(&from, &packets, |p, ok| {
            outcomes.push((p.bytes.clone(), ok))
        });
        assert_eq!(
            outcomes,
            vec![
                (b"one".to_vec(), true),
                (b"refused".to_vec(), false),
                (b"two".to_vec(), true)
            ]
        );
        let mut buf = [0u8; 16];
        let n = to.recv(&mut buf)?;
        assert_eq!(&buf[..n], b"one");
        let n = to.recv(&mut buf)?;
        assert_eq!(&buf[..n], b"two");
        Ok(())
    }
}
