use thiserror::Error;

use super::entry::{Entry, GENESIS, SEALED};

/// Why an event could not be appended.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum AppendError {
    /// The log is sealed: the session is closed.
    #[error("the attendance log is sealed")]
    Sealed,
    /// `sealed` is written only by [`AttendanceLog::seal`].
    #[error("the kind `sealed` is reserved")]
    ReservedKind,
}

/// An attendance log being written. Appending is the only change it allows.
#[derive(Debug, Clone, Default)]
pub struct AttendanceLog {
    session: String,
    entries: Vec<Entry>,
}

impl AttendanceLog {
    /// An empty log for `session`.
    pub fn new(session: impl Into<String>) -> Self {
        Self {
            session: session.into(),
            entries: Vec::new(),
        }
    }

    /// A log that continues `entries` (read back from storage), after checking
    /// that they form an unbroken chain for `session`.
    pub fn from_entries(
        session: impl Into<String>,
        entries: Vec<Entry>,
    ) -> Result<Self, super::Broken> {
        let session = session.into();
        if entries.is_empty() {
            return Ok(Self::new(session));
        }
        super::verify(&entries)?;
        if let Some(e) = entries.iter().find(|e| e.session != session) {
            return Err(super::Broken {
                line: e.seq,
                reason: "the entry belongs to another session".into(),
            });
        }
        Ok(Self { session, entries })
    }

    /// The entries so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether the log is sealed.
    pub fn is_sealed(&self) -> bool {
        self.entries.last().is_some_and(|e| e.kind == SEALED)
    }

    /// Appends an event at UTC time `at` (RFC 3339); returns the new entry.
    pub fn append(
        &mut self,
        at: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<&Entry, AppendError> {
        if kind == SEALED {
            return Err(AppendError::ReservedKind);
        }
        self.push(at, kind, data)
    }

    /// Seals the log; nothing can be appended afterwards.
    pub fn seal(&mut self, at: &str) -> Result<&Entry, AppendError> {
        let count = self.entries.len();
        self.push(at, SEALED, serde_json::json!({ "events": count }))
    }

    fn push(
        &mut self,
        at: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<&Entry, AppendError> {
        if self.is_sealed() {
            return Err(AppendError::Sealed);
        }
        let prev = self
            .entries
            .last()
            .map_or_else(|| GENESIS.to_owned(), |e| e.hash.clone());
        let mut entry = Entry {
            seq: self.entries.len() as u64 + 1,
            at: at.to_owned(),
            session: self.session.clone(),
            kind: kind.to_owned(),
            data,
            prev,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        self.entries.push(entry);
        Ok(&self.entries[self.entries.len() - 1])
    }

    /// The log as JSON Lines, one entry a line: the export format.
    pub fn to_jsonl(&self) -> String {
        self.entries
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|line| line + "\n")
            .collect()
    }
}
