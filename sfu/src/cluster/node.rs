//! A media node: this process's SFU serving control planes over WebSocket control
//! channels (multi-node).
//!
//! The node dials every control-plane replica it is given and keeps each channel up,
//! reconnecting after a loss. A room belongs to the channel that created it: its
//! events go back there only, and when that channel drops the room is closed (its
//! recording stopped, its participants removed), because the control plane on the
//! other end has already given it up. On shutdown the node drains: it reports that it
//! takes no new rooms and exits once its rooms have ended, or at the drain deadline.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use seduta_recordings::RecorderStats;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::{debug, info, warn};

use super::wire::{FromNode, MAX_CONTROL_MESSAGE, NodeStatus, Request, Response, ToNode};
use crate::api::{ParticipantId, RoomId, SfuEvent};
use crate::error::{SfuError, WireError};
use crate::handle::SfuHandle;

/// How often the node reports its load and its recorders' figures.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// How a media node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's stable name (a host or pod name).
    pub name: String,
    /// The control channel URL of every control-plane replica
    /// (`ws://control-0.seduta:8080/internal/sfu`).
    pub control: Vec<String>,
    /// The shared secret the control plane expects (`Authorization: Bearer …`).
    pub secret: String,
    /// Participants this node takes at most.
    pub capacity: u64,
    /// How long a drain waits for the node's rooms to end before it leaves anyway
    /// (their sessions are then placed again elsewhere).
    pub drain_timeout: Duration,
}

/// Why a media node could not run.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A control URL is not a valid WebSocket URL, or the secret not a header value.
    #[error("invalid control channel setting: {0}")]
    Config(String),
}

#[derive(Debug, Default)]
struct State {
    links: HashMap<usize, mpsc::UnboundedSender<String>>,
    owners: HashMap<RoomId, usize>,
    participants: HashMap<RoomId, BTreeSet<ParticipantId>>,
    recordings: HashMap<RoomId, RecorderStats>,
    draining: bool,
}

impl State {
    fn status(&self, rooms: u64, participants: u64) -> NodeStatus {
        NodeStatus {
            rooms,
            participants,
            draining: self.draining,
        }
    }

    /// Forgets a room that has no one and records nothing.
    fn tidy(&mut self, room: &RoomId) {
        let empty = self.participants.get(room).is_none_or(BTreeSet::is_empty);
        if empty && !self.recordings.contains_key(room) {
            self.participants.remove(room);
            self.owners.remove(room);
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    config: Arc<NodeConfig>,
    sfu: SfuHandle,
    state: Arc<Mutex<State>>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, link: usize, message: &FromNode) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        if let Some(tx) = self.lock().links.get(&link) {
            let _ = tx.send(text);
        }
    }

    fn broadcast(&self, message: &FromNode) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        for tx in self.lock().links.values() {
            let _ = tx.send(text.clone());
        }
    }
}

/// Runs a media node on `sfu` (a local media plane, with `events` its events) until
/// `shutdown` resolves and the drain has ended.
pub async fn run_node(
    config: NodeConfig,
    sfu: SfuHandle,
    mut events: mpsc::UnboundedReceiver<SfuEvent>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    for url in &config.control {
        url.as_str()
            .into_client_request()
            .map_err(|e| NodeError::Config(format!("{url}: {e}")))?;
    }
    HeaderValue::from_str(&format!("Bearer {}", config.secret))
        .map_err(|_| NodeError::Config("the node secret is not a valid header value".into()))?;
    let node = Node {
        config: Arc::new(config),
        sfu,
        state: Arc::default(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, url) in node.config.control.iter().enumerate() {
        tasks.spawn(keep_link(node.clone(), index, url.clone()));
    }
    let pump = node.clone();
    tasks.spawn(async move {
        while let Some(event) = events.recv().await {
            let owner = pump.lock().owners.get(event.room()).copied();
            if let Some(link) = owner {
                pump.send(link, &FromNode::Event { event });
            }
        }
    });
    tasks.spawn(report(node.clone()));

    shutdown.await;
    node.lock().draining = true;
    let rooms = node.lock().owners.len();
    info!(
        rooms,
        "draining: no new sessions; leaving once these have ended"
    );
    let status = {
        let state = node.lock();
        state.status(rooms as u64, 0)
    };
    node.broadcast(&FromNode::Status { status });
    let deadline = tokio::time::Instant::now() + node.config.drain_timeout;
    while !node.lock().owners.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = node.lock().owners.len();
    if left > 0 {
        warn!(
            sessions = left,
            "drain deadline reached: these sessions will be placed again"
        );
    } else {
        info!("drained");
    }
    tasks.abort_all();
    Ok(())
}

/// Reports the node's load to every control plane, and each recorder's figures to
/// its room's owner, every second.
async fn report(node: Node) {
    let mut tick = tokio::time::interval(STATUS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(gauges) = node.sfu.media_gauges().await else {
            continue;
        };
        let status = node.lock().status(gauges.rooms, gauges.participants);
        node.broadcast(&FromNode::Status { status });
        let recordings: Vec<(RoomId, usize, RecorderStats)> = {
            let state = node.lock();
            state
                .recordings
                .iter()
                .filter_map(|(room, stats)| {
                    let link = state.owners.get(room)?;
                    Some((room.clone(), *link, stats.clone()))
                })
                .collect()
        };
        for (room, link, stats) in recordings {
            let stats = stats.snapshot();
            node.send(link, &FromNode::RecordingStats { room, stats });
        }
    }
}

/// Keeps the control channel to `url` up: dials, serves it until it drops, closes
/// the rooms it owned, and dials again.
async fn keep_link(node: Node, index: usize, url: String) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match serve_link(&node, index, &url).await {
            Ok(()) => backoff = Duration::from_millis(250),
            Err(e) => debug!(error = %e, "control channel not reachable"),
        }
        close_rooms_of(&node, index).await;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn serve_link(
    node: &Node,
    index: usize,
    url: &str,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", node.config.secret)) {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::header::AUTHORIZATION,
            value,
        );
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_CONTROL_MESSAGE))
        .max_frame_size(Some(MAX_CONTROL_MESSAGE));
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(ws_config), false).await?;
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let gauges = node.sfu.media_gauges().await.unwrap_or_default();
    let hello = {
        let mut state = node.lock();
        state.links.insert(index, tx);
        FromNode::Hello {
            node: node.config.name.clone(),
            capacity: node.config.capacity,
            status: state.status(gauges.rooms, gauges.participants),
        }
    };
    node.send(index, &hello);
    info!(control = index, "control channel up");
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        match serde_json::from_str::<ToNode>(&text) {
            Ok(ToNode::Request { id, request }) => {
                let node = node.clone();
                tokio::spawn(async move {
                    let result = carry_out(&node, index, request).await;
                    let result = result.map_err(|e| e.to_wire());
                    node.send(index, &FromNode::Reply { id, result });
                });
            }
            Err(e) => warn!(error = %e, "the control plane sent a bad message"),
        }
    }
    node.lock().links.remove(&index);
    writer.abort();
    info!(control = index, "control channel down");
    Ok(())
}

/// One request from the control channel `link`, with the node's own bookkeeping.
async fn carry_out(node: &Node, link: usize, request: Request) -> Result<Response, SfuError> {
    if let Some(room) = request.room() {
        let mut state = node.lock();
        match state.owners.get(room) {
            Some(&owner) if owner != link => {
                return Err(SfuError::from_wire(WireError {
                    code: "room_elsewhere".into(),
                    message: "another control plane runs this session on this node".into(),
                }));
            }
            Some(_) => {}
            None if request.creates_room() => {
                if state.draining {
                    return Err(SfuError::NoCapacity);
                }
                state.owners.insert(room.clone(), link);
            }
            None => {}
        }
    }
    let result = match request.clone() {
        Request::StartRecording { room, spec } => {
            match node.sfu.start_recording(room.clone(), spec).await {
                Ok(stats) => {
                    node.lock().recordings.insert(room, stats);
                    Ok(Response::Done)
                }
                Err(e) => Err(e),
            }
        }
        other => node.sfu.execute(other).await,
    };
    let mut state = node.lock();
    match (&request, &result) {
        (
            Request::Join {
                room, participant, ..
            },
            Ok(_),
        ) => {
            state
                .participants
                .entry(room.clone())
                .or_default()
                .insert(participant.clone());
        }
        (Request::Leave { room, participant }, _) => {
            if let Some(set) = state.participants.get_mut(room) {
                set.remove(participant);
            }
        }
        (Request::StopRecording { room }, _) => {
            state.recordings.remove(room);
        }
        _ => {}
    }
    if let Some(room) = request.room() {
        state.tidy(room);
    }
    result
}

/// The control channel `link` dropped: its control plane gave its sessions up, so
/// their rooms here are closed (recordings stopped with their files closed).
async fn close_rooms_of(node: &Node, link: usize) {
    let rooms: Vec<(RoomId, Vec<ParticipantId>, bool)> = {
        let mut state = node.lock();
        let rooms: Vec<RoomId> = state
            .owners
            .iter()
            .filter(|(_, l)| **l == link)
            .map(|(r, _)| r.clone())
            .collect();
        rooms
            .into_iter()
            .map(|room| {
                state.owners.remove(&room);
                let people = state.participants.remove(&room).unwrap_or_default();
                let recorded = state.recordings.remove(&room).is_some();
                (room, people.into_iter().collect(), recorded)
            })
            .collect()
    };
    for (room, people, recorded) in rooms {
        if recorded && let Err(e) = node.sfu.stop_recording(room.clone()).await {
            warn!(error = %e, "an orphaned recording did not stop cleanly");
        }
        for participant in people {
            let _ = node.sfu.leave(room.clone(), participant).await;
        }
    }
}
