//! The physical floor: a bare UDP relay that receives a datagram on one socket and
//! sends the same bytes to every destination listed for its source, on a thread of
//! its own, fed with the same streams the SFU forwarded (the same encoded frames cut
//! into RTP-sized packets at the same pace, each publisher's audio to all of its
//! subscribers and each video layer to the subscribers that received that layer).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::client::{Shared, lock};
use crate::media::{AUDIO_INTERVAL, FRAME_INTERVAL};
use crate::sys::ThreadId;

/// Largest RTP payload per packet, as str0m packetizes (MTU 1150 minus headers).
const MAX_PAYLOAD: usize = 1_100;
/// RTP header plus the header extensions and SRTP tag the SFU's packets carry.
const OVERHEAD: usize = 12 + 20 + 10;
/// Payload type of the relayed audio (the receivers tell audio from video by it).
const PT_AUDIO: u8 = 111;
/// Payload type of the relayed video.
const PT_VIDEO: u8 = 96;
/// Where the send-time tag sits in a relayed packet.
const TAG_AT: usize = 12;

/// Packets the relay received and sent.
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// Datagrams received.
    pub packets_in: AtomicU64,
    /// Datagrams sent.
    pub packets_out: AtomicU64,
    /// Bytes sent.
    pub bytes_out: AtomicU64,
    /// Sends the socket refused.
    pub send_failures: AtomicU64,
}

/// The bare relay, running.
pub struct Relay {
    /// Its socket address.
    pub addr: SocketAddr,
    /// Its thread, for its CPU time.
    pub tid: ThreadId,
    /// Its counters.
    pub counters: Arc<RelayCounters>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How the relay sends: one `sendto` per datagram, or one `sendmmsg` per received
/// datagram for all its destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    /// `sendto` per destination.
    SendTo,
    /// `sendmmsg` for the whole fan-out of a datagram.
    SendMmsg,
}

impl Relay {
    /// Binds 127.0.0.1 and starts forwarding per `routes` (source → destinations).
    pub fn start(
        routes: HashMap<SocketAddr, Vec<SocketAddr>>,
        mode: SendMode,
    ) -> anyhow::Result<Self> {
        let socket = StdUdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let addr = socket.local_addr()?;
        let counters = Arc::new(RelayCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let thread = {
            let counters = counters.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("bare-relay".into())
                .spawn(move || {
                    let _ = tid_tx.send(ThreadId::current());
                    relay_loop(&socket, &routes, &counters, &stop, mode);
                })?
        };
        let tid = tid_rx.recv()??;
        Ok(Self {
            addr,
            tid,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the relay thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn relay_loop(
    socket: &StdUdpSocket,
    routes: &HashMap<SocketAddr, Vec<SocketAddr>>,
    counters: &RelayCounters,
    stop: &AtomicBool,
    mode: SendMode,
) {
    let mut buf = [0u8; 2048];
    let mut batch = MmsgBatch::default();
    while !stop.load(Relaxed) {
        let Ok((n, source)) = socket.recv_from(&mut buf) else {
            continue;
        };
        counters.packets_in.fetch_add(1, Relaxed);
        let Some(destinations) = routes.get(&source) else {
            continue;
        };
        let bytes = &buf[..n];
        let (sent, failed) = match mode {
            SendMode::SendTo => {
                let mut sent = 0;
                for d in destinations {
                    if socket.send_to(bytes, d).is_ok() {
                        sent += 1;
                    }
                }
                (sent, destinations.len() as u64 - sent)
            }
            SendMode::SendMmsg => batch.send(socket, bytes, destinations),
        };
        counters.packets_out.fetch_add(sent, Relaxed);
        counters.bytes_out.fetch_add(sent * n as u64, Relaxed);
        counters.send_failures.fetch_add(failed, Relaxed);
    }
}

/// Reused `sendmmsg` arguments: one message per destination, all on the same bytes.
#[derive(Default)]
struct MmsgBatch {
    addrs: Vec<libc::sockaddr_in>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl MmsgBatch {
    /// Sends `bytes` to every destination; returns (sent, failed).
    fn send(
        &mut self,
        socket: &StdUdpSocket,
        bytes: &[u8],
        destinations: &[SocketAddr],
    ) -> (u64, u64) {
        use std::os::fd::AsRawFd;
        self.addrs.clear();
        for d in destinations {
            let SocketAddr::V4(v4) = d else { continue };
            self.addrs.push(libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            });
        }
        let n = self.addrs.len();
        self.iovs.clear();
        self.iovs.resize(
            n,
            libc::iovec {
                iov_base: bytes.as_ptr() as *mut libc::c_void,
                iov_len: bytes.len(),
            },
        );
        self.msgs.clear();
        for i in 0..n {
            // SAFETY: an all-zero mmsghdr is a valid empty message.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_in).cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut self.iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        let mut done = 0usize;
        while done < n {
            // SAFETY: msgs[done..] point into addrs and iovs, which live and stay
            // unmoved until this call returns; bytes outlives the call.
            let r = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    self.msgs[done..].as_mut_ptr(),
                    (n - done) as libc::c_uint,
                    0,
                )
            };
            if r <= 0 {
                break;
            }
            done += r as usize;
        }
        (done as u64, (destinations.len() - done) as u64)
    }
}

/// One stream fed to the relay: a publisher's audio, or one of its video layers.
pub struct FeedStream {
    /// The socket it is sent from (the relay routes by it).
    pub socket: StdUdpSocket,
    /// `None` for audio, else the layer index (0 = q, 1 = h, 2 = f).
    pub layer: Option<usize>,
}

/// Binds the sockets of one publisher's four streams (audio, q, h, f).
pub fn feed_sockets() -> anyhow::Result<Vec<FeedStream>> {
    [None, Some(0), Some(1), Some(2)]
        .into_iter()
        .map(|layer| {
            Ok(FeedStream {
                socket: StdUdpSocket::bind("127.0.0.1:0")?,
                layer,
            })
        })
        .collect()
}

/// Sends one publisher's streams to the relay at the media's pace until `stop`.
pub async fn feed(
    streams: Vec<FeedStream>,
    relay: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // Plain non-blocking sends (see `client::Conn::sender`).
    let mut sockets = Vec::new();
    for s in streams {
        s.socket.set_nonblocking(true)?;
        sockets.push((s.socket, s.layer));
    }
    let mut audio_tick = tokio::time::interval(AUDIO_INTERVAL);
    let mut video_tick = tokio::time::interval(FRAME_INTERVAL);
    audio_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    video_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut audio_index, mut video_index) = (0usize, 0usize);
    let mut seq = [0u16; 4];
    let mut packet = Vec::with_capacity(1_500);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return Ok(());
                }
            }
            _ = audio_tick.tick() => {
                let media = &shared.media.audio;
                let frame = &media[audio_index % media.len()];
                audio_index += 1;
                if let Some((socket, _)) = sockets.iter().find(|(_, l)| l.is_none()) {
                    build(&mut packet, PT_AUDIO, &mut seq[0], frame, &shared);
                    let _ = socket.send_to(&packet, relay);
                }
            }
            _ = video_tick.tick() => {
                for (socket, layer) in &sockets {
                    let Some(l) = *layer else { continue };
                    let frames = &shared.media.layers[l];
                    let frame = &frames[video_index % frames.len()].data;
                    for chunk in frame.chunks(MAX_PAYLOAD) {
                        build(&mut packet, PT_VIDEO, &mut seq[l + 1], chunk, &shared);
                        let _ = socket.send_to(&packet, relay);
                    }
                }
                video_index += 1;
            }
        }
    }
}

/// An RTP-shaped packet: version 2, `pt`, a sequence number, the send-time tag, the
/// payload, and padding to the size the SFU's SRTP packets have.
fn build(packet: &mut Vec<u8>, pt: u8, seq: &mut u16, payload: &[u8], shared: &Shared) {
    packet.clear();
    packet.extend_from_slice(&[0x80, pt]);
    packet.extend_from_slice(&seq.to_be_bytes());
    *seq = seq.wrapping_add(1);
    packet.extend_from_slice(&[0; 8]); // timestamp and SSRC: unused
    let tag = Instant::now()
        .saturating_duration_since(shared.epoch)
        .as_nanos() as u64;
    packet.extend_from_slice(&tag.to_le_bytes());
    packet.extend_from_slice(payload);
    packet.resize(packet.len() + OVERHEAD - 12, 0);
}

/// What the relay's receivers counted.
#[derive(Debug, Default)]
pub struct DrainCounters {
    /// Datagrams received.
    pub packets: AtomicU64,
}

/// Reads one subscriber's datagrams from the relay until `stop`; records the delay
/// of audio packets while the run measures.
pub async fn drain(
    socket: StdUdpSocket,
    counters: Arc<DrainCounters>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    socket.set_nonblocking(true)?;
    let socket = UdpSocket::from_std(socket)?;
    let mut buf = [0u8; 2048];
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return Ok(());
                }
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, _)) = r else { continue };
                counters.packets.fetch_add(1, Relaxed);
                let p = &buf[..n];
                if p.len() >= TAG_AT + 8 && p[1] == PT_AUDIO && shared.measuring.load(Relaxed) {
                    let mut tag = [0u8; 8];
                    tag.copy_from_slice(&p[TAG_AT..TAG_AT + 8]);
                    let sent = u64::from_le_bytes(tag);
                    let now = Instant::now().saturating_duration_since(shared.epoch).as_nanos() as u64;
                    let delay = (now.saturating_sub(sent) / 1_000).min(u64::from(u32::MAX)) as u32;
                    lock(&shared.delays).audio.push(delay);
                }
            }
        }
    }
}
