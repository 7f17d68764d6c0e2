//! The hub's recording side: starting a session's recorder (at the opening, by the
//! segretario, or again after a restart of the service), pausing and resuming it,
//! stopping it at the close, and telling everyone at all times whether the session is
//! being recorded. Every start, pause, resume, stop and failure is an attendance-log
//! entry, stored before anything changes.
//!
//! The recorder itself runs in the media plane (the SFU's recording tap hands it every
//! frame of the admitted participants); the hub only owns its life.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use seduta_recordings::{MIX_NAME, RecorderStats, RecordingSummary};
use seduta_sfu::{RecordingAlarm, RecordingSpec, RoomId, SfuError};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::{ActionError, Hub};
use crate::clock::{now_ms, rfc3339};
use crate::meeting::{MeetingInput, Phase, RecordingEvent};
use crate::preservation::session_folder;
use crate::protocol::{RecordingState, RecordingStatus, ServerMessage};

/// A session's recording, once stopped: what the preservation job starts from.
#[derive(Debug, Clone)]
pub struct StoppedRecording {
    /// The session.
    pub session: String,
    /// The folder of its files (every run of it: `mix.flac`, `mix-2.flac`, …).
    pub dir: PathBuf,
    /// The run that just stopped (1, then 2 after a restart of the service, …).
    pub run: u32,
    /// What the recorder wrote in this run.
    pub summary: RecordingSummary,
}

/// Called when a session has closed (its log sealed) with what its recording holds.
/// The preservation copy attaches here ([`crate::preservation::Preservation`]). It is
/// called on the hub's task: it must return at once (hand the work over, do not do it).
pub trait RecordingFinished: Send + Sync + std::fmt::Debug {
    /// The recording of `stopped.session` has stopped and its files are closed.
    fn finished(&self, stopped: StoppedRecording);
}

/// Where recordings go and who hears of a stopped one.
#[derive(Debug, Clone, Default)]
pub struct RecordingSetup {
    /// `<data_dir>/recordings`: each session records into `<dir>/<session id>/`.
    /// `None`: sessions are not recorded.
    pub dir: Option<PathBuf>,
    /// Told when a session's recording stopped.
    pub on_finished: Option<Arc<dyn RecordingFinished>>,
    /// Below this much free room on the recordings' disk a recording does not start,
    /// and a running one is stopped (and the segretario alarmed); 0: not watched.
    pub min_free_bytes: u64,
}

/// A recorder running in the media plane for one session.
#[derive(Debug, Clone)]
pub(super) struct ActiveRecording {
    dir: PathBuf,
    run: u32,
    paused: bool,
    /// The recorder's live figures (bytes, backlog, mix lag), for /metrics.
    pub(super) stats: RecorderStats,
}

impl Hub {
    /// The session just opened: recording starts if the organ records from the opening.
    pub(super) async fn recording_after_open(&mut self, session: &str, actor: &str) {
        let wanted = self
            .hosts
            .get(session)
            .is_some_and(|h| h.record_from_opening);
        if wanted
            && let Err(e) = self
                .start_recorder(session, RecordingEvent::Started, Some(actor), json!({}))
                .await
        {
            warn!(
                code = e.code,
                "the recording could not start at the opening"
            );
        }
    }

    /// The segretario pauses the recording.
    pub(super) async fn pause_recording(
        &mut self,
        session: &str,
        actor: &str,
    ) -> Result<(), ActionError> {
        let state = self.recording_state(session);
        let Some(active) = self.active_recordings.get(session).cloned() else {
            return Err(not_recording(state));
        };
        if active.paused || state != RecordingState::Recording {
            return Err(not_recording(state));
        }
        self.log_recording(
            session,
            RecordingEvent::Paused,
            Some(actor),
            json!({ "run": active.run }),
        )
        .await?;
        if let Err(e) = self
            .sfu
            .set_recording_paused(RoomId(session.to_owned()), true)
            .await
        {
            warn!(error = %e, "the media plane could not pause the recording");
        }
        if let Some(a) = self.active_recordings.get_mut(session) {
            a.paused = true;
        }
        self.set_recording(session, RecordingState::Paused);
        Ok(())
    }

    /// The segretario resumes the recording, or starts it (an organ that does not
    /// record from the opening, or after a restart that found it paused).
    pub(super) async fn resume_recording(
        &mut self,
        session: &str,
        actor: &str,
    ) -> Result<(), ActionError> {
        let state = self.recording_state(session);
        if state == RecordingState::Recording {
            return Err(ActionError::new(
                "already_recording",
                "the session is already being recorded",
            ));
        }
        let phase = self.hosts.get(session).map(|h| h.meeting.phase());
        if !matches!(phase, Some(Phase::Open | Phase::Suspended)) {
            return Err(ActionError::new(
                "wrong_phase",
                "the recording runs only while the session is open or suspended",
            ));
        }
        match self.active_recordings.get(session).cloned() {
            Some(active) if active.paused => {
                self.log_recording(
                    session,
                    RecordingEvent::Resumed,
                    Some(actor),
                    json!({ "run": active.run }),
                )
                .await?;
                if let Err(e) = self
                    .sfu
                    .set_recording_paused(RoomId(session.to_owned()), false)
                    .await
                {
                    warn!(error = %e, "the media plane could not resume the recording");
                }
                if let Some(a) = self.active_recordings.get_mut(session) {
                    a.paused = false;
                }
                self.set_recording(session, RecordingState::Recording);
                Ok(())
            }
            _ => {
                let event = if state == RecordingState::Paused {
                    RecordingEvent::Resumed
                } else {
                    RecordingEvent::Started
                };
                self.start_recorder(session, event, Some(actor), json!({}))
                    .await
            }
        }
    }

    /// Before the close: the recorder is stopped (its files closed) and the stop logged
    /// with a summary of what was recorded; the hook hears of it once the close has
    /// taken effect (`end_session`).
    pub(super) async fn stop_recording_for_close(&mut self, session: &str, actor: &str) {
        self.stop_recorder(session, Some(actor), json!({})).await;
    }

    /// The recorder raised an alarm. A disk nearly or wholly full stops the recording
    /// at once (while its files can still be closed cleanly; a session is better
    /// without a recording than with a corrupt one), logged with the reason; a failed
    /// mix is logged and the tracks go on. The segretario is told either way, and the
    /// alarm is counted for monitoring.
    pub(super) async fn recording_alarm(&mut self, session: &str, alarm: RecordingAlarm) {
        if alarm == RecordingAlarm::MediaNodeLost {
            self.recording_node_lost(session).await;
            return;
        }
        let (code, message, stop, mut data) = match &alarm {
            RecordingAlarm::StorageLow { free_bytes } => (
                "disk_full",
                format!(
                    "the recordings' disk has only {free_bytes} bytes free: the recording was stopped"
                ),
                true,
                json!({ "reason": "disk_full", "free_bytes": free_bytes }),
            ),
            RecordingAlarm::StorageFull { error } => (
                "disk_full",
                format!("the recordings' disk is full ({error}): the recording was stopped"),
                true,
                json!({ "reason": "disk_full", "error": error }),
            ),
            RecordingAlarm::MixFailed { error } => (
                "mix_failed",
                format!("the live mix failed ({error}); the tracks are still recorded"),
                false,
                json!({ "track": "mix", "error": error }),
            ),
            RecordingAlarm::MediaNodeLost => return,
        };
        self.metrics.recording_alarm(code);
        if stop {
            if !self.active_recordings.contains_key(session) {
                return; // Already stopped (the same full disk raises more than one alarm).
            }
            tracing::error!(code, "the recordings' disk is full: the recording stops");
            if let Ok(free) = self.recording_free_bytes() {
                data["free_bytes"] = json!(free);
            }
            self.stop_recorder(session, None, data).await;
        } else {
            warn!(code, "the live mix failed");
            self.log_failure(session, data).await;
        }
        self.tell_segretario(
            session,
            ServerMessage::RecordingAlarm {
                code: code.to_owned(),
                message,
                stopped: stop,
            },
        );
    }

    /// Free bytes on the recordings' disk.
    pub(super) fn recording_free_bytes(&self) -> std::io::Result<u64> {
        let dir = self
            .recording
            .dir
            .as_deref()
            .ok_or_else(|| std::io::Error::other("this server does not record"))?;
        seduta_recordings::free_bytes(dir)
    }

    /// Stops the session's recorder: the media plane hands it back, its files are
    /// closed, and `recording_stopped` is logged (with `data`, a summary of what was
    /// written and the instant the media stopped) once they are. The stopped run waits
    /// in `stopped_recordings` for the close, which starts its preservation copy.
    async fn stop_recorder(&mut self, session: &str, actor: Option<&str>, mut data: Value) {
        let state = self.recording_state(session);
        let active = self.active_recordings.remove(session);
        if state == RecordingState::Off && active.is_none() {
            return;
        }
        let mut stopped = None;
        if let Some(active) = active {
            data["run"] = json!(active.run);
            // The media ends at the call; closing the files takes a while longer, and
            // the entry is written after it.
            let media_stopped_at = rfc3339(now_ms());
            let stopping = self.sfu.stop_recording(RoomId(session.to_owned())).await;
            data["media_stopped_at"] = json!(media_stopped_at);
            match stopping {
                Ok(Some(summary)) => {
                    data["summary"] = summary_json(&summary, &active.dir);
                    stopped = Some(StoppedRecording {
                        session: session.to_owned(),
                        dir: active.dir.clone(),
                        run: active.run,
                        summary,
                    });
                }
                Ok(None) => warn!("the media plane had no recorder for the session"),
                Err(e) => {
                    warn!(error = %e, "the recorder did not stop cleanly");
                    data["error"] = json!(e.to_string());
                }
            }
        }
        if let Err(e) = self
            .log_recording(session, RecordingEvent::Stopped, actor, data)
            .await
        {
            warn!(
                code = e.code,
                "the end of the recording could not be logged"
            );
        }
        self.set_recording(session, RecordingState::Off);
        if let Some(stopped) = stopped {
            info!(
                run = stopped.run,
                tracks = stopped.summary.tracks.len(),
                "a session's recording stopped"
            );
            self.stopped_recordings.insert(session.to_owned(), stopped);
        }
    }

    /// The media node that ran the session's recorder was lost (multi-node): that
    /// run's files end at their last sync, as after a crash. A recording goes on at
    /// once in a new run on the node the session is placed on now (logged as resumed
    /// with the reason); a paused one stays paused and a resume starts the new run.
    async fn recording_node_lost(&mut self, session: &str) {
        let Some(lost) = self.active_recordings.remove(session) else {
            return;
        };
        self.metrics.recording_alarm("media_node_lost");
        warn!(
            run = lost.run,
            "the media node recording a session was lost"
        );
        if lost.paused {
            return;
        }
        let data = json!({ "reason": "media_node_lost", "lost_run": lost.run });
        if let Err(e) = self
            .start_recorder(session, RecordingEvent::Resumed, None, data)
            .await
        {
            warn!(
                code = e.code,
                "the recording could not go on after a node loss"
            );
            self.set_recording(session, RecordingState::Off);
            self.tell_segretario(
                session,
                ServerMessage::RecordingAlarm {
                    code: "media_node_lost".to_owned(),
                    message: format!(
                        "the media node recording the session was lost and the recording could not go on: {}",
                        e.message
                    ),
                    stopped: true,
                },
            );
        }
    }

    /// After a restart: a session that was being recorded is recorded again, into new
    /// files of the same folder (the old ones end where the service stopped); one that
    /// was paused stays paused.
    pub(super) async fn recover_recording(&mut self, session: &str) {
        let Some(host) = self.hosts.get(session) else {
            return;
        };
        if !matches!(host.meeting.phase(), Phase::Open | Phase::Suspended) {
            return;
        }
        let last = host
            .meeting
            .log()
            .entries()
            .iter()
            .rev()
            .find_map(|e| match e.kind.as_str() {
                "recording_started" | "recording_resumed" => {
                    Some((RecordingState::Recording, e.at.clone()))
                }
                "recording_paused" => Some((RecordingState::Paused, e.at.clone())),
                "recording_stopped" => Some((RecordingState::Off, e.at.clone())),
                _ => None,
            });
        match last {
            Some((RecordingState::Recording, _)) => {
                let data = json!({ "reason": "service_restarted" });
                if let Err(e) = self
                    .start_recorder(session, RecordingEvent::Resumed, None, data)
                    .await
                {
                    warn!(
                        code = e.code,
                        "the recording could not resume after a restart"
                    );
                }
            }
            Some((RecordingState::Paused, at)) => {
                if let Some(host) = self.hosts.get_mut(session) {
                    host.recording = RecordingStatus {
                        state: RecordingState::Paused,
                        since: Some(at),
                    };
                }
            }
            _ => {}
        }
    }

    /// A track's file failed in the media plane: logged, and the segretario told.
    pub(super) async fn recording_failed(
        &mut self,
        session: &str,
        participant: &str,
        track: &str,
        error: &str,
    ) {
        warn!(%error, "a recorded track failed");
        let data = json!({ "participant": participant, "track": track, "error": error });
        self.log_failure(session, data).await;
        self.tell_segretario(
            session,
            ServerMessage::RecordingFailed {
                participant_id: participant.to_owned(),
                track: track.to_owned(),
                message: error.to_owned(),
            },
        );
    }

    /// Logs `recording_failed` with `data`; a failure to log is only warned about (the
    /// recording goes on either way).
    async fn log_failure(&mut self, session: &str, data: Value) {
        if let Err(e) = self
            .log_recording(session, RecordingEvent::Failed, None, data)
            .await
        {
            warn!(code = e.code, "a recording failure could not be logged");
        }
    }

    fn tell_segretario(&mut self, session: &str, message: ServerMessage) {
        let Some(segretario) = self
            .hosts
            .get(session)
            .map(|h| h.meeting.segretario().to_owned())
        else {
            return;
        };
        self.send_to(session, &segretario, message);
    }

    /// Tells one participant whether the session is being recorded (after `joined`).
    pub(super) fn tell_recording(&mut self, session: &str, who: &str) {
        let Some(status) = self.hosts.get(session).map(|h| h.recording.clone()) else {
            return;
        };
        self.send_to(session, who, recording_message(status));
    }

    fn recording_state(&self, session: &str) -> RecordingState {
        self.hosts
            .get(session)
            .map(|h| h.recording.state)
            .unwrap_or_default()
    }

    /// Records the new state and tells everyone.
    fn set_recording(&mut self, session: &str, state: RecordingState) {
        let status = RecordingStatus {
            state,
            since: Some(rfc3339(now_ms())),
        };
        if let Some(host) = self.hosts.get_mut(session) {
            host.recording = status.clone();
        }
        self.broadcast(session, None, &recording_message(status));
        self.push_view(session);
    }

    /// Starts a recorder for `session` in a new run (new files; nothing existing is
    /// touched), logs `event`, and hands the recorder to the media plane.
    async fn start_recorder(
        &mut self,
        session: &str,
        event: RecordingEvent,
        actor: Option<&str>,
        mut data: Value,
    ) -> Result<(), ActionError> {
        let Some(root) = self.recording.dir.clone() else {
            return Err(ActionError::new(
                "recording_unavailable",
                "this server does not record sessions",
            ));
        };
        let Some(dir) = session_folder(&root, session) else {
            return Err(ActionError::new(
                "recording_unavailable",
                "this session's id cannot name a folder",
            ));
        };
        let run = next_run(&dir);
        let spec = RecordingSpec {
            dir: dir.clone(),
            mix_name: mix_name(run),
            min_free_bytes: self.recording.min_free_bytes,
        };
        let room = RoomId(session.to_owned());
        let stats = match self.sfu.start_recording(room.clone(), spec).await {
            Ok(stats) => stats,
            Err(e) => {
                let code = match &e {
                    SfuError::Recording {
                        storage_full: true, ..
                    } => "disk_full",
                    _ => "recording_failed",
                };
                if code == "disk_full" {
                    self.metrics.recording_alarm(code);
                }
                let error = e.to_string();
                warn!(%error, "a session's recorder could not start");
                let data = json!({ "run": run, "error": error });
                let _ = self
                    .log_recording(session, RecordingEvent::Failed, actor, data)
                    .await;
                return Err(ActionError::new(
                    code,
                    format!("the recording could not start: {error}"),
                ));
            }
        };
        data["run"] = json!(run);
        data["folder"] = json!(format!("recordings/{session}"));
        data["mix"] = json!(format!("{}.flac", mix_name(run)));
        if let Err(e) = self.log_recording(session, event, actor, data).await {
            // Not logged, not recorded: the recorder goes, closing its empty files.
            let _ = self.sfu.stop_recording(room).await;
            return Err(e);
        }
        self.active_recordings.insert(
            session.to_owned(),
            ActiveRecording {
                dir,
                run,
                paused: false,
                stats,
            },
        );
        self.set_recording(session, RecordingState::Recording);
        info!(run, "a session's recording started");
        Ok(())
    }

    async fn log_recording(
        &mut self,
        session: &str,
        event: RecordingEvent,
        actor: Option<&str>,
        data: Value,
    ) -> Result<(), ActionError> {
        let input = MeetingInput::Recording { event, data };
        self.meeting_input_by(session, input, actor).await
    }
}

fn not_recording(state: RecordingState) -> ActionError {
    let message = match state {
        RecordingState::Paused => "the recording is already paused",
        _ => "the session is not being recorded",
    };
    ActionError::new("not_recording", message)
}

fn recording_message(status: RecordingStatus) -> ServerMessage {
    ServerMessage::Recording {
        state: status.state,
        since: status.since,
    }
}

/// The mix's file stem of run `run`: `mix`, then `mix-2`, `mix-3`…
fn mix_name(run: u32) -> String {
    if run <= 1 {
        MIX_NAME.to_owned()
    } else {
        format!("{MIX_NAME}-{run}")
    }
}

/// The first run whose mix files do not exist yet in `dir`.
fn next_run(dir: &Path) -> u32 {
    (1..)
        .find(|&run| {
            let name = mix_name(run);
            !["webm", "flac", "json"]
                .iter()
                .any(|ext| dir.join(format!("{name}.{ext}")).exists())
        })
        .unwrap_or(1)
}

/// What the log keeps of a stopped run: each file with its length and how it ended.
fn summary_json(summary: &RecordingSummary, dir: &Path) -> Value {
    let name = |p: &Path| {
        p.strip_prefix(dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let tracks: Vec<Value> = summary
        .tracks
        .iter()
        .map(|t| {
            let mut v = json!({ "file": name(t.file.as_path()) });
            if let Some(end) = &t.end {
                v["frames"] = json!(end.frames);
                v["media_seconds"] = json!(end.media_seconds);
            }
            if let Some(error) = &t.error {
                v["error"] = json!(error);
            }
            v
        })
        .collect();
    let mut out = json!({ "tracks": tracks, "dropped_frames": summary.dropped_frames });
    if let Some(mix) = &summary.mix {
        out["mix_flac_samples"] = json!(mix.flac_samples);
    }
    if let Some(error) = &summary.mix_error {
        out["mix_error"] = json!(error);
    }
    out
}
