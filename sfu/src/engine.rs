//! The I/O shell around [`Core`]: sockets, the command channel and the clock.
//! Everything it does is read a packet, a command or the time, hand it to the core,
//! then send what the core produced.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use str0m::Candidate;
use str0m::net::{Protocol, TcpType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::api::{SfuConfig, SfuEvent};
use crate::core::Core;
use crate::error::SfuError;
use crate::handle::Command;
use crate::outbox::Outbox;
use crate::tcp::{Deframer, frame};
use crate::udp_batch::UdpBatch;

/// Packets queued toward one ICE-TCP connection before it counts as stuck.
const TCP_QUEUE: usize = 256;

/// Datagrams read in one go once the socket woke the loop, before what they produced
/// is sent: under load the fan-outs of several inputs leave in one batch.
const READ_BATCH: usize = 32;

/// The receive buffer asked of the kernel for the shared UDP socket: a few thousand
/// datagrams (the kernel counts each with its overhead), a fraction of a second of a
/// busy node's input, so that the loop being off the CPU for a moment (a busy host, a
/// burst of keyframes) delays datagrams instead of dropping them. The kernel caps it
/// at `net.core.rmem_max`.
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// What TCP connection tasks report to the loop.
enum TcpEvent {
    Opened(SocketAddr, mpsc::Sender<Vec<u8>>),
    Packet(SocketAddr, SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

type Spawned = (
    mpsc::UnboundedSender<Command>,
    mpsc::UnboundedReceiver<SfuEvent>,
    SocketAddr,
    Option<SocketAddr>,
);

/// Binds the sockets and spawns the media loop.
pub async fn spawn(config: SfuConfig) -> Result<Spawned, SfuError> {
    install_crypto();
    let udp = UdpSocket::bind(config.udp_bind).await?;
    size_receive_buffer(&udp);
    let udp_addr = udp.local_addr()?;
    let tcp = match config.tcp_bind {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    let tcp_addr = tcp.as_ref().map(TcpListener::local_addr).transpose()?;

    let ips = advertised_ips(&config, udp_addr.ip());
    let mut candidates = Vec::new();
    for ip in &ips {
        match Candidate::host(SocketAddr::new(*ip, udp_addr.port()), "udp") {
            Ok(c) => candidates.push(c),
            Err(e) => warn!(error = %e, "unusable UDP candidate"),
        }
        if let Some(tcp_addr) = tcp_addr {
            let addr = SocketAddr::new(*ip, tcp_addr.port());
            match Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Passive)
                .build()
            {
                Ok(c) => candidates.push(c),
                Err(e) => warn!(error = %e, "unusable TCP candidate"),
            }
        }
    }
    info!(
        udp_port = udp_addr.port(),
        tcp_port = tcp_addr.map(|a| a.port()),
        candidates = candidates.len(),
        "media plane listening"
    );

    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (tcp_tx, tcp_rx) = mpsc::channel(1024);
    if let Some(listener) = tcp {
        tokio::spawn(accept_tcp(listener, tcp_tx));
    }
    let core = Core::new(candidates, config.enable_h264, Instant::now());
    tokio::spawn(run(core, udp, cmd_rx, ev_tx, tcp_rx));
    Ok((cmd_tx, ev_rx, udp_addr, tcp_addr))
}

fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        str0m::crypto::from_feature_flags().install_process_default();
    });
}

/// The addresses to put in candidates.
fn advertised_ips(config: &SfuConfig, bound: IpAddr) -> Vec<IpAddr> {
    if !config.advertised_ips.is_empty() {
        return config.advertised_ips.clone();
    }
    if !bound.is_unspecified() {
        return vec![bound];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| {
            ifs.into_iter()
                .map(|i| i.ip())
                .filter(|ip| ip.is_ipv4() && (!ip.is_loopback() || bound.is_unspecified()))
                .collect()
        })
        .unwrap_or_default();
    // Loopback last: browsers on another machine never use it.
    ips.sort_by_key(|ip| ip.is_loopback());
    ips.dedup();
    if ips.is_empty() {
        ips.push(IpAddr::from([127, 0, 0, 1]));
    }
    ips
}

async fn run(
    mut core: Core,
    udp: UdpSocket,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SfuEvent>,
    mut tcp_events: mpsc::Receiver<TcpEvent>,
) {
    let local = udp.local_addr().ok();
    let mut buf = vec![0u8; 2048];
    let mut tcp_conns: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut batch = UdpBatch::default();
    loop {
        let deadline = tokio::time::Instant::from_std(core.next_timeout());
        tokio::select! {
            received = udp.recv_from(&mut buf) => match received {
                Ok((n, source)) => {
                    crate::traffic::received(&buf[..n]);
                    let destination = local.unwrap_or(source);
                    core.handle_receive(Protocol::Udp, source, destination, &buf[..n], Instant::now());
                    // Whatever else is already waiting, without going back to select!.
                    for _ in 1..READ_BATCH {
                        let Ok((n, source)) = udp.try_recv_from(&mut buf) else {
                            break;
                        };
                        crate::traffic::received(&buf[..n]);
                        let destination = local.unwrap_or(source);
                        core.handle_receive(Protocol::Udp, source, destination, &buf[..n], Instant::now());
                    }
                    // Each subscriber sends what the whole batch forwarded to it at once.
                    // (Holding a batch open for more inputs was tried: a millisecond of
                    // bursts made the subscribers' delay-based estimates collapse.)
                    core.flush(Instant::now());
                }
                Err(e) => debug!(error = %e, "UDP receive failed"),
            },
            command = commands.recv() => match command {
                Some(command) => core.handle_command(command, Instant::now()),
                None => break,
            },
            Some(event) = tcp_events.recv() => match event {
                TcpEvent::Opened(remote, writer) => {
                    tcp_conns.insert(remote, writer);
                }
                TcpEvent::Packet(remote, local, bytes) => {
                    core.handle_receive(Protocol::Tcp, remote, local, &bytes, Instant::now());
                    core.flush(Instant::now());
                }
                TcpEvent::Closed(remote) => {
                    tcp_conns.remove(&remote);
                }
            },
            () = tokio::time::sleep_until(deadline) => core.handle_timeout(Instant::now()),
        }
        send(&udp, &tcp_conns, &mut batch, &mut core.out);
        for event in core.events.drain(..) {
            if events.send(event).is_err() {
                // No one listens any more: the control plane is gone.
                return;
            }
        }
    }
}

/// Asks for [`UDP_RECEIVE_BUFFER`]; says once, at start, when the kernel gives less.
fn size_receive_buffer(udp: &UdpSocket) {
    let socket = socket2::SockRef::from(udp);
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        warn!(error = %e, "could not size the UDP receive buffer");
        return;
    }
    // Linux reports twice what it grants (the doubling covers its bookkeeping).
    match socket.recv_buffer_size().map(|reported| reported / 2) {
        Ok(granted) if granted < UDP_RECEIVE_BUFFER => warn!(
            granted_bytes = granted,
            wanted_bytes = UDP_RECEIVE_BUFFER,
            "the kernel caps the UDP receive buffer (net.core.rmem_max): bursts may drop \
             datagrams; see docs/deployment.md"
        ),
        Ok(granted) => debug!(granted_bytes = granted, "UDP receive buffer"),
        Err(e) => debug!(error = %e, "UDP receive buffer size unknown"),
    }
}

/// Sends everything in `out`: the UDP datagrams in one batch (a full socket buffer
/// drops a datagram, as the network would; RTX recovers), the ICE-TCP ones framed to
/// their connection's writer.
fn send(
    udp: &UdpSocket,
    tcp_conns: &HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    batch: &mut UdpBatch,
    out: &mut Outbox,
) {
    if out.is_empty() {
        return;
    }
    batch.send(udp, out.packets(), |packet, ok| {
        crate::traffic::sent(&packet.bytes, ok)
    });
    for packet in out.packets() {
        if packet.proto == Protocol::Udp {
            continue;
        }
        if let (Some(conn), Some(framed)) =
            (tcp_conns.get(&packet.destination), frame(&packet.bytes))
        {
            let _ = conn.try_send(framed);
        }
    }
    out.recycle();
}

async fn accept_tcp(listener: TcpListener, events: mpsc::Sender<TcpEvent>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let events = events.clone();
                tokio::spawn(serve_tcp(stream, remote, events));
            }
            Err(e) => {
                debug!(error = %e, "ICE-TCP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_tcp(stream: TcpStream, remote: SocketAddr, events: mpsc::Sender<TcpEvent>) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
    if events.send(TcpEvent::Opened(remote, tx)).await.is_err() {
        return;
    }
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut deframer = Deframer::default();
    let mut buf = vec![0u8; 4096];
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_packet() {
                Ok(Some(packet)) => {
                    if events
                        .send(TcpEvent::Packet(remote, local, packet))
                        .await
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Ok(None) => break,
                // Not RFC 4571: this is no ICE-TCP peer.
                Err(_) => break 'read,
            }
        }
    }
    write_task.abort();
    let _ = events.send(TcpEvent::Closed(remote)).await;
}
