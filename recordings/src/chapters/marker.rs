//! The markers signaling hands over at close: what happened, when (UTC), and its
//! Italian label.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// What a marker marks. Each kind either opens or closes a [`ChapterKind`]; a start and
/// its end are paired by the marker's `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerKind {
    /// An agenda item's discussion started (attendance log: the item was opened).
    AgendaItemStarted,
    /// An agenda item's discussion ended.
    AgendaItemEnded,
    /// A vote was opened.
    VoteOpened,
    /// A vote was closed (its outcome can go in the label).
    VoteClosed,
    /// The session was suspended.
    Suspended,
    /// The session was resumed after a suspension.
    Resumed,
    /// A participant took the floor (optional: speaker turns).
    SpeakerStarted,
    /// A participant's turn ended.
    SpeakerEnded,
}

/// The kind of span a pair of markers makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChapterKind {
    /// An agenda item, from its start to its end.
    AgendaItem,
    /// A vote, from its opening to its closing.
    Vote,
    /// A suspension, from the suspension to the resumption.
    Suspension,
    /// A speaker's turn.
    Speaker,
}

impl MarkerKind {
    /// The span this marker opens or closes.
    pub fn chapter_kind(self) -> ChapterKind {
        match self {
            Self::AgendaItemStarted | Self::AgendaItemEnded => ChapterKind::AgendaItem,
            Self::VoteOpened | Self::VoteClosed => ChapterKind::Vote,
            Self::Suspended | Self::Resumed => ChapterKind::Suspension,
            Self::SpeakerStarted | Self::SpeakerEnded => ChapterKind::Speaker,
        }
    }

    /// Whether the marker opens its span (otherwise it closes one).
    pub fn is_start(self) -> bool {
        matches!(
            self,
            Self::AgendaItemStarted | Self::VoteOpened | Self::Suspended | Self::SpeakerStarted
        )
    }
}

/// One marker: a wall-clock instant, what happened, which span it belongs to, and its
/// Italian label (the chapter's title comes from the starting marker's label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// When it happened (UTC wall clock, as in the attendance log).
    pub at: SystemTime,
    /// What happened.
    pub kind: MarkerKind,
    /// Pairs a start with its end, e.g. `item-3`, `vote-7`, `suspension-1`,
    /// `speaker-p4-12`: the same key on the opening and the closing marker, unique among
    /// the spans open at the same time.
    pub key: String,
    /// The Italian label, e.g. `Punto 3: Variazione di bilancio` or
    /// `Votazione sul punto 3 chiusa: approvata`.
    pub label: String,
}

impl Marker {
    /// A marker.
    pub fn new(
        at: SystemTime,
        kind: MarkerKind,
        key: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            at,
            kind,
            key: key.into(),
            label: label.into(),
        }
    }
}
