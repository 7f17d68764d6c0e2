//! The hub's side of the metrics: the snapshot it answers at a scrape, and the join
//! times and layer switches it observes as they happen.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::meeting::Phase;
use crate::metrics::{HubStats, RecordingFigures, SessionQuorum};

use super::Hub;

impl Hub {
    /// What the hub holds now, for a scrape.
    pub(super) fn stats(&self) -> HubStats {
        let mut phases: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut quorum = Vec::new();
        for (id, host) in &self.hosts {
            let phase = host.meeting.phase();
            *phases.entry(phase_name(phase)).or_default() += 1;
            if matches!(phase, Phase::Open | Phase::Suspended | Phase::Convened) {
                let q = host.meeting.quorum();
                quorum.push(SessionQuorum {
                    session: id.clone(),
                    present: q.counted,
                    required: q.required,
                    reached: q.reached,
                });
            }
        }
        quorum.sort();
        HubStats {
            sessions_by_phase: phases.into_iter().map(|(p, n)| (p.to_owned(), n)).collect(),
            participants: self
                .rooms
                .values()
                .map(|r| r.participants().count() as u64)
                .sum(),
            quorum,
            recordings: self.active_recordings.len() as u64,
            recording: self.recording_figures(),
        }
    }

    fn recording_figures(&self) -> RecordingFigures {
        let mut figures = RecordingFigures {
            disk_free_bytes: self.recording_free_bytes().ok(),
            ..RecordingFigures::default()
        };
        for active in self.active_recordings.values() {
            let s = &active.stats;
            figures.bytes += s.bytes_written();
            figures.backlog_frames += s.queued_frames() as u64;
            figures.dropped_frames += s.dropped_frames();
            figures.mix_lag_seconds = figures.mix_lag_seconds.max(s.mix_lag().as_secs_f64());
        }
        figures
    }

    /// A participant joined: the clock of their join time starts.
    pub(super) fn join_started(&mut self, session: &str, who: &str) {
        self.join_clock
            .insert((session.to_owned(), who.to_owned()), Instant::now());
    }

    /// One of the participant's media peers connected: the first one ends their join.
    pub(super) fn media_connected(&mut self, session: &str, who: &str) {
        if let Some(started) = self
            .join_clock
            .remove(&(session.to_owned(), who.to_owned()))
        {
            self.metrics.observe_join(started.elapsed().as_secs_f64());
        }
    }

    /// A participant left before their media connected: no join time.
    pub(super) fn join_abandoned(&mut self, session: &str, who: &str) {
        self.join_clock
            .remove(&(session.to_owned(), who.to_owned()));
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Convened => "convened",
        Phase::Open => "open",
        Phase::Suspended => "suspended",
        Phase::Closed => "closed",
    }
}
