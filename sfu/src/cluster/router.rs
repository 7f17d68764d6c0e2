//! The control plane's side of multi-node: the media nodes attached over their
//! control channels, where each session is placed, and the requests and events
//! between them.
//!
//! A session lives on one node from its first join until it is empty (and not
//! recorded). When a node's channel drops, its sessions are lost: every participant
//! there gets a closed peer with a reason (the hub tells them to rejoin, which places
//! the session again on a node with room) and a recording gets a
//! [`RecordingAlarm::MediaNodeLost`] (the hub starts a new run).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use seduta_recordings::RecorderStats;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::placement::{self, Candidate};
use super::wire::{FromNode, NodeStatus, Request, Response, ToNode};
use crate::api::{
    ParticipantId, PeerRole, PeerState, RecordingAlarm, RecordingSpec, RoomId, SfuEvent,
};
use crate::error::SfuError;
use crate::gauges::MediaGauges;

/// How long a node has to answer a request (a recorder's start opens files).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a new channel has to say who it is.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// The reason given to participants whose node was lost.
pub const NODE_LOST: &str = "media node lost";

type Pending = oneshot::Sender<Result<Response, SfuError>>;

/// The media nodes and the sessions placed on them. Shared by the control plane's
/// [`SfuHandle`](crate::SfuHandle) and the endpoint that nodes connect to.
#[derive(Debug)]
pub struct Router {
    state: Mutex<State>,
    events: mpsc::UnboundedSender<SfuEvent>,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    nodes: HashMap<String, Node>,
    rooms: HashMap<RoomId, Placement>,
    next_link: u64,
}

#[derive(Debug)]
struct Node {
    link: u64,
    tx: mpsc::UnboundedSender<String>,
    capacity: u64,
    status: NodeStatus,
    placed_since: u64,
    pending: HashMap<u64, Pending>,
}

#[derive(Debug)]
struct Placement {
    node: String,
    participants: BTreeSet<ParticipantId>,
    recording: Option<RecorderStats>,
}

/// A media node as the control plane sees it (for `/metrics` and operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// The node's name.
    pub node: String,
    /// Participants it takes at most.
    pub capacity: u64,
    /// Its last reported load and drain state.
    pub status: NodeStatus,
    /// Sessions this control plane placed on it.
    pub placed_rooms: u64,
}

/// Why a control channel was refused.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The channel closed or sent something else before its `hello`.
    #[error("the media node did not introduce itself")]
    NoHello,
}

impl Router {
    /// A router with no nodes yet; media events go to `events`.
    pub fn new(events: mpsc::UnboundedSender<SfuEvent>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            events,
            next_id: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take every session down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves one media node's control channel until it closes: `incoming` gives the
    /// node's text messages, `outgoing` takes ours. When it ends, the node's sessions
    /// are lost (see the module's documentation). Returns the node's name.
    pub async fn attach(
        &self,
        mut incoming: mpsc::Receiver<String>,
        outgoing: mpsc::UnboundedSender<String>,
    ) -> Result<String, AttachError> {
        let hello = tokio::time::timeout(HELLO_TIMEOUT, incoming.recv())
            .await
            .ok()
            .flatten()
            .and_then(|text| serde_json::from_str::<FromNode>(&text).ok());
        let Some(FromNode::Hello {
            node,
            capacity,
            status,
        }) = hello
        else {
            return Err(AttachError::NoHello);
        };
        let link = {
            let mut state = self.lock();
            state.next_link += 1;
            let link = state.next_link;
            let entry = Node {
                link,
                tx: outgoing,
                capacity,
                status,
                placed_since: 0,
                pending: HashMap::new(),
            };
            if let Some(old) = state.nodes.insert(node.clone(), entry) {
                // The same node again on a new channel: what it hosted is gone.
                drop(old);
                self.lose_rooms(&mut state, &node);
            }
            link
        };
        info!(node = %node, capacity, "a media node attached");
        while let Some(text) = incoming.recv().await {
            match serde_json::from_str::<FromNode>(&text) {
                Ok(message) => self.handle_message(&node, link, message),
                Err(e) => warn!(node = %node, error = %e, "a media node sent a bad message"),
            }
        }
        let mut state = self.lock();
        if state.nodes.get(&node).is_some_and(|n| n.link == link) {
            state.nodes.remove(&node);
            let lost = self.lose_rooms(&mut state, &node);
            warn!(node = %node, sessions = lost, "a media node was lost");
        }
        Ok(node)
    }

    fn handle_message(&self, node: &str, link: u64, message: FromNode) {
        match message {
            FromNode::Reply { id, result } => {
                let pending = {
                    let mut state = self.lock();
                    state
                        .nodes
                        .get_mut(node)
                        .filter(|n| n.link == link)
                        .and_then(|n| n.pending.remove(&id))
                };
                if let Some(reply) = pending {
                    let _ = reply.send(result.map_err(SfuError::from_wire));
                }
            }
            FromNode::Event { event } => {
                let _ = self.events.send(event);
            }
            FromNode::Status { status } => {
                let mut state = self.lock();
                if let Some(n) = state.nodes.get_mut(node).filter(|n| n.link == link) {
                    if status.draining && !n.status.draining {
                        info!(node = %node, "a media node is draining");
                    }
                    n.status = status;
                    n.placed_since = 0;
                }
            }
            FromNode::RecordingStats { room, stats } => {
                let state = self.lock();
                if let Some(rec) = state
                    .rooms
                    .get(&room)
                    .filter(|p| p.node == node)
                    .and_then(|p| p.recording.as_ref())
                {
                    rec.update(&stats);
                }
            }
            FromNode::Hello { .. } => warn!(node = %node, "a media node said hello twice"),
        }
    }

    /// Forgets every session placed on `node` and tells the hub what was lost.
    fn lose_rooms(&self, state: &mut State, node: &str) -> usize {
        let lost: Vec<RoomId> = state
            .rooms
            .iter()
            .filter(|(_, p)| p.node == node)
            .map(|(r, _)| r.clone())
            .collect();
        for room in &lost {
            let Some(placement) = state.rooms.remove(room) else {
                continue;
            };
            for participant in placement.participants {
                let _ = self.events.send(SfuEvent::PeerStateChanged {
                    room: room.clone(),
                    participant,
                    peer: PeerRole::Publisher,
                    state: PeerState::Closed,
                    reason: Some(NODE_LOST.to_owned()),
                });
            }
            if placement.recording.is_some() {
                let _ = self.events.send(SfuEvent::RecordingAlarm {
                    room: room.clone(),
                    alarm: RecordingAlarm::MediaNodeLost,
                });
            }
        }
        lost.len()
    }

    /// The media nodes attached now, by name.
    pub fn nodes(&self) -> Vec<NodeView> {
        let state = self.lock();
        let mut nodes: Vec<NodeView> = state
            .nodes
            .iter()
            .map(|(name, n)| NodeView {
                node: name.clone(),
                capacity: n.capacity,
                status: n.status,
                placed_rooms: state.rooms.values().filter(|p| &p.node == name).count() as u64,
            })
            .collect();
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        nodes
    }

    /// The node a session is placed on, if it is.
    pub fn placement(&self, room: &RoomId) -> Option<String> {
        self.lock().rooms.get(room).map(|p| p.node.clone())
    }

    /// Carries out `request` on the node of its room, placing the room first when the
    /// request may create it.
    pub async fn execute(&self, request: Request) -> Result<Response, SfuError> {
        let Some(room) = request.room().cloned() else {
            return self
                .gauges()
                .await
                .map(|gauges| Response::Gauges { gauges });
        };
        let node = {
            let mut state = self.lock();
            match state.rooms.get(&room) {
                Some(p) => p.node.clone(),
                None if request.creates_room() => {
                    let node = place(&state).ok_or(SfuError::NoCapacity)?;
                    state.rooms.insert(
                        room.clone(),
                        Placement {
                            node: node.clone(),
                            participants: BTreeSet::new(),
                            recording: None,
                        },
                    );
                    if let Some(n) = state.nodes.get_mut(&node) {
                        n.placed_since += 1;
                    }
                    info!(node = %node, "a session was placed on a media node");
                    node
                }
                None => return absent(&request),
            }
        };
        let result = self.send(&node, request.clone()).await;
        let mut state = self.lock();
        if let Some(p) = state.rooms.get_mut(&room).filter(|p| p.node == node) {
            match (&request, &result) {
                (Request::Join { participant, .. }, Ok(_)) => {
                    p.participants.insert(participant.clone());
                }
                (Request::Leave { participant, .. }, _) => {
                    p.participants.remove(participant);
                }
                (Request::StopRecording { .. }, _) => p.recording = None,
                (Request::StartRecording { .. }, Ok(_)) => {
                    p.recording = Some(RecorderStats::detached());
                }
                _ => {}
            }
            if p.participants.is_empty() && p.recording.is_none() {
                state.rooms.remove(&room);
            }
        }
        result
    }

    /// [`SfuHandle::start_recording`](crate::SfuHandle::start_recording) on the room's
    /// node; the figures the node reports every second are mirrored here.
    pub async fn start_recording(
        &self,
        room: RoomId,
        spec: RecordingSpec,
    ) -> Result<RecorderStats, SfuError> {
        let request = Request::StartRecording {
            room: room.clone(),
            spec,
        };
        self.execute(request).await?;
        let state = self.lock();
        match state.rooms.get(&room).and_then(|p| p.recording.clone()) {
            Some(stats) => Ok(stats),
            // The node was lost meanwhile; its alarm has been sent.
            None => Err(SfuError::Unavailable),
        }
    }

    async fn send(&self, node: &str, request: Request) -> Result<Response, SfuError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text = serde_json::to_string(&ToNode::Request { id, request }).map_err(|e| {
            SfuError::Remote {
                code: "encode".into(),
                message: e.to_string(),
            }
        })?;
        let (reply, rx) = oneshot::channel();
        {
            let mut state = self.lock();
            let n = state.nodes.get_mut(node).ok_or(SfuError::Unavailable)?;
            n.tx.send(text).map_err(|_| SfuError::Unavailable)?;
            n.pending.insert(id, reply);
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SfuError::Unavailable),
            Err(_) => {
                if let Some(n) = self.lock().nodes.get_mut(node) {
                    n.pending.remove(&id);
                }
                warn!(node = %node, "a media node did not answer in time");
                Err(SfuError::Unavailable)
            }
        }
    }

    /// The gauges of every node, summed; a node that does not answer is left out.
    async fn gauges(&self) -> Result<MediaGauges, SfuError> {
        let names: Vec<String> = self.lock().nodes.keys().cloned().collect();
        let mut sum = MediaGauges::default();
        for name in names {
            if let Ok(Response::Gauges { gauges }) = self.send(&name, Request::MediaGauges).await {
                sum.merge(gauges);
            }
        }
        Ok(sum)
    }
}

/// The node for a new session, if one has room.
fn place(state: &State) -> Option<String> {
    let candidates: Vec<Candidate<'_>> = state
        .nodes
        .iter()
        .map(|(name, n)| Candidate {
            node: name,
            capacity: n.capacity,
            status: n.status,
            placed_since: n.placed_since,
        })
        .collect();
    placement::choose(&candidates).map(str::to_owned)
}

/// The answer for a room that is placed nowhere.
fn absent(request: &Request) -> Result<Response, SfuError> {
    match request {
        Request::Leave { .. } => Ok(Response::Done),
        Request::Tracks { .. } => Ok(Response::Tracks { tracks: vec![] }),
        Request::StopRecording { .. } => Ok(Response::RecordingStopped { summary: None }),
        Request::SetRecordingPaused { .. } => Err(SfuError::NotRecording),
        _ => Err(SfuError::UnknownParticipant),
    }
}

/// A router with channels in place of sockets, for tests of the control side.
#[cfg(test)]
mod tests;
