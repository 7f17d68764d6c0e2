//! The control plane's side of the SFU: commands in, events out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use seduta_recordings::{Recorder, RecorderConfig, RecorderStats, RecordingSummary};

use tokio::sync::{mpsc, oneshot};

use crate::api::{
    Audience, ParticipantId, PublishedTrackInfo, RecordingSpec, RoomId, SfuConfig, SfuEvent,
    SubscriptionPrefs, TrackId, TrackInfo,
};
use crate::cluster::{Request, Response, Router};
use crate::engine;
use crate::error::SfuError;
use crate::gauges::MediaGauges;

/// A command to the media loop, with where to send the reply.
#[derive(Debug)]
pub enum Command {
    /// See [`SfuHandle::join`].
    Join {
        room: RoomId,
        participant: ParticipantId,
        can_subscribe: bool,
        /// See [`SfuHandle::join_publish_only`]: no subscriber connection at all.
        publish_only: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::publish`].
    Publish {
        room: RoomId,
        participant: ParticipantId,
        sdp: String,
        tracks: Vec<PublishedTrackInfo>,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    /// See [`SfuHandle::subscriber_answer`].
    SubscriberAnswer {
        room: RoomId,
        participant: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::set_subscription`].
    SetSubscription {
        room: RoomId,
        participant: ParticipantId,
        track: TrackId,
        prefs: SubscriptionPrefs,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::set_can_subscribe`].
    SetCanSubscribe {
        room: RoomId,
        participant: ParticipantId,
        can_subscribe: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::set_audience`].
    SetAudience {
        room: RoomId,
        participant: ParticipantId,
        audience: Audience,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::leave`].
    Leave {
        room: RoomId,
        participant: ParticipantId,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::tracks`].
    Tracks {
        room: RoomId,
        reply: oneshot::Sender<Result<Vec<TrackInfo>, SfuError>>,
    },
    /// See [`SfuHandle::media_gauges`].
    MediaGauges {
        reply: oneshot::Sender<Result<MediaGauges, SfuError>>,
    },
    /// See [`SfuHandle::start_recording`].
    StartRecording {
        room: RoomId,
        recorder: Handover,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::stop_recording`].
    StopRecording {
        room: RoomId,
        reply: oneshot::Sender<Result<Option<Handover>, SfuError>>,
    },
    /// See [`SfuHandle::set_recording_paused`].
    SetRecordingPaused {
        room: RoomId,
        paused: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    /// See [`SfuHandle::set_recorded`].
    SetRecorded {
        room: RoomId,
        participant: ParticipantId,
        recorded: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
}

/// A recorder on its way to or from the media loop, with the folder its files go to.
pub struct Handover {
    /// The session's recorder.
    pub recorder: Recorder,
    /// Its folder (to keep new file names clear of existing files).
    pub dir: PathBuf,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover").field("dir", &self.dir).finish()
    }
}

/// Starts the media plane.
pub struct Sfu;

impl Sfu {
    /// Binds the UDP socket (and the ICE-TCP listener) and spawns the media loop.
    pub async fn start(
        config: SfuConfig,
    ) -> Result<(SfuHandle, mpsc::UnboundedReceiver<SfuEvent>), SfuError> {
        let (commands, events, udp_addr, tcp_addr) = engine::spawn(config).await?;
        let local = LocalSfu {
            commands,
            udp_addr,
            tcp_addr,
        };
        Ok((
            SfuHandle {
                backend: Backend::Local(local),
            },
            events,
        ))
    }

    /// A media plane made of remote media nodes (multi-node): no sockets here; nodes
    /// attach to the returned [`Router`] over their control channels, and every
    /// session is placed on one of them. Their events arrive on the receiver.
    pub fn cluster() -> (SfuHandle, Arc<Router>, mpsc::UnboundedReceiver<SfuEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let router = Arc::new(Router::new(events));
        let handle = SfuHandle {
            backend: Backend::Cluster(router.clone()),
        };
        (handle, router, rx)
    }
}

/// Drives the media plane, in this process or on remote media nodes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(LocalSfu),
    Cluster(Arc<Router>),
}

/// The media loop of this process.
#[derive(Debug, Clone)]
struct LocalSfu {
    commands: mpsc::UnboundedSender<Command>,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
}

impl LocalSfu {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<T, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| SfuError::Unavailable)?;
        rx.await.map_err(|_| SfuError::Unavailable)?
    }

    /// Carries out one request on the media loop. Creating and stopping a recorder
    /// block (files are opened and closed), so they run on the blocking pool.
    async fn execute(&self, request: Request) -> Result<Response, SfuError> {
        let done = |r: Result<(), SfuError>| r.map(|()| Response::Done);
        match request {
            Request::Join {
                room,
                participant,
                can_subscribe,
                publish_only,
            } => done(
                self.call(|reply| Command::Join {
                    room,
                    participant,
                    can_subscribe,
                    publish_only,
                    reply,
                })
                .await,
            ),
            Request::Publish {
                room,
                participant,
                sdp,
                tracks,
            } => self
                .call(|reply| Command::Publish {
                    room,
                    participant,
                    sdp,
                    tracks,
                    reply,
                })
                .await
                .map(|sdp| Response::Answer { sdp }),
            Request::SubscriberAnswer {
                room,
                participant,
                sdp,
            } => done(
                self.call(|reply| Command::SubscriberAnswer {
                    room,
                    participant,
                    sdp,
                    reply,
                })
                .await,
            ),
            Request::SetSubscription {
                room,
                participant,
                track,
                prefs,
            } => done(
                self.call(|reply| Command::SetSubscription {
                    room,
                    participant,
                    track,
                    prefs,
                    reply,
                })
                .await,
            ),
            Request::SetCanSubscribe {
                room,
                participant,
                can_subscribe,
            } => done(
                self.call(|reply| Command::SetCanSubscribe {
                    room,
                    participant,
                    can_subscribe,
                    reply,
                })
                .await,
            ),
            Request::SetAudience {
                room,
                participant,
                audience,
            } => done(
                self.call(|reply| Command::SetAudience {
                    room,
                    participant,
                    audience,
                    reply,
                })
                .await,
            ),
            Request::Leave { room, participant } => done(
                self.call(|reply| Command::Leave {
                    room,
                    participant,
                    reply,
                })
                .await,
            ),
            Request::Tracks { room } => self
                .call(|reply| Command::Tracks { room, reply })
                .await
                .map(|tracks| Response::Tracks { tracks }),
            Request::MediaGauges => self
                .call(|reply| Command::MediaGauges { reply })
                .await
                .map(|gauges| Response::Gauges { gauges }),
            Request::StartRecording { room, spec } => self
                .start_recording(room, spec)
                .await
                .map(|_| Response::Done),
            Request::StopRecording { room } => self
                .stop_recording(room)
                .await
                .map(|summary| Response::RecordingStopped { summary }),
            Request::SetRecordingPaused { room, paused } => done(
                self.call(|reply| Command::SetRecordingPaused {
                    room,
                    paused,
                    reply,
                })
                .await,
            ),
            Request::SetRecorded {
                room,
                participant,
                recorded,
            } => done(
                self.call(|reply| Command::SetRecorded {
                    room,
                    participant,
                    recorded,
                    reply,
                })
                .await,
            ),
        }
    }

    async fn start_recording(
        &self,
        room: RoomId,
        spec: RecordingSpec,
    ) -> Result<RecorderStats, SfuError> {
        let mut config = RecorderConfig::new(&spec.dir);
        config.mix_name = spec.mix_name;
        config.min_free_bytes = spec.min_free_bytes;
        let recorder = tokio::task::spawn_blocking(move || Recorder::start(config))
            .await
            .map_err(|_| recording_error(false, "the recorder's start did not finish"))?
            .map_err(|e| recording_error(e.is_storage_full(), &e.to_string()))?;
        let stats = recorder.stats();
        let handover = Handover {
            recorder,
            dir: spec.dir,
        };
        let (reply, rx) = oneshot::channel();
        let sent = self.commands.send(Command::StartRecording {
            room,
            recorder: handover,
            reply,
        });
        let refused = match sent {
            Err(mpsc::error::SendError(cmd)) => Some((cmd, SfuError::Unavailable)),
            Ok(()) => match rx.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(SfuError::Unavailable),
            },
        };
        if let Some((Command::StartRecording { recorder, .. }, e)) = refused {
            // Not taken: close its empty files.
            let _ = tokio::task::spawn_blocking(move || recorder.recorder.stop()).await;
            return Err(e);
        }
        Ok(stats)
    }

    async fn stop_recording(&self, room: RoomId) -> Result<Option<RecordingSummary>, SfuError> {
        let back = self
            .call(|reply| Command::StopRecording { room, reply })
            .await?;
        let Some(handover) = back else {
            return Ok(None);
        };
        let summary = tokio::task::spawn_blocking(move || handover.recorder.stop())
            .await
            .map_err(|_| recording_error(false, "the recorder's stop did not finish"))?
            .map_err(|e| recording_error(e.is_storage_full(), &e.to_string()))?;
        Ok(Some(summary))
    }
}

fn recording_error(storage_full: bool, message: &str) -> SfuError {
    SfuError::Recording {
        storage_full,
        message: message.to_owned(),
    }
}

impl SfuHandle {
    /// The bound UDP address of the in-process media plane (`None` with remote nodes).
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        match &self.backend {
            Backend::Local(l) => Some(l.udp_addr),
            Backend::Cluster(_) => None,
        }
    }

    /// The bound ICE-TCP address of the in-process media plane, when enabled.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match &self.backend {
            Backend::Local(l) => l.tcp_addr,
            Backend::Cluster(_) => None,
        }
    }

    /// Carries out one [`Request`], here or on the node that hosts its room. The
    /// typed methods below are the usual way in; a media node's agent uses this.
    pub async fn execute(&self, request: Request) -> Result<Response, SfuError> {
        match &self.backend {
            Backend::Local(l) => l.execute(request).await,
            Backend::Cluster(r) => r.execute(request).await,
        }
    }

    async fn done(&self, request: Request) -> Result<(), SfuError> {
        self.execute(request).await.map(|_| ())
    }

    /// Adds a participant to a room and creates its subscriber connection; a
    /// [`SfuEvent::SubscriberOffer`] follows. With `can_subscribe` false (lobby) no one's
    /// media is forwarded to it.
    pub async fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        can_subscribe: bool,
    ) -> Result<(), SfuError> {
        self.done(Request::Join {
            room,
            participant,
            can_subscribe,
            publish_only: false,
        })
        .await
    }

    /// Adds a participant that only publishes (a WHIP encoder): no subscriber
    /// connection is created for it, so it is never offered anything, never times
    /// out on that side and never receives media. Its tracks reach everyone until
    /// [`SfuHandle::set_audience`] says otherwise. No event follows.
    pub async fn join_publish_only(
        &self,
        room: RoomId,
        participant: ParticipantId,
    ) -> Result<(), SfuError> {
        self.done(Request::Join {
            room,
            participant,
            can_subscribe: false,
            publish_only: true,
        })
        .await
    }

    /// Applies a plain offer that lists no tracks (a WHIP encoder's), deriving the
    /// tracks from its m-lines with [`offer_tracks`](crate::offer_tracks), and returns
    /// the answer.
    pub async fn publish_offer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer_sdp: String,
    ) -> Result<String, SfuError> {
        let tracks = crate::sdp::offer_tracks(&offer_sdp)?;
        self.publish(room, participant, offer_sdp, tracks).await
    }

    /// Applies a publisher offer and returns the answer. `tracks` lists every sending
    /// transceiver; tracks no longer listed are unpublished.
    pub async fn publish(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer_sdp: String,
        tracks: Vec<PublishedTrackInfo>,
    ) -> Result<String, SfuError> {
        let request = Request::Publish {
            room,
            participant,
            sdp: offer_sdp,
            tracks,
        };
        match self.execute(request).await? {
            Response::Answer { sdp } => Ok(sdp),
            other => Err(unexpected(&other)),
        }
    }

    /// Applies the browser's answer to the latest subscriber offer.
    pub async fn subscriber_answer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        answer_sdp: String,
    ) -> Result<(), SfuError> {
        self.done(Request::SubscriberAnswer {
            room,
            participant,
            sdp: answer_sdp,
        })
        .await
    }

    /// Records what a subscriber wants of one video track (tile size, paused).
    pub async fn set_subscription(
        &self,
        room: RoomId,
        participant: ParticipantId,
        track: TrackId,
        prefs: SubscriptionPrefs,
    ) -> Result<(), SfuError> {
        self.done(Request::SetSubscription {
            room,
            participant,
            track,
            prefs,
        })
        .await
    }

    /// Lets a participant receive media, or stops all of it (lobby). Forwarding stops
    /// at once; the subscriber is then renegotiated (its m-lines stopped, or the
    /// allowed tracks added, with a keyframe requested once they are open).
    pub async fn set_can_subscribe(
        &self,
        room: RoomId,
        participant: ParticipantId,
        can_subscribe: bool,
    ) -> Result<(), SfuError> {
        self.done(Request::SetCanSubscribe {
            room,
            participant,
            can_subscribe,
        })
        .await
    }

    /// Sets who receives a participant's published tracks ([`Audience::Everyone`] at
    /// join). Forwarding no longer allowed stops at once; newly allowed tracks are
    /// offered to their subscribers, with a keyframe requested once they are open.
    pub async fn set_audience(
        &self,
        room: RoomId,
        participant: ParticipantId,
        audience: Audience,
    ) -> Result<(), SfuError> {
        self.done(Request::SetAudience {
            room,
            participant,
            audience,
        })
        .await
    }

    /// Closes a participant's peers and unpublishes its tracks.
    pub async fn leave(&self, room: RoomId, participant: ParticipantId) -> Result<(), SfuError> {
        self.done(Request::Leave { room, participant }).await
    }

    /// Starts recording `room` with a recorder made from `spec`: from now on every
    /// frame of a recorded participant ([`SfuHandle::set_recorded`]) is handed to it
    /// as it arrives, without ever blocking the media loop. The room need not exist
    /// yet; it keeps its recorder while empty. Returns the recorder's live figures
    /// (mirrored from the node that runs it, with remote nodes).
    pub async fn start_recording(
        &self,
        room: RoomId,
        spec: RecordingSpec,
    ) -> Result<RecorderStats, SfuError> {
        match &self.backend {
            Backend::Local(l) => l.start_recording(room, spec).await,
            Backend::Cluster(r) => r.start_recording(room, spec).await,
        }
    }

    /// Stops `room`'s recorder and closes its files (`None`: not recorded): what it
    /// wrote.
    pub async fn stop_recording(&self, room: RoomId) -> Result<Option<RecordingSummary>, SfuError> {
        match self.execute(Request::StopRecording { room }).await? {
            Response::RecordingStopped { summary } => Ok(summary),
            other => Err(unexpected(&other)),
        }
    }

    /// Pauses or resumes `room`'s recording. While paused no frame is recorded (the
    /// files stay open: the pause is a gap in their timestamps); on resume each video
    /// track restarts at a keyframe, requested at once.
    pub async fn set_recording_paused(&self, room: RoomId, paused: bool) -> Result<(), SfuError> {
        self.done(Request::SetRecordingPaused { room, paused })
            .await
    }

    /// Whether a participant's tracks are recorded (admitted people; never the lobby).
    /// `false` at join. Turning it off ends its files.
    pub async fn set_recorded(
        &self,
        room: RoomId,
        participant: ParticipantId,
        recorded: bool,
    ) -> Result<(), SfuError> {
        self.done(Request::SetRecorded {
            room,
            participant,
            recorded,
        })
        .await
    }

    /// The media plane's gauges now (rooms, participants, tracks, subscribers'
    /// bandwidth estimates, publishers' bitrate), summed over every media node.
    pub async fn media_gauges(&self) -> Result<MediaGauges, SfuError> {
        match self.execute(Request::MediaGauges).await? {
            Response::Gauges { gauges } => Ok(gauges),
            other => Err(unexpected(&other)),
        }
    }

    /// The tracks currently published in a room.
    pub async fn tracks(&self, room: RoomId) -> Result<Vec<TrackInfo>, SfuError> {
        match self.execute(Request::Tracks { room }).await? {
            Response::Tracks { tracks } => Ok(tracks),
            other => Err(unexpected(&other)),
        }
    }
}

/// A reply of the wrong kind: only a misbehaving node sends one.
fn unexpected(response: &Response) -> SfuError {
    SfuError::Remote {
        code: "unexpected_response".into(),
        message: format!("an answer of the wrong kind: {response:?}"),
    }
}
