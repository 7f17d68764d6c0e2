use thiserror::Error;

use super::SessionRecord;
use crate::log::{self, Broken};
use crate::time::parse_time;

/// Why a record cannot be packaged. Nothing is written when a record is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// A time or date field does not parse.
    #[error("{field}: `{value}` is not a valid time or date")]
    BadTime {
        /// Which field.
        field: String,
        /// What it held.
        value: String,
    },
    /// A participant id is referred to but not among the participants.
    #[error("{field}: unknown participant `{id}`")]
    UnknownParticipant {
        /// Where it was referred to.
        field: String,
        /// The id.
        id: String,
    },
    /// A vote's counts disagree with its names.
    #[error("vote {number}: the counts do not match the names per option")]
    CountMismatch {
        /// The vote's number.
        number: u32,
    },
    /// The attendance log is broken.
    #[error("attendance log: {0}")]
    BrokenLog(Broken),
    /// The attendance log is intact but not sealed: the session is not closed.
    #[error("attendance log: not sealed")]
    UnsealedLog,
    /// The attendance log belongs to another session.
    #[error("attendance log: belongs to session `{0}`")]
    ForeignLog(String),
}

impl RecordError {
    /// A stable code for the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::BadTime { .. } => "record_bad_time",
            RecordError::UnknownParticipant { .. } => "record_unknown_participant",
            RecordError::CountMismatch { .. } => "record_count_mismatch",
            RecordError::BrokenLog(_) => "record_log_broken",
            RecordError::UnsealedLog => "record_log_unsealed",
            RecordError::ForeignLog(_) => "record_log_foreign",
        }
    }
}

impl SessionRecord {
    /// Checks that the record is consistent: times parse, every id is a participant,
    /// counts agree with the names, and the attendance log is intact, sealed and this
    /// session's.
    pub fn check(&self) -> Result<(), RecordError> {
        self.check_times()?;
        self.check_people()?;
        for (_, vote) in self.votes() {
            let c = vote.count;
            let names = (
                vote.favorevoli.len(),
                vote.contrari.len(),
                vote.astenuti.len(),
            );
            if names
                != (
                    c.favorevoli as usize,
                    c.contrari as usize,
                    c.astenuti as usize,
                )
            {
                return Err(RecordError::CountMismatch {
                    number: vote.number,
                });
            }
        }
        let verified = log::verify(&self.attendance_log).map_err(RecordError::BrokenLog)?;
        if !verified.sealed {
            return Err(RecordError::UnsealedLog);
        }
        match self.attendance_log.first() {
            Some(first) if first.session != self.session_id => {
                Err(RecordError::ForeignLog(first.session.clone()))
            }
            _ => Ok(()),
        }
    }

    fn check_times(&self) -> Result<(), RecordError> {
        let bad = |field: &str, value: &str| RecordError::BadTime {
            field: field.to_owned(),
            value: value.to_owned(),
        };
        if crate::time::parse_date(&self.date).is_none() {
            return Err(bad("date", &self.date));
        }
        let mut times: Vec<(String, &str)> = vec![
            ("started_at".into(), &self.started_at),
            ("ended_at".into(), &self.ended_at),
        ];
        for e in &self.events {
            times.push(("events.at".into(), &e.at));
        }
        for q in &self.quorum_timeline {
            times.push(("quorum_timeline.at".into(), &q.at));
        }
        for item in &self.items {
            for a in &item.abstentions {
                times.push((format!("items[{}].abstentions", item.number), &a.left_at));
                if let Some(back) = &a.returned_at {
                    times.push((format!("items[{}].abstentions", item.number), back));
                }
            }
            for v in &item.votes {
                times.push((format!("vote {}", v.number), &v.opened_at));
                times.push((format!("vote {}", v.number), &v.closed_at));
            }
        }
        match times.into_iter().find(|(_, t)| parse_time(t).is_none()) {
            Some((field, value)) => Err(bad(&field, value)),
            None => Ok(()),
        }
    }

    fn check_people(&self) -> Result<(), RecordError> {
        let mut refs: Vec<(String, &str)> = vec![
            ("presiding".into(), &self.presiding),
            ("segretario".into(), &self.segretario),
        ];
        for a in &self.opening_attendance {
            refs.push(("opening_attendance".into(), &a.participant));
        }
        for e in &self.events {
            if let Some(p) = &e.participant {
                refs.push(("events".into(), p));
            }
        }
        for item in &self.items {
            let field = format!("items[{}]", item.number);
            for a in &item.attendance {
                refs.push((field.clone(), &a.participant));
            }
            for a in &item.abstentions {
                refs.push((field.clone(), &a.participant));
            }
            for v in &item.votes {
                for id in v
                    .favorevoli
                    .iter()
                    .chain(&v.contrari)
                    .chain(&v.astenuti)
                    .chain(&v.non_votanti)
                {
                    refs.push((format!("vote {}", v.number), id));
                }
            }
        }
        match refs
            .into_iter()
            .find(|(_, id)| self.participant(id).is_none())
        {
            Some((field, id)) => Err(RecordError::UnknownParticipant {
                field,
                id: id.to_owned(),
            }),
            None => Ok(()),
        }
    }
}
