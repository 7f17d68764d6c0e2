//! What the media plane holds at one instant, measured on request (a metrics scrape)
//! by walking the rooms once: tracks, the subscribers' bandwidth estimates and the
//! bitrate received from publishers. Nothing is kept between requests.

use std::time::Instant;

use crate::api::{TrackKind, TrackSource};
use crate::room::Room;

/// A snapshot of the media plane's gauges, summed over every room of one SFU.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaGauges {
    /// Rooms that exist now (with participants, or parked with a recorder).
    pub rooms: u64,
    /// Participants in every room.
    pub participants: u64,
    /// Published tracks announced to the room, by kind and source (only pairs seen).
    pub tracks: Vec<(TrackKind, TrackSource, u64)>,
    /// The current TWCC egress estimate of every live subscriber connection that has
    /// one, in bits per second (str0m's `EgressBitrateEstimate`), in no order.
    pub subscriber_estimates_bps: Vec<u64>,
    /// Media bitrate received from publishers now, by kind: frame payloads of every
    /// layer that arrived within the last 2 s, over windows of about 1 s.
    pub publisher_ingress_bps: Vec<(TrackKind, u64)>,
}

/// Measures every room at `now`.
pub(crate) fn measure<'a>(rooms: impl IntoIterator<Item = &'a Room>, now: Instant) -> MediaGauges {
    let mut g = MediaGauges::default();
    for room in rooms {
        g.rooms += 1;
        g.participants += room.participants.len() as u64;
        for p in &room.participants {
            if p.receives()
                && let Some(bps) = p.estimate_bps
            {
                g.subscriber_estimates_bps.push(bps);
            }
            for t in &p.published {
                if t.announced {
                    match g
                        .tracks
                        .iter_mut()
                        .find(|(k, s, _)| (*k, *s) == (t.kind, t.source))
                    {
                        Some((_, _, n)) => *n += 1,
                        None => g.tracks.push((t.kind, t.source, 1)),
                    }
                }
                let bps: u64 = t
                    .meters
                    .iter()
                    .filter(|m| m.active(now))
                    .map(|m| m.bps())
                    .sum();
                match g
                    .publisher_ingress_bps
                    .iter_mut()
                    .find(|(k, _)| *k == t.kind)
                {
                    Some((_, sum)) => *sum += bps,
                    None => g.publisher_ingress_bps.push((t.kind, bps)),
                }
            }
        }
    }
    g
}

impl MediaGauges {
    /// Adds another media node's gauges to these (multi-node: the sum over nodes).
    pub fn merge(&mut self, other: MediaGauges) {
        self.rooms += other.rooms;
        self.participants += other.participants;
        for (kind, source, n) in other.tracks {
            match self
                .tracks
                .iter_mut()
                .find(|(k, s, _)| (*k, *s) == (kind, source))
            {
                Some((_, _, sum)) => *sum += n,
                None => self.tracks.push((kind, source, n)),
            }
        }
        self.subscriber_estimates_bps
            .extend(other.subscriber_estimates_bps);
        for (kind, bps) in other.publisher_ingress_bps {
            match self
                .publisher_ingress_bps
                .iter_mut()
                .find(|(k, _)| *k == kind)
            {
                Some((_, sum)) => *sum += bps,
                None => self.publisher_ingress_bps.push((kind, bps)),
            }
        }
    }
}
