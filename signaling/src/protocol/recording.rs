//! Whether the session is being recorded, as every participant sees it at all times.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The recording's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Nothing is recorded (the session is not open yet, the organ does not record
    /// from the opening, or the session is closed).
    #[default]
    Off,
    /// Every admitted participant's audio, video and screen share is being recorded.
    Recording,
    /// The segretario paused the recording (a secret item, for example).
    Paused,
}

/// The recording's state and since when (`recording` messages, `MeetingView`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordingStatus {
    /// Off, recording or paused.
    pub state: RecordingState,
    /// Since when, in RFC 3339 UTC (absent while off before any recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}
