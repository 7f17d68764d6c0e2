//! An independent WebRTC participant on webrtc-rs, speaking Seduta's signaling
//! protocol over a WebSocket: it joins, publishes synthetic Opus and VP8 on its
//! publisher connection, answers subscriber offers, and counts what it receives
//! per publishing participant. On request ([`WebrtcPeer::join_lossy`]) it loses
//! video packets on both of its connections, for the NACK machinery to see.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters,
    RtpCodecKind,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::media::SyntheticMedia;

/// Packets received from one publishing participant.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// RTP packets of audio tracks.
    pub audio_packets: u64,
    /// RTP packets of video tracks.
    pub video_packets: u64,
}

/// Duration of one Opus page of the synthetic audio.
const AUDIO_PAGE: Duration = Duration::from_millis(20);

type Counts = Arc<Mutex<HashMap<String, Received>>>;
type Pc = Arc<dyn PeerConnection>;

/// A joined webrtc-rs participant.
pub struct WebrtcPeer {
    received: Counts,
    outbound: mpsc::UnboundedSender<String>,
    publisher: Pc,
    subscriber: Arc<tokio::sync::Mutex<Option<Pc>>>,
    tasks: Vec<JoinHandle<()>>,
    answered: Arc<std::sync::atomic::AtomicU64>,
    recording: Arc<Mutex<Vec<Value>>>,
    dropped: Arc<AtomicU64>,
}

/// Loses every `every`-th video RTP packet of one connection, next to the network:
/// on the way out (a publisher: the SFU misses them and sends NACKs) or on the way
/// in (a subscriber: its NACK generator asks the SFU). Retransmissions travel on the
/// RTX SSRC, which is never dropped, so every loss can be repaired.
struct DropEvery {
    every: u64,
    outgoing: bool,
    video: HashSet<u32>,
    seen: u64,
    dropped: Arc<AtomicU64>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl DropEvery {
    /// Whether to lose `msg`.
    fn lose(&mut self, msg: &TaggedPacket) -> bool {
        let Packet::Rtp(rtp) = &msg.message.packet else {
            return false;
        };
        if !self.video.contains(&rtp.header.ssrc) {
            return false;
        }
        self.seen += 1;
        let lose = self.seen.is_multiple_of(self.every);
        if lose {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lose
    }

    fn bind(&mut self, info: &StreamInfo) {
        if info.mime_type.to_ascii_lowercase().starts_with("video/") {
            self.video.insert(info.ssrc);
        }
    }
}

impl rtc::sansio::Protocol<TaggedPacket, TaggedPacket, ()> for DropEvery {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if self.outgoing || !self.lose(&msg) {
            self.read_queue.push_back(msg);
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if !self.outgoing || !self.lose(&msg) {
            self.write_queue.push_back(msg);
        }
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for DropEvery {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if self.outgoing {
            self.bind(info);
        }
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.video.remove(&info.ssrc);
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if !self.outgoing {
            self.bind(info);
        }
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.video.remove(&info.ssrc);
    }
}

/// Packet loss of a lossy peer: one in `every` video packets, counted in `dropped`.
#[derive(Clone)]
struct Loss {
    every: u64,
    dropped: Arc<AtomicU64>,
}

impl Loss {
    fn interceptor(&self, outgoing: bool) -> DropEvery {
        DropEvery {
            every: self.every.max(1),
            outgoing,
            video: HashSet::new(),
            seen: 0,
            dropped: self.dropped.clone(),
            read_queue: VecDeque::new(),
            write_queue: VecDeque::new(),
        }
    }
}

struct Handler {
    connected: mpsc::UnboundedSender<()>,
    received: Option<Counts>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            let _ = self.connected.send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(counts) = self.received.clone() else {
            return;
        };
        // The SFU names each forwarded stream after its publisher.
        let publisher = track.stream_id().await;
        let kind = track.kind().await;
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event {
                    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
                    let entry = counts.entry(publisher.clone()).or_default();
                    match kind {
                        RtpCodecKind::Audio => entry.audio_packets += 1,
                        _ => entry.video_packets += 1,
                    }
                }
            }
        });
    }
}

/// A peer connection; with `loss`, it loses video on the way out (`outgoing`) or in.
async fn new_pc(handler: Handler, loss: Option<(&Loss, bool)>) -> anyhow::Result<Pc> {
    let mut media_engine = MediaEngine::default();
    media_engine.register_default_codecs()?;
    let mut registry = register_default_interceptors(Registry::new(), &mut media_engine)?;
    if let Some((loss, outgoing)) = loss {
        // Below every standard slot: nearest the network on both paths.
        registry = registry.with(Slot::from(500), loss.interceptor(outgoing));
    }
    // Inside a network namespace mDNS has no device (ENODEV); only loopback exists.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media_engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

fn local_track(
    kind: RtpCodecKind,
    mime: &str,
    clock_rate: u32,
    channels: u16,
) -> anyhow::Result<Arc<TrackLocalStaticSample>> {
    local_track_rtx(kind, mime, clock_rate, channels, false)
}

/// A local track; with `rtx`, its encoding announces an RTX SSRC (`a=ssrc-group:FID`),
/// as browsers do, without which the SFU asks no retransmission of it.
fn local_track_rtx(
    kind: RtpCodecKind,
    mime: &str,
    clock_rate: u32,
    channels: u16,
    rtx: bool,
) -> anyhow::Result<Arc<TrackLocalStaticSample>> {
    let codec = RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    };
    Ok(Arc::new(TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            format!("webrtc-rs-{kind}"),
            format!("webrtc-rs-{kind}-track"),
            format!("webrtc-rs {kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(rand_ssrc()),
                    rtx: rtx.then(|| RTCRtpRtxParameters {
                        ssrc: rand_ssrc().wrapping_add(1),
                    }),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        ),
    )?))
}

fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) as u32
}

/// `(mid, kind)` of every m-section of an SDP, in order.
pub fn sdp_mids(sdp: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kind = None;
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("m=") {
            kind = rest.split_whitespace().next().map(str::to_owned);
        } else if let (Some(mid), Some(k)) = (line.strip_prefix("a=mid:"), kind.as_ref()) {
            out.push((mid.trim().to_owned(), k.clone()));
        }
    }
    out
}

impl WebrtcPeer {
    /// Joins `ws_url` (`ws://host/ws/<session>`) with `token`, publishes `media` in a loop.
    pub async fn join(ws_url: &str, token: &str, media: SyntheticMedia) -> anyhow::Result<Self> {
        Self::join_with(ws_url, token, media, None).await
    }

    /// Like [`WebrtcPeer::join`], losing one in `every` video RTP packets on each of
    /// its connections: of what it publishes (announced with RTX, so the SFU asks for
    /// them again) and of what it receives (its NACK generator asks the SFU).
    /// [`WebrtcPeer::dropped`] counts them.
    pub async fn join_lossy(
        ws_url: &str,
        token: &str,
        media: SyntheticMedia,
        every: u64,
    ) -> anyhow::Result<Self> {
        let loss = Loss {
            every,
            dropped: Arc::default(),
        };
        Self::join_with(ws_url, token, media, Some(loss)).await
    }

    async fn join_with(
        ws_url: &str,
        token: &str,
        media: SyntheticMedia,
        loss: Option<Loss>,
    ) -> anyhow::Result<Self> {
        let dropped = loss.as_ref().map(|l| l.dropped.clone()).unwrap_or_default();
        let (ws, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .context("connecting the signaling WebSocket")?;
        let (mut sink, mut stream) = ws.split();
        sink.send(Message::text(
            json!({"type": "join", "token": token}).to_string(),
        ))
        .await?;
        let joined = loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .context("waiting for joined")?
                .ok_or_else(|| anyhow!("socket closed before joined"))??;
            let Message::Text(text) = frame else { continue };
            let msg: Value = serde_json::from_str(&text)?;
            match msg["type"].as_str() {
                Some("joined") => break msg,
                Some("error") => bail!("join refused: {}", msg["code"]),
                _ => {}
            }
        };
        let _ = joined;

        let (outbound, mut out_rx) = mpsc::unbounded_channel::<String>();
        let mut tasks = vec![tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        })];

        let received: Counts = Arc::default();
        let recording: Arc<Mutex<Vec<Value>>> = Arc::default();
        let subscriber: Arc<tokio::sync::Mutex<Option<Pc>>> = Arc::default();
        let answer_slot: Arc<Mutex<Option<oneshot::Sender<String>>>> = Arc::default();
        let answered: Arc<std::sync::atomic::AtomicU64> = Arc::default();
        {
            let answered = answered.clone();
            let outbound = outbound.clone();
            let received = received.clone();
            let subscriber = subscriber.clone();
            let answer_slot = answer_slot.clone();
            let recording = recording.clone();
            let loss = loss.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    let Message::Text(text) = frame else { continue };
                    let Ok(msg) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    match msg["type"].as_str() {
                        Some("subscriber_offer") => {
                            let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                            match answer_offer(&subscriber, &received, &outbound, sdp, &loss).await
                            {
                                Ok(()) => {
                                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                }
                                Err(e) => eprintln!("testpeer: subscriber offer failed: {e:#}"),
                            }
                        }
                        Some("recording") | Some("error") => {
                            recording
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(msg);
                        }
                        Some("publish_answer") => {
                            let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                            let slot = answer_slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                            if let Some(tx) = slot {
                                let _ = tx.send(sdp);
                            }
                        }
                        _ => {}
                    }
                }
            }));
        }

        let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
        let publisher = new_pc(
            Handler {
                connected: connected_tx,
                received: None,
            },
            loss.as_ref().map(|l| (l, true)),
        )
        .await?;
        let video = local_track_rtx(
            RtpCodecKind::Video,
            MIME_TYPE_VP8,
            90_000,
            0,
            loss.is_some(),
        )?;
        let audio = local_track(RtpCodecKind::Audio, MIME_TYPE_OPUS, 48_000, 2)?;
        let video_sender = publisher
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await?;
        let audio_sender = publisher
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await?;
        let offer = publisher.create_offer(None).await?;
        publisher.set_local_description(offer).await?;
        let sdp = publisher
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description"))?
            .sdp;
        let tracks: Vec<Value> = sdp_mids(&sdp)
            .into_iter()
            .filter(|(_, kind)| kind == "audio" || kind == "video")
            .map(|(mid, kind)| {
                let source = if kind == "audio" {
                    "microphone"
                } else {
                    "camera"
                };
                json!({"mid": mid, "kind": kind, "source": source})
            })
            .collect();
        let (answer_tx, answer_rx) = oneshot::channel();
        *answer_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer_tx);
        outbound.send(json!({"type": "publish", "sdp": sdp, "tracks": tracks}).to_string())?;
        let answer = tokio::time::timeout(Duration::from_secs(10), answer_rx)
            .await
            .context("waiting for publish_answer")??;
        publisher
            .set_remote_description(RTCSessionDescription::answer(answer)?)
            .await?;
        tokio::time::timeout(Duration::from_secs(15), connected_rx.recv())
            .await
            .context("waiting for the publisher connection")?;

        let frames = media
            .video
            .iter()
            .map(|f| (f.clone(), media.frame_duration))
            .collect();
        let start = tokio::time::Instant::now();
        tasks.push(tokio::spawn(play(
            video,
            video_sender,
            frames,
            media.frame_duration,
            start,
        )));
        tasks.push(tokio::spawn(play(
            audio,
            audio_sender,
            media.audio,
            AUDIO_PAGE,
            start,
        )));
        Ok(Self {
            received,
            outbound,
            publisher,
            subscriber,
            tasks,
            answered,
            recording,
            dropped,
        })
    }

    /// Video packets this peer lost on purpose so far ([`WebrtcPeer::join_lossy`]).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Every `recording` message received so far (whether the session is recorded).
    pub fn recording_messages(&self) -> Vec<Value> {
        self.notices("recording")
    }

    /// The codes of every `error` message received so far after `joined`.
    pub fn error_codes(&self) -> Vec<String> {
        self.notices("error")
            .iter()
            .filter_map(|m| m["code"].as_str().map(str::to_owned))
            .collect()
    }

    fn notices(&self, kind: &str) -> Vec<Value> {
        self.recording
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|m| m["type"] == kind)
            .cloned()
            .collect()
    }

    /// How many subscriber offers this peer has answered so far.
    pub fn offers_answered(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Packets received so far, per publishing participant.
    pub fn received(&self) -> HashMap<String, Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends a raw text frame on the signaling socket (for abuse tests).
    pub fn send_raw(&self, text: String) {
        let _ = self.outbound.send(text);
    }

    /// Leaves and closes both connections.
    pub async fn close(self) {
        let _ = self.outbound.send(json!({"type": "leave"}).to_string());
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.drop_connection().await;
    }

    /// Drops both connections and the socket without leaving, as a client whose
    /// network or server went away does before it joins again.
    pub async fn drop_connection(self) {
        let _ = self.publisher.close().await;
        if let Some(pc) = self.subscriber.lock().await.take() {
            let _ = pc.close().await;
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn answer_offer(
    subscriber: &tokio::sync::Mutex<Option<Pc>>,
    received: &Counts,
    outbound: &mpsc::UnboundedSender<String>,
    sdp: String,
    loss: &Option<Loss>,
) -> anyhow::Result<()> {
    let mut slot = subscriber.lock().await;
    if slot.is_none() {
        let (connected, _) = mpsc::unbounded_channel();
        *slot = Some(
            new_pc(
                Handler {
                    connected,
                    received: Some(received.clone()),
                },
                loss.as_ref().map(|l| (l, false)),
            )
            .await?,
        );
    }
    let pc = slot.as_ref().ok_or_else(|| anyhow!("no subscriber"))?;
    pc.set_remote_description(RTCSessionDescription::offer(sdp)?)
        .await?;
    let answer = pc.create_answer(None).await?;
    pc.set_local_description(answer).await?;
    let sdp = pc
        .local_description()
        .await
        .ok_or_else(|| anyhow!("no local answer"))?
        .sdp;
    outbound.send(json!({"type": "subscriber_answer", "sdp": sdp}).to_string())?;
    Ok(())
}

async fn payload_type(sender: &Arc<dyn RtpSender>) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params.rtp_parameters.codecs.first().map(|c| c.payload_type)
}

/// Sends `samples` in a loop, one every `interval` from `start`, until the track is
/// gone. The audio and the video of one participant are given the same `start`, so
/// that they are paced on one schedule: the n-th sample goes at `start + n * interval`
/// whatever either task's own start-up took (a late tick is caught up at once), and a
/// beep and a flash meant for the same instant leave together.
async fn play(
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    samples: Vec<(Bytes, Duration)>,
    interval: Duration,
    start: tokio::time::Instant,
) {
    let (Some(pt), Some(ssrc)) = (
        payload_type(&sender).await,
        track.ssrcs().await.first().copied(),
    ) else {
        return;
    };
    let mut tick = tokio::time::interval_at(start, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for (data, duration) in samples.iter().cycle() {
        tick.tick().await;
        let sample = Sample {
            data: data.clone(),
            duration: *duration,
            ..Sample::new(Instant::now())
        };
        if track
            .sample_writer(ssrc, pt)
            .write_sample(&sample)
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A webrtc-rs encoder that publishes over plain WHIP (RFC 9725), with no WebSocket
/// and no track list: an HTTP `POST` of its offer, the answer in the response.
pub struct WhipPublisher {
    /// The resource's path, from the `Location` header.
    pub location: String,
    /// The `ETag` header of the answer, if any.
    pub etag: Option<String>,
    pc: Pc,
    tasks: Vec<JoinHandle<()>>,
}

impl WhipPublisher {
    /// Posts an Opus and VP8 offer to `http://{addr}/whip/{session}` with `token`,
    /// applies the answer, waits for the connection and plays `media` in a loop.
    pub async fn publish(
        addr: std::net::SocketAddr,
        session: &str,
        token: &str,
        media: SyntheticMedia,
    ) -> anyhow::Result<Self> {
        let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
        let pc = new_pc(
            Handler {
                connected: connected_tx,
                received: None,
            },
            None,
        )
        .await?;
        let audio = local_track(RtpCodecKind::Audio, MIME_TYPE_OPUS, 48_000, 2)?;
        let video = local_track(RtpCodecKind::Video, MIME_TYPE_VP8, 90_000, 0)?;
        let audio_sender = pc.add_track(audio.clone() as Arc<dyn TrackLocal>).await?;
        let video_sender = pc.add_track(video.clone() as Arc<dyn TrackLocal>).await?;
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer).await?;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| anyhow!("no local description"))?
            .sdp;
        let auth = format!("Bearer {token}");
        let response = crate::http::request(
            addr,
            "POST",
            &format!("/whip/{session}"),
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/sdp"),
            ],
            sdp.as_bytes(),
        )
        .await?;
        if response.status != 201 {
            bail!("WHIP POST answered {}: {}", response.status, response.body);
        }
        if response.header("content-type") != Some("application/sdp") {
            bail!(
                "WHIP answer has content type {:?}",
                response.header("content-type")
            );
        }
        let location = response
            .header("location")
            .ok_or_else(|| anyhow!("WHIP answer without Location"))?
            .to_owned();
        let etag = response.header("etag").map(str::to_owned);
        pc.set_remote_description(RTCSessionDescription::answer(response.body)?)
            .await?;
        tokio::time::timeout(Duration::from_secs(15), connected_rx.recv())
            .await
            .context("waiting for the WHIP connection")?;
        let frames = media
            .video
            .iter()
            .map(|f| (f.clone(), media.frame_duration))
            .collect();
        let start = tokio::time::Instant::now();
        let tasks = vec![
            tokio::spawn(play(
                video,
                video_sender,
                frames,
                media.frame_duration,
                start,
            )),
            tokio::spawn(play(audio, audio_sender, media.audio, AUDIO_PAGE, start)),
        ];
        Ok(Self {
            location,
            etag,
            pc,
            tasks,
        })
    }

    /// Ends the WHIP session with `DELETE` on its resource, then closes the peer.
    pub async fn delete(
        self,
        addr: std::net::SocketAddr,
        token: &str,
    ) -> anyhow::Result<crate::http::Response> {
        let auth = format!("Bearer {token}");
        let response = crate::http::request(
            addr,
            "DELETE",
            &self.location,
            &[("Authorization", auth.as_str())],
            b"",
        )
        .await;
        self.close().await;
        response
    }

    /// Closes the peer without telling the server.
    pub async fn close(self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.pc.close().await;
    }
}
