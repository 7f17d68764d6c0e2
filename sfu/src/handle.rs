//! The control plane's side of the SFU: commands in, events out.

use std::net::SocketAddr;
use std::path::PathBuf;

use seduta_recordings::Recorder;

use tokio::sync::{mpsc, oneshot};

use crate::api::{
    Audience, ParticipantId, PublishedTrackInfo, RoomId, SfuConfig, SfuEvent, SubscriptionPrefs,
    TrackId, TrackInfo,
};
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
        Ok((
            SfuHandle {
                commands,
                udp_addr,
                tcp_addr,
            },
            events,
        ))
    }
}

/// Drives the media plane. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    commands: mpsc::UnboundedSender<Command>,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
}

impl SfuHandle {
    /// The bound UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The bound ICE-TCP address, when enabled.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

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

    /// Adds a participant to a room and creates its subscriber connection; a
    /// [`SfuEvent::SubscriberOffer`] follows. With `can_subscribe` false (lobby) no one's
    /// media is forwarded to it.
    pub async fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        can_subscribe: bool,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::Join {
            room,
            participant,
            can_subscribe,
            publish_only: false,
            reply,
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
        self.call(|reply| Command::Join {
            room,
            participant,
            can_subscribe: false,
            publish_only: true,
            reply,
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
        self.call(|reply| Command::Publish {
            room,
            participant,
            sdp: offer_sdp,
            tracks,
            reply,
        })
        .await
    }

    /// Applies the browser's answer to the latest subscriber offer.
    pub async fn subscriber_answer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        answer_sdp: String,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::SubscriberAnswer {
            room,
            participant,
            sdp: answer_sdp,
            reply,
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
        self.call(|reply| Command::SetSubscription {
            room,
            participant,
            track,
            prefs,
            reply,
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
        self.call(|reply| Command::SetCanSubscribe {
            room,
            participant,
            can_subscribe,
            reply,
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
        self.call(|reply| Command::SetAudience {
            room,
            participant,
            audience,
            reply,
        })
        .await
    }

    /// Closes a participant's peers and unpublishes its tracks.
    pub async fn leave(&self, room: RoomId, participant: ParticipantId) -> Result<(), SfuError> {
        self.call(|reply| Command::Leave {
            room,
            participant,
            reply,
        })
        .await
    }

    /// Starts recording `room` into `recorder` (whose files go to `dir`): from now
    /// on every frame of a recorded participant ([`SfuHandle::set_recorded`]) is handed
    /// to it as it arrives, without ever blocking the media loop. The room need not
    /// exist yet; it keeps its recorder while empty.
    pub async fn start_recording(
        &self,
        room: RoomId,
        recorder: Recorder,
        dir: PathBuf,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::StartRecording {
            room,
            recorder: Handover { recorder, dir },
            reply,
        })
        .await
    }

    /// Stops feeding `room`'s recorder and hands it back (`None`: not recorded). Every
    /// track's file is ended; the caller stops the recorder (a blocking call).
    pub async fn stop_recording(&self, room: RoomId) -> Result<Option<Recorder>, SfuError> {
        let back = self
            .call(|reply| Command::StopRecording { room, reply })
            .await?;
        Ok(back.map(|h| h.recorder))
    }

    /// Pauses or resumes `room`'s recording. While paused no frame is recorded (the
    /// files stay open: the pause is a gap in their timestamps); on resume each video
    /// track restarts at a keyframe, requested at once.
    pub async fn set_recording_paused(&self, room: RoomId, paused: bool) -> Result<(), SfuError> {
        self.call(|reply| Command::SetRecordingPaused {
            room,
            paused,
            reply,
        })
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
        self.call(|reply| Command::SetRecorded {
            room,
            participant,
            recorded,
            reply,
        })
        .await
    }

    /// The media plane's gauges now (tracks, subscribers' bandwidth estimates,
    /// publishers' bitrate), measured by the media loop over every room.
    pub async fn media_gauges(&self) -> Result<MediaGauges, SfuError> {
        self.call(|reply| Command::MediaGauges { reply }).await
    }

    /// The tracks currently published in a room.
    pub async fn tracks(&self, room: RoomId) -> Result<Vec<TrackInfo>, SfuError> {
        self.call(|reply| Command::Tracks { room, reply }).await
    }
}
