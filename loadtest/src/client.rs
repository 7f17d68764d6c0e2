//! One synthetic participant: it joins over the signaling WebSocket like a browser,
//! publishes Opus and three-layer VP8 simulcast on its publisher connection, answers
//! the subscriber offers and counts what it receives. Both WebRTC connections are
//! str0m peers (sans-IO, cheap) driven from one tokio task, each on its own UDP
//! socket on loopback.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, KeyframeRequest, MediaData, MediaKind, MediaTime, Mid, Rid, Simulcast,
    SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::media::{AUDIO_INTERVAL, FRAME_INTERVAL, LAYERS, TestMedia};

/// How long a participant waits for one signaling answer.
const SIGNALING_WAIT: Duration = Duration::from_secs(15);
/// Ping interval (the server closes a connection silent for 15 s).
const PING_INTERVAL: Duration = Duration::from_secs(2);
/// Bytes at the end of every sent frame that carry its send time (for the delay).
const TAG_LEN: usize = 8;

/// What every participant of a run shares.
pub struct Shared {
    /// The media every publisher sends.
    pub media: TestMedia,
    /// Origin of the send-time tags.
    pub epoch: Instant,
    /// While true, receivers record the delay of every frame.
    pub measuring: AtomicBool,
    /// Receive-side counters of all participants.
    pub counters: Counters,
    /// Frame delays in microseconds recorded while measuring.
    pub delays: Mutex<Delays>,
    /// Rooms in which some publisher is already sending media.
    pub sending_rooms: Mutex<HashSet<String>>,
    /// Participants that receive video from every publisher they expect.
    pub ready: AtomicU64,
}

impl Shared {
    /// Everything at zero.
    pub fn new(media: TestMedia) -> Self {
        Self {
            media,
            epoch: Instant::now(),
            measuring: AtomicBool::new(false),
            counters: Counters::default(),
            delays: Mutex::new(Delays::default()),
            sending_rooms: Mutex::new(HashSet::new()),
            ready: AtomicU64::new(0),
        }
    }

    /// Whether a publisher of `room` already sends media.
    pub fn room_sending(&self, room: &str) -> bool {
        lock(&self.sending_rooms).contains(room)
    }

    fn tag(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_nanos() as u64
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Receive-side totals, summed over participants.
#[derive(Debug, Default)]
pub struct Counters {
    /// Audio frames received (one RTP packet each).
    pub audio_frames: AtomicU64,
    /// Video frames received whole.
    pub video_frames: AtomicU64,
    /// RTP packets in the frames received.
    pub packets: AtomicU64,
    /// Payload bytes received.
    pub bytes: AtomicU64,
    /// RTP packets that never made it into a frame (sequence gaps).
    pub lost_packets: AtomicU64,
    /// Frames written by publishers (all layers).
    pub frames_sent: AtomicU64,
    /// Keyframe requests publishers received.
    pub keyframe_requests: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CountersSnapshot {
    /// See [`Counters::audio_frames`].
    pub audio_frames: u64,
    /// See [`Counters::video_frames`].
    pub video_frames: u64,
    /// See [`Counters::packets`].
    pub packets: u64,
    /// See [`Counters::bytes`].
    pub bytes: u64,
    /// See [`Counters::lost_packets`].
    pub lost_packets: u64,
    /// See [`Counters::frames_sent`].
    pub frames_sent: u64,
    /// See [`Counters::keyframe_requests`].
    pub keyframe_requests: u64,
}

impl Counters {
    /// The counters now.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            audio_frames: self.audio_frames.load(Relaxed),
            video_frames: self.video_frames.load(Relaxed),
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            lost_packets: self.lost_packets.load(Relaxed),
            frames_sent: self.frames_sent.load(Relaxed),
            keyframe_requests: self.keyframe_requests.load(Relaxed),
        }
    }
}

impl CountersSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            audio_frames: self.audio_frames - earlier.audio_frames,
            video_frames: self.video_frames - earlier.video_frames,
            packets: self.packets - earlier.packets,
            bytes: self.bytes - earlier.bytes,
            lost_packets: self.lost_packets - earlier.lost_packets,
            frames_sent: self.frames_sent - earlier.frames_sent,
            keyframe_requests: self.keyframe_requests - earlier.keyframe_requests,
        }
    }
}

/// Delays from a publisher's write to a subscriber's complete frame, in µs.
#[derive(Debug, Default)]
pub struct Delays {
    /// Audio frames (one packet each).
    pub audio: Vec<u32>,
    /// Video frames (the last packet of the frame).
    pub video: Vec<u32>,
}

/// Who a participant is and what it does.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Session id.
    pub room: String,
    /// Participant id.
    pub id: String,
    /// `ws://…/ws/{room}`.
    pub url: String,
    /// Join token.
    pub token: String,
    /// Whether it publishes audio and video.
    pub publish: bool,
    /// `max_height` asked for every video track (a tile size), if any.
    pub max_height: Option<u32>,
    /// How many video publishers it should receive.
    pub expected_video: usize,
    /// Whether its join time counts (someone in the room already sent media when it
    /// started joining).
    pub measure_join: bool,
}

/// Join milestones, from the start of the WebSocket connection.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct JoinTiming {
    /// `joined` received.
    pub joined: Duration,
    /// The first subscriber offer with a video track received (and answered).
    pub video_offered: Option<Duration>,
    /// The subscriber connection is up (ICE and DTLS).
    pub subscriber_connected: Option<Duration>,
    /// The first whole frame of remote video arrived.
    pub first_video: Option<Duration>,
}

/// What one participant saw, at the end.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Session id.
    pub room: String,
    /// Participant id.
    pub id: String,
    /// Join milestones (when the join was to be measured and got that far).
    pub join: Option<JoinTiming>,
    /// The layer last announced (`layer_changed`) per video publisher.
    pub layers: HashMap<String, String>,
    /// Video publishers it received frames from.
    pub video_publishers_seen: usize,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// One str0m peer connection on its own UDP socket.
struct Conn {
    rtc: Rtc,
    socket: UdpSocket,
    /// The same socket for sending: a plain non-blocking `sendto`, which does not
    /// wait for tokio to learn that a fresh socket is writable (tokio's `try_send_to`
    /// refuses until then, which would drop the first ICE check).
    sender: std::net::UdpSocket,
    local: SocketAddr,
    timeout: Instant,
    /// The latest time given to str0m (kept monotonic).
    last: Instant,
}

impl Conn {
    async fn new() -> anyhow::Result<Self> {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        std_socket.set_nonblocking(true)?;
        let sender = std_socket.try_clone()?;
        let socket = UdpSocket::from_std(std_socket)?;
        crate::stamp::enable(&socket)?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_stats_interval(None)
            .build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Self {
            rtc,
            socket,
            sender,
            local,
            timeout: now,
            last: now,
        })
    }

    /// Feeds a datagram that arrived at `arrival` (the kernel's time).
    fn input(&mut self, source: SocketAddr, bytes: &[u8], arrival: Instant) -> anyhow::Result<()> {
        let Ok(contents) = bytes.try_into() else {
            return Ok(()); // not something WebRTC parses
        };
        self.last = self.last.max(arrival);
        self.rtc.handle_input(Input::Receive(
            self.last,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        ))?;
        Ok(())
    }

    /// Feeds the time when a timeout is due.
    fn tick(&mut self, now: Instant) -> anyhow::Result<()> {
        if now >= self.timeout {
            self.last = self.last.max(now);
            self.rtc.handle_input(Input::Timeout(self.last))?;
        }
        Ok(())
    }

    /// Reads every queued datagram into str0m.
    fn drain(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        loop {
            match crate::stamp::try_recv(&self.socket, buf) {
                Ok((n, source, arrival)) => self.input(source, &buf[..n], arrival)?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends what is due and collects events until str0m waits for time.
    fn poll(&mut self, events: &mut Vec<Event>) -> anyhow::Result<()> {
        loop {
            match self.rtc.poll_output()? {
                Output::Transmit(t) => {
                    // A full socket buffer drops the datagram, as a network would.
                    let _ = self.sender.send_to(&t.contents, t.destination);
                }
                Output::Timeout(t) => {
                    self.timeout = t;
                    return Ok(());
                }
                Output::Event(e) => events.push(e),
            }
        }
    }
}

/// Receives one datagram on `conn`'s socket, or never when there is no connection.
async fn recv(
    conn: Option<&Conn>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr, Instant)> {
    match conn {
        Some(c) => crate::stamp::recv(&c.socket, buf).await,
        None => std::future::pending().await,
    }
}

/// The publishing side.
struct Publisher {
    conn: Conn,
    audio: Mid,
    video: Mid,
    pending: Option<SdpPendingOffer>,
    connected: bool,
    /// Next frame index of each layer.
    index: [usize; 3],
    next_audio: Instant,
    next_video: Instant,
    audio_index: usize,
    audio_time: u64,
    video_time: u64,
    pts: Option<(str0m::media::Pt, str0m::media::Pt)>,
}

impl Publisher {
    /// Creates the offer (a send-only Opus m-line and a send-only VP8 m-line with
    /// simulcast layers q, h and f) and the `publish` message.
    async fn offer() -> anyhow::Result<(Self, Value)> {
        let mut conn = Conn::new().await?;
        let mut api = conn.rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let mut simulcast = Simulcast::new();
        for (rid, ..) in LAYERS {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let video = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            None,
            None,
            Some(simulcast),
        );
        let (offer, pending) = api.apply().ok_or_else(|| anyhow!("no publisher offer"))?;
        let message = json!({
            "type": "publish",
            "sdp": offer.to_sdp_string(),
            "tracks": [
                {"mid": audio.to_string(), "kind": "audio", "source": "microphone"},
                {"mid": video.to_string(), "kind": "video", "source": "camera"},
            ],
        });
        let now = Instant::now();
        Ok((
            Self {
                conn,
                audio,
                video,
                pending: Some(pending),
                connected: false,
                index: [0; 3],
                next_audio: now,
                next_video: now,
                audio_index: 0,
                audio_time: 0,
                video_time: 0,
                pts: None,
            },
            message,
        ))
    }

    fn answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp)?;
        let pending = self
            .pending
            .take()
            .ok_or_else(|| anyhow!("publish_answer without an offer"))?;
        self.conn.rtc.sdp_api().accept_answer(pending, answer)?;
        Ok(())
    }

    fn payload_types(&mut self) -> Option<(str0m::media::Pt, str0m::media::Pt)> {
        if self.pts.is_none() {
            let pt = |rtc: &mut Rtc, mid: Mid, codec: Codec| {
                rtc.writer(mid)?
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .map(|p| p.pt())
            };
            let audio = pt(&mut self.conn.rtc, self.audio, Codec::Opus)?;
            let video = pt(&mut self.conn.rtc, self.video, Codec::Vp8)?;
            self.pts = Some((audio, video));
        }
        self.pts
    }

    /// Restarts the requested layer (all, without a rid) at a keyframe, as an encoder
    /// answering a PLI would.
    fn keyframe_request(&mut self, req: &KeyframeRequest, media: &TestMedia) {
        for (l, (rid, ..)) in LAYERS.iter().enumerate() {
            if req.rid.is_some_and(|r| r != Rid::from(*rid)) {
                continue;
            }
            let frames = &media.layers[l];
            let mut i = self.index[l] % frames.len();
            while !frames[i].keyframe {
                i = if i == 0 { frames.len() - 1 } else { i - 1 };
            }
            self.index[l] = i;
        }
    }

    /// Writes the audio and video frames that are due.
    fn send_due(&mut self, now: Instant, shared: &Shared) -> anyhow::Result<()> {
        if !self.connected {
            return Ok(());
        }
        let Some((pt_audio, pt_video)) = self.payload_types() else {
            return Ok(());
        };
        // After a stall, skip ahead rather than burst.
        if now.saturating_duration_since(self.next_audio) > Duration::from_millis(200) {
            self.next_audio = now;
        }
        if now.saturating_duration_since(self.next_video) > Duration::from_millis(200) {
            self.next_video = now;
        }
        let media = &shared.media;
        while self.next_audio <= now {
            let frame = &media.audio[self.audio_index % media.audio.len()];
            self.audio_index += 1;
            let data = tagged(frame, shared.tag(now));
            if let Some(w) = self.conn.rtc.writer(self.audio) {
                w.audio_level(-30, true).write(
                    pt_audio,
                    now,
                    MediaTime::new(self.audio_time, Frequency::FORTY_EIGHT_KHZ),
                    data,
                )?;
                shared.counters.frames_sent.fetch_add(1, Relaxed);
            }
            self.audio_time += 960;
            self.next_audio += AUDIO_INTERVAL;
        }
        while self.next_video <= now {
            for (l, (rid, ..)) in LAYERS.iter().enumerate() {
                let frames = &media.layers[l];
                let frame = &frames[self.index[l] % frames.len()];
                self.index[l] = (self.index[l] + 1) % frames.len();
                let data = tagged(&frame.data, shared.tag(now));
                if let Some(w) = self.conn.rtc.writer(self.video) {
                    w.rid(Rid::from(*rid)).write(
                        pt_video,
                        now,
                        MediaTime::new(self.video_time, Frequency::NINETY_KHZ),
                        data,
                    )?;
                    shared.counters.frames_sent.fetch_add(1, Relaxed);
                }
            }
            self.video_time += 3_600;
            self.next_video += FRAME_INTERVAL;
        }
        Ok(())
    }

    fn next_due(&self) -> Option<Instant> {
        self.connected.then(|| self.next_audio.min(self.next_video))
    }
}

/// A copy of `frame` whose last bytes carry `tag` (the frame stays opaque to the
/// SFU: it reads only the VP8 header at the start).
fn tagged(frame: &[u8], tag: u64) -> Vec<u8> {
    let mut data = frame.to_vec();
    if data.len() >= TAG_LEN * 2 {
        let at = data.len() - TAG_LEN;
        data[at..].copy_from_slice(&tag.to_le_bytes());
    }
    data
}

fn tag_of(data: &[u8]) -> Option<u64> {
    if data.len() < TAG_LEN * 2 {
        return None;
    }
    let bytes: [u8; TAG_LEN] = data[data.len() - TAG_LEN..].try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// One forwarded track on the subscriber connection.
#[derive(Debug, Clone)]
struct Incoming {
    publisher: String,
    video: bool,
    /// Highest RTP sequence number seen in a frame.
    last_seq: Option<u64>,
}

/// The subscribing side.
struct Subscriber {
    conn: Conn,
    tracks: HashMap<Mid, Incoming>,
    /// Track id → publisher, for `layer_changed`.
    track_publisher: HashMap<String, String>,
    video_seen: HashSet<String>,
    connected_at: Option<Instant>,
    first_video_at: Option<Instant>,
}

impl Subscriber {
    fn on_media(&mut self, data: &MediaData, now: Instant, shared: &Shared) {
        let Some(track) = self.tracks.get_mut(&data.mid) else {
            return;
        };
        let c = &shared.counters;
        let (start, end) = (**data.seq_range.start(), **data.seq_range.end());
        if let Some(last) = track.last_seq
            && start > last + 1
        {
            c.lost_packets.fetch_add(start - last - 1, Relaxed);
        }
        track.last_seq = Some(track.last_seq.map_or(end, |l| l.max(end)));
        c.packets.fetch_add(end.saturating_sub(start) + 1, Relaxed);
        c.bytes.fetch_add(data.data.len() as u64, Relaxed);
        let delay = shared
            .measuring
            .load(Relaxed)
            .then(|| tag_of(&data.data))
            .flatten()
            .map(|sent| {
                (shared.tag(now).saturating_sub(sent) / 1_000).min(u64::from(u32::MAX)) as u32
            });
        if track.video {
            c.video_frames.fetch_add(1, Relaxed);
            self.first_video_at.get_or_insert(now);
            self.video_seen.insert(track.publisher.clone());
        } else {
            c.audio_frames.fetch_add(1, Relaxed);
        }
        if let Some(delay) = delay {
            let mut delays = lock(&shared.delays);
            if track.video {
                delays.video.push(delay);
            } else {
                delays.audio.push(delay);
            }
        }
    }
}

/// Runs one participant until `stop` turns true.
pub async fn run(spec: Spec, shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Outcome {
    let mut outcome = Outcome {
        room: spec.room.clone(),
        id: spec.id.clone(),
        join: None,
        layers: HashMap::new(),
        video_publishers_seen: 0,
        error: None,
    };
    if let Err(e) = session(&spec, &shared, stop, &mut outcome).await {
        outcome.error = Some(format!("{e:#}"));
    }
    outcome
}

async fn session(
    spec: &Spec,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (ws, _) = tokio::time::timeout(SIGNALING_WAIT, tokio_tungstenite::connect_async(&spec.url))
        .await
        .context("connecting the signaling WebSocket: timed out")?
        .context("connecting the signaling WebSocket")?;
    let (mut sink, mut stream) = ws.split();
    let send = |v: Value| Message::text(v.to_string());
    sink.send(send(json!({"type": "join", "token": spec.token})))
        .await?;
    loop {
        let frame = tokio::time::timeout(SIGNALING_WAIT, stream.next())
            .await
            .context("waiting for joined")?
            .ok_or_else(|| anyhow!("the socket closed before joined"))??;
        let Message::Text(text) = frame else { continue };
        let msg: Value = serde_json::from_str(&text)?;
        match msg["type"].as_str() {
            Some("joined") => break,
            Some("error") => bail!("join refused: {}", msg["code"]),
            _ => {}
        }
    }
    let joined = started.elapsed();

    let mut publisher = None;
    if spec.publish {
        let (p, message) = Publisher::offer().await?;
        sink.send(send(message)).await?;
        publisher = Some(p);
    }
    let mut subscriber: Option<Subscriber> = None;
    let mut events = Vec::new();
    let mut pub_buf = vec![0u8; 2048];
    let mut sub_buf = vec![0u8; 2048];
    let mut next_ping = Instant::now() + PING_INTERVAL;
    let mut ready = false;
    let mut video_offered = None;

    loop {
        let now = Instant::now();
        let mut deadline = next_ping;
        if let Some(p) = &publisher {
            deadline = deadline.min(p.conn.timeout);
            if let Some(due) = p.next_due() {
                deadline = deadline.min(due);
            }
        }
        if let Some(s) = &subscriber {
            deadline = deadline.min(s.conn.timeout);
        }
        let deadline = deadline.max(now);
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            frame = stream.next() => {
                let Some(frame) = frame else { bail!("the signaling socket closed") };
                let Message::Text(text) = frame? else { continue };
                let Ok(msg) = serde_json::from_str::<Value>(&text) else { continue };
                match msg["type"].as_str() {
                    Some("subscriber_offer") => {
                        let sdp = msg["sdp"].as_str().unwrap_or_default();
                        let s = match subscriber.as_mut() {
                            Some(s) => s,
                            None => subscriber.insert(Subscriber {
                                conn: Conn::new().await?,
                                tracks: HashMap::new(),
                                track_publisher: HashMap::new(),
                                video_seen: HashSet::new(),
                                connected_at: None,
                                first_video_at: None,
                            }),
                        };
                        let offer = SdpOffer::from_sdp_string(sdp)?;
                        let answer = s.conn.rtc.sdp_api().accept_offer(offer)?;
                        sink.send(send(json!({"type": "subscriber_answer", "sdp": answer.to_sdp_string()}))).await?;
                        for t in msg["tracks"].as_array().into_iter().flatten() {
                            let (Some(mid), Some(track), Some(who), Some(kind)) = (
                                t["mid"].as_str(),
                                t["track"].as_str(),
                                t["participant"].as_str(),
                                t["kind"].as_str(),
                            ) else {
                                continue;
                            };
                            let mid = Mid::from(mid);
                            let video = kind == "video";
                            if video {
                                video_offered.get_or_insert_with(|| started.elapsed());
                            }
                            if s.tracks.contains_key(&mid) {
                                continue;
                            }
                            s.tracks.insert(mid, Incoming { publisher: who.to_owned(), video, last_seq: None });
                            s.track_publisher.insert(track.to_owned(), who.to_owned());
                            if video && let Some(h) = spec.max_height {
                                sink.send(send(json!({"type": "subscribe", "track": track, "max_height": h}))).await?;
                            }
                        }
                    }
                    Some("publish_answer") => {
                        let sdp = msg["sdp"].as_str().unwrap_or_default();
                        if let Some(p) = publisher.as_mut() {
                            p.answer(sdp)?;
                        }
                    }
                    Some("layer_changed") => {
                        if let (Some(track), Some(layer), Some(s)) =
                            (msg["track"].as_str(), msg["layer"].as_str(), subscriber.as_ref())
                            && let Some(who) = s.track_publisher.get(track)
                        {
                            outcome.layers.insert(who.clone(), layer.to_owned());
                        }
                    }
                    Some("error") if msg["fatal"].as_bool() == Some(true) => {
                        bail!("fatal signaling error {}", msg["code"]);
                    }
                    _ => {}
                }
            }
            r = recv(publisher.as_ref().map(|p| &p.conn), &mut pub_buf) => {
                let (n, source, arrival) = r?;
                if let Some(p) = publisher.as_mut() {
                    p.conn.input(source, &pub_buf[..n], arrival)?;
                    p.conn.drain(&mut pub_buf)?;
                }
            }
            r = recv(subscriber.as_ref().map(|s| &s.conn), &mut sub_buf) => {
                let (n, source, arrival) = r?;
                if let Some(s) = subscriber.as_mut() {
                    s.conn.input(source, &sub_buf[..n], arrival)?;
                    s.conn.drain(&mut sub_buf)?;
                }
            }
            () = tokio::time::sleep_until(deadline.into()) => {}
        }

        let now = Instant::now();
        if now >= next_ping {
            next_ping = now + PING_INTERVAL;
            sink.send(send(
                json!({"type": "ping", "ts": shared.tag(now) / 1_000_000}),
            ))
            .await?;
        }
        if let Some(p) = publisher.as_mut() {
            p.conn.tick(now)?;
            p.send_due(now, shared)?;
            p.conn.poll(&mut events)?;
            for e in events.drain(..) {
                match e {
                    Event::Connected => {
                        p.connected = true;
                        p.next_audio = now;
                        p.next_video = now;
                        lock(&shared.sending_rooms).insert(spec.room.clone());
                    }
                    Event::KeyframeRequest(req) => {
                        shared.counters.keyframe_requests.fetch_add(1, Relaxed);
                        p.keyframe_request(&req, &shared.media);
                    }
                    _ => {}
                }
            }
            p.send_due(now, shared)?;
            p.conn.poll(&mut events)?;
            events.clear();
        }
        if let Some(s) = subscriber.as_mut() {
            s.conn.tick(now)?;
            s.conn.poll(&mut events)?;
            for e in events.drain(..) {
                match e {
                    Event::Connected => {
                        s.connected_at.get_or_insert(now);
                    }
                    Event::MediaData(data) => s.on_media(&data, now, shared),
                    _ => {}
                }
            }
            if !ready && spec.expected_video > 0 && s.video_seen.len() >= spec.expected_video {
                ready = true;
                shared.ready.fetch_add(1, Relaxed);
            }
            outcome.video_publishers_seen = s.video_seen.len();
            if spec.measure_join {
                outcome.join = Some(JoinTiming {
                    joined,
                    video_offered,
                    subscriber_connected: s.connected_at.map(|t| t - started),
                    first_video: s.first_video_at.map(|t| t - started),
                });
            }
        }
    }
    let _ = sink.send(send(json!({"type": "leave"}))).await;
    Ok(())
}
