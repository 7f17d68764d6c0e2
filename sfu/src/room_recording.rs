//! A room's side of the recording: who is recorded, pause and resume, and what the
//! recorder asks of the publishers (keyframes) or reports (failed files).

use std::time::Instant;

use str0m::media::Mid;
use tracing::warn;

use crate::api::{Layer, ParticipantId, SfuEvent, TrackKind};
use crate::participant::rid_of;
use crate::record_tap::{RecordTap, TapEvent};
use crate::room::Room;

impl Room {
    /// Starts feeding `tap` (the session's recorder); false (and `tap` dropped) when
    /// the room is already recorded.
    pub(crate) fn start_recording(&mut self, tap: RecordTap) -> bool {
        if self.tap.is_some() {
            return false;
        }
        self.tap = Some(tap);
        true
    }

    /// Stops feeding the recorder and hands it back; every track's file is ended.
    pub(crate) fn stop_recording(&mut self) -> Option<RecordTap> {
        let mut tap = self.tap.take()?;
        for p in &mut self.participants {
            for t in &mut p.published {
                tap.end(t);
            }
        }
        Some(tap)
    }

    /// Whether participant `idx` is recorded. A participant no longer recorded (sent
    /// back to the lobby, out of the room under art. 78) has its files ended.
    pub(crate) fn set_recorded(&mut self, idx: usize, recorded: bool) {
        let p = &mut self.participants[idx];
        p.recorded = recorded;
        if !recorded && let Some(tap) = self.tap.as_mut() {
            for t in &mut p.published {
                tap.end(t);
            }
        }
    }

    /// Pauses or resumes the recording; on resume every recorded video track asks its
    /// publisher for a keyframe to restart from.
    pub(crate) fn set_recording_paused(&mut self, paused: bool, now: Instant) -> bool {
        let Some(tap) = self.tap.as_mut() else {
            return false;
        };
        tap.set_paused(paused);
        if paused {
            return true;
        }
        let mut wanted = Vec::new();
        for p in &mut self.participants {
            for t in &mut p.published {
                if t.recording.is_some() && t.kind == TrackKind::Video {
                    RecordTap::restart_at_keyframe(t);
                    if let Some(layer) = t.recording_layer() {
                        wanted.push((p.id.clone(), t.mid, layer));
                    }
                }
            }
        }
        for (who, mid, layer) in wanted {
            self.keyframe_for_recording(&who, mid, layer, now);
        }
        true
    }

    /// Carries out what the recorder asked for since the last call.
    pub(crate) fn poll_recording(&mut self, now: Instant, events: &mut Vec<SfuEvent>) {
        let Some(tap) = self.tap.as_mut() else {
            return;
        };
        for event in tap.poll() {
            match event {
                TapEvent::KeyframeWanted {
                    participant,
                    mid,
                    layer,
                } => self.keyframe_for_recording(&participant, mid, layer, now),
                TapEvent::Alarm(alarm) => events.push(SfuEvent::RecordingAlarm {
                    room: self.id.clone(),
                    alarm,
                }),
                TapEvent::Failed {
                    participant,
                    mid,
                    error,
                } => {
                    warn!(%error, "a recorded track's file failed");
                    let Some(p) = self.participants.iter_mut().find(|p| p.id == participant) else {
                        continue;
                    };
                    let Some(t) = p.published.iter_mut().find(|t| t.mid == mid) else {
                        continue;
                    };
                    RecordTap::mark_failed(t);
                    events.push(SfuEvent::RecordingFailed {
                        room: self.id.clone(),
                        participant,
                        track: t.id.clone(),
                        error,
                    });
                }
            }
        }
    }

    /// A PLI for the recorder, on the recorded layer (throttled like subscribers').
    pub(crate) fn keyframe_for_recording(
        &mut self,
        publisher: &ParticipantId,
        mid: Mid,
        layer: Layer,
        now: Instant,
    ) {
        let Some(p) = self.participants.iter_mut().find(|p| &p.id == publisher) else {
            return;
        };
        let Some(t) = p.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        if t.kind != TrackKind::Video {
            return;
        }
        let rid = rid_of(layer, t.simulcast);
        if !t.throttle.allow(rid, now) {
            return;
        }
        if let Some(peer) = p.publisher.as_mut() {
            crate::forward::request_pli(peer, mid, rid);
        }
    }
}
