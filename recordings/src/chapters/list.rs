//! Chapters made from markers: spans on the recording's timeline.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::error::ChapterError;
use super::marker::{ChapterKind, Marker};
use super::timeline::RecordingTimeline;
use crate::clock::{rfc3339, unix_nanos};

/// The version of the `chapters.json` format.
pub const CHAPTERS_FORMAT_VERSION: u32 = 1;

/// One chapter: a span of the recording with its Italian title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    /// `c1`, `c2`, … in order of start (also the TTML `xml:id`).
    pub id: String,
    /// What the span is.
    pub kind: ChapterKind,
    /// The markers' key.
    pub key: String,
    /// The title: the opening marker's label.
    pub title: String,
    /// The closing marker's label, if a marker closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_label: Option<String>,
    /// Start on the recording's timeline, in milliseconds.
    pub start_ms: u64,
    /// End on the recording's timeline, in milliseconds.
    pub end_ms: u64,
    /// The opening marker's wall-clock time, UTC (RFC 3339).
    pub start_wall_clock: String,
    /// The closing marker's wall-clock time, UTC, or absent when the span was still open
    /// when the recording ended (then `end_ms` is the recording's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_wall_clock: Option<String>,
}

/// The chapters of one recording (`chapters.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChapterList {
    /// The format's version ([`CHAPTERS_FORMAT_VERSION`]).
    pub version: u32,
    /// Time zero of the recording: the mix's wall-clock start, UTC (RFC 3339).
    pub recording_start: String,
    /// The same instant in nanoseconds since the Unix epoch.
    pub recording_start_unix_ns: u128,
    /// The recording's length in milliseconds.
    pub duration_ms: u64,
    /// The chapters, by start (a longer span first when two start together, so an
    /// agenda item comes before the vote that opens with it).
    pub chapters: Vec<Chapter>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ChapterList {
    /// Pairs the markers (by key, in time order) into chapters on `timeline`. Markers
    /// before the recording's start clamp to zero, after its end to the end; a span
    /// still open at the end lasts to the end. Fails, without a partial result, on an
    /// empty key or label, a close without an open, a key opened twice, or a close of
    /// another kind.
    pub fn build(markers: &[Marker], timeline: &RecordingTimeline) -> Result<Self, ChapterError> {
        for (index, marker) in markers.iter().enumerate() {
            if marker.key.trim().is_empty() {
                return Err(ChapterError::EmptyField {
                    index,
                    field: "key",
                });
            }
            if marker.label.trim().is_empty() {
                return Err(ChapterError::EmptyField {
                    index,
                    field: "label",
                });
            }
        }
        // Stable: markers at the same instant keep the order they were given in.
        let mut ordered: Vec<&Marker> = markers.iter().collect();
        ordered.sort_by_key(|m| m.at);

        let mut open: BTreeMap<&str, &Marker> = BTreeMap::new();
        let mut spans: Vec<(&Marker, Option<&Marker>)> = Vec::new();
        for marker in ordered {
            if marker.kind.is_start() {
                if open.contains_key(marker.key.as_str()) {
                    return Err(ChapterError::DuplicateStart {
                        key: marker.key.clone(),
                    });
                }
                open.insert(&marker.key, marker);
            } else {
                let Some(start) = open.remove(marker.key.as_str()) else {
                    return Err(ChapterError::EndWithoutStart {
                        key: marker.key.clone(),
                    });
                };
                if start.kind.chapter_kind() != marker.kind.chapter_kind() {
                    return Err(ChapterError::KindMismatch {
                        key: marker.key.clone(),
                    });
                }
                spans.push((start, Some(marker)));
            }
        }
        spans.extend(open.into_values().map(|m| (m, None)));

        let end_of_recording = millis(timeline.duration);
        let mut chapters: Vec<Chapter> = spans
            .into_iter()
            .map(|(start, end)| Chapter {
                id: String::new(),
                kind: start.kind.chapter_kind(),
                key: start.key.clone(),
                title: start.label.trim().to_owned(),
                end_label: end.map(|m| m.label.trim().to_owned()),
                start_ms: millis(timeline.offset(start.at)),
                end_ms: end.map_or(end_of_recording, |m| millis(timeline.offset(m.at))),
                start_wall_clock: rfc3339(start.at),
                end_wall_clock: end.map(|m| rfc3339(m.at)),
            })
            .collect();
        chapters.sort_by(|a, b| {
            a.start_ms
                .cmp(&b.start_ms)
                .then(b.end_ms.cmp(&a.end_ms))
                .then(a.kind.cmp(&b.kind))
        });
        for (n, chapter) in chapters.iter_mut().enumerate() {
            chapter.id = format!("c{}", n + 1);
        }
        Ok(Self {
            version: CHAPTERS_FORMAT_VERSION,
            recording_start: rfc3339(timeline.start),
            recording_start_unix_ns: unix_nanos(timeline.start),
            duration_ms: end_of_recording,
            chapters,
        })
    }

    /// The points a player navigates by (agenda items, votes, suspensions; speaker
    /// turns are left to the TTML): each starts at a chapter's start and lasts until the
    /// next one starts (the last until the end). Titles of chapters that start together
    /// are joined with " / ". Used for the MP4's chapter track.
    pub fn navigation(&self) -> Vec<NavigationPoint> {
        let mut points: Vec<NavigationPoint> = Vec::new();
        for chapter in self
            .chapters
            .iter()
            .filter(|c| c.kind != ChapterKind::Speaker)
        {
            match points.last_mut() {
                Some(last) if last.start_ms == chapter.start_ms => {
                    last.title.push_str(" / ");
                    last.title.push_str(&chapter.title);
                }
                _ => points.push(NavigationPoint {
                    start_ms: chapter.start_ms,
                    end_ms: self.duration_ms,
                    title: chapter.title.clone(),
                }),
            }
        }
        for i in 1..points.len() {
            let next = points[i].start_ms;
            points[i - 1].end_ms = next;
        }
        points.retain(|p| p.end_ms > p.start_ms);
        points
    }

    /// The wall-clock time of time zero.
    pub fn recording_start_time(&self) -> SystemTime {
        let secs = u64::try_from(self.recording_start_unix_ns / 1_000_000_000).unwrap_or(0);
        let nanos = u32::try_from(self.recording_start_unix_ns % 1_000_000_000).unwrap_or(0);
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
    }
}

/// One entry of a flat, sequential chapter list (the MP4's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavigationPoint {
    /// Start on the recording's timeline, in milliseconds.
    pub start_ms: u64,
    /// End (the next point's start, or the recording's end), in milliseconds.
    pub end_ms: u64,
    /// The title.
    pub title: String,
}
