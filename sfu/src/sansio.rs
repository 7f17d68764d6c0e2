//! The sans-IO core without the engine around it, for benchmarks (`sfu/benches/`):
//! drive [`Core`] with commands, datagrams and time, and collect what it sends from
//! its `out` queue and what it reports from its `events`. Not a stable interface.

use std::time::Instant;

use tokio::sync::oneshot;

pub use crate::core::Core;
use crate::handle::Command;
pub use crate::outbox::Outbox;
pub use crate::peer::Outgoing;
use crate::{ParticipantId, PublishedTrackInfo, RoomId, SfuError, SubscriptionPrefs, TrackId};

/// Runs one command and takes its reply, which the core gives before returning.
fn call<T>(
    core: &mut Core,
    now: Instant,
    make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
) -> Result<T, SfuError> {
    let (reply, mut rx) = oneshot::channel();
    core.handle_command(make(reply), now);
    rx.try_recv().map_err(|_| SfuError::Unavailable)?
}

/// As [`crate::SfuHandle::join`].
pub fn join(
    core: &mut Core,
    room: RoomId,
    participant: ParticipantId,
    now: Instant,
) -> Result<(), SfuError> {
    call(core, now, |reply| Command::Join {
        room,
        participant,
        can_subscribe: true,
        publish_only: false,
        reply,
    })
}

/// As [`crate::SfuHandle::publish`]: applies a publisher offer, returns the answer.
pub fn publish(
    core: &mut Core,
    room: RoomId,
    participant: ParticipantId,
    sdp: String,
    tracks: Vec<PublishedTrackInfo>,
    now: Instant,
) -> Result<String, SfuError> {
    call(core, now, |reply| Command::Publish {
        room,
        participant,
        sdp,
        tracks,
        reply,
    })
}

/// As [`crate::SfuHandle::subscriber_answer`].
pub fn subscriber_answer(
    core: &mut Core,
    room: RoomId,
    participant: ParticipantId,
    sdp: String,
    now: Instant,
) -> Result<(), SfuError> {
    call(core, now, |reply| Command::SubscriberAnswer {
        room,
        participant,
        sdp,
        reply,
    })
}

/// As [`crate::SfuHandle::set_subscription`].
pub fn set_subscription(
    core: &mut Core,
    room: RoomId,
    participant: ParticipantId,
    track: TrackId,
    prefs: SubscriptionPrefs,
    now: Instant,
) -> Result<(), SfuError> {
    call(core, now, |reply| Command::SetSubscription {
        room,
        participant,
        track,
        prefs,
        reply,
    })
}
