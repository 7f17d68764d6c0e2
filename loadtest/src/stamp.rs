//! Kernel receive timestamps (`SO_TIMESTAMPNS`) for the synthetic peers' sockets.
//!
//! The SFU's bandwidth estimator reads the arrival times subscribers report (TWCC).
//! Taken when a busy peer task gets round to reading a datagram, they would carry the
//! load generator's own scheduling delays and look like network congestion; the
//! kernel's time of arrival does not.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Asks the kernel to timestamp every datagram received on `socket`.
pub fn enable(socket: &UdpSocket) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket and a pointer to an int of the size given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one datagram without waiting: its length, source and arrival time
/// (now, when the kernel gave no timestamp). `WouldBlock` when none is queued.
pub fn try_recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Instant)> {
    socket.try_io(Interest::READABLE, || recvmsg(socket.as_raw_fd(), buf))
}

/// Waits for one datagram; see [`try_recv`].
pub async fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Instant)> {
    loop {
        socket.readable().await?;
        match try_recv(socket, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

fn recvmsg(fd: i32, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Instant)> {
    // SAFETY: all-zero sockaddr_in and msghdr are valid values.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 words keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut arrival = now;
    // SAFETY: the CMSG macros walk the control buffer recvmsg filled in, within
    // msg_controllen; the timestamp is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let t: libc::timespec =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                let stamp = UNIX_EPOCH
                    + Duration::new(
                        t.tv_sec.max(0) as u64,
                        t.tv_nsec.clamp(0, 999_999_999) as u32,
                    );
                if let Ok(age) = wall.duration_since(stamp) {
                    arrival = now.checked_sub(age).unwrap_or(now);
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if i32::from(addr.sin_family) != libc::AF_INET {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not IPv4"));
    }
    let source = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
        u16::from_be(addr.sin_port),
    ));
    Ok((n as usize, source, arrival))
}
