//! The series of a scrape that come from outside the hub: the media plane's gauges
//! (tracks, the subscribers' bandwidth estimates, the publishers' bitrate), measured
//! by the media loop when asked, and the delivery outbox's backlog, read from the
//! store. Both are read at the scrape; nothing is kept in between.

use prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};
use seduta_delivery::Backlog;
use seduta_sfu::cluster::NodeView;
use seduta_sfu::{MediaGauges, TrackKind, TrackSource};

/// What a scrape reads besides the hub's stats and the traffic counters. `None`:
/// the source did not answer in time, or there is none (no delivery sinks); its
/// series are then left out of the scrape rather than shown as zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// The media plane's gauges.
    pub media: Option<MediaGauges>,
    /// The delivery outbox's backlog.
    pub outbox: Option<Backlog>,
    /// The media nodes attached to this replica (multi-node only).
    pub nodes: Option<Vec<NodeView>>,
}

/// The upper bounds, in bits per second, of `subscribers_by_estimate`: around the
/// simulcast layers' rates (low about 150 kbps, medium 500 kbps, high 1.5-2.5 Mbps),
/// so that a bucket says which layer a subscriber's estimate can carry.
pub const ESTIMATE_BUCKETS_BPS: [u64; 8] = [
    150_000, 300_000, 500_000, 800_000, 1_200_000, 2_000_000, 3_000_000, 5_000_000,
];

/// Registers the extras' series in `snapshot`.
pub(super) fn register(snapshot: &Registry, extras: &Extras) {
    if let Some(media) = &extras.media {
        register_media(snapshot, media);
    }
    if let Some(backlog) = &extras.outbox {
        register_outbox(snapshot, backlog);
    }
    if let Some(nodes) = &extras.nodes {
        register_nodes(snapshot, nodes);
    }
}

/// One series per media node (node names are host or pod names, not personal data).
fn register_nodes(snapshot: &Registry, nodes: &[NodeView]) {
    gauge(
        snapshot,
        "media_nodes",
        "Media nodes attached to this control-plane replica",
        nodes.len() as u64,
    );
    let rows = |f: fn(&NodeView) -> u64| -> Vec<(Vec<&str>, u64)> {
        nodes
            .iter()
            .map(|n| (vec![n.node.as_str()], f(n)))
            .collect()
    };
    gauge_vec(
        snapshot,
        "media_node_participants",
        "Participants on each media node, as the node last reported",
        &["node"],
        &rows(|n| n.status.participants),
    );
    gauge_vec(
        snapshot,
        "media_node_rooms",
        "Sessions on each media node, as the node last reported",
        &["node"],
        &rows(|n| n.status.rooms),
    );
    gauge_vec(
        snapshot,
        "media_node_capacity",
        "Participants each media node takes at most",
        &["node"],
        &rows(|n| n.capacity),
    );
    gauge_vec(
        snapshot,
        "media_node_draining",
        "1 while a media node drains (takes no new sessions)",
        &["node"],
        &rows(|n| u64::from(n.status.draining)),
    );
    gauge_vec(
        snapshot,
        "media_node_placed_sessions",
        "Sessions this replica has placed on each media node",
        &["node"],
        &rows(|n| n.placed_rooms),
    );
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn gauge(snapshot: &Registry, name: &str, help: &str, value: u64) {
    if let Ok(g) = IntGauge::new(name, help) {
        g.set(int(value));
        let _ = snapshot.register(Box::new(g));
    }
}

fn gauge_vec(
    snapshot: &Registry,
    name: &str,
    help: &str,
    label: &[&str],
    rows: &[(Vec<&str>, u64)],
) {
    if let Ok(v) = IntGaugeVec::new(Opts::new(name, help), label) {
        for (labels, value) in rows {
            v.with_label_values(labels).set(int(*value));
        }
        let _ = snapshot.register(Box::new(v));
    }
}

fn kind_name(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Audio => "audio",
        TrackKind::Video => "video",
    }
}

fn source_name(source: TrackSource) -> &'static str {
    match source {
        TrackSource::Microphone => "microphone",
        TrackSource::Camera => "camera",
        TrackSource::Screen => "screen",
    }
}

fn register_media(snapshot: &Registry, media: &MediaGauges) {
    // The usual pairs are always present (at 0), so that a panel has a line to draw.
    let mut tracks: Vec<(TrackKind, TrackSource, u64)> = vec![
        (TrackKind::Audio, TrackSource::Microphone, 0),
        (TrackKind::Video, TrackSource::Camera, 0),
        (TrackKind::Video, TrackSource::Screen, 0),
    ];
    for &(kind, source, n) in &media.tracks {
        match tracks
            .iter_mut()
            .find(|(k, s, _)| (*k, *s) == (kind, source))
        {
            Some((_, _, total)) => *total += n,
            None => tracks.push((kind, source, n)),
        }
    }
    let rows: Vec<(Vec<&str>, u64)> = tracks
        .iter()
        .map(|&(k, s, n)| (vec![kind_name(k), source_name(s)], n))
        .collect();
    gauge_vec(
        snapshot,
        "tracks",
        "Published tracks announced to their rooms, by kind and source",
        &["kind", "source"],
        &rows,
    );

    let estimates = &media.subscriber_estimates_bps;
    gauge(
        snapshot,
        "subscriber_estimates",
        "Live subscriber connections with a bandwidth estimate (TWCC)",
        estimates.len() as u64,
    );
    gauge(
        snapshot,
        "subscriber_estimate_bps_sum",
        "Sum of the subscribers' current bandwidth estimates, bits per second",
        estimates.iter().sum(),
    );
    let le: Vec<String> = ESTIMATE_BUCKETS_BPS
        .iter()
        .map(u64::to_string)
        .chain(["+Inf".to_owned()])
        .collect();
    let rows: Vec<(Vec<&str>, u64)> = le
        .iter()
        .zip(ESTIMATE_BUCKETS_BPS.iter().map(Some).chain([None]))
        .map(|(label, bound)| {
            let n = estimates
                .iter()
                .filter(|&&e| bound.is_none_or(|b| e <= *b))
                .count() as u64;
            (vec![label.as_str()], n)
        })
        .collect();
    gauge_vec(
        snapshot,
        "subscribers_by_estimate",
        "Live subscribers whose current bandwidth estimate is at most le bits per second",
        &["le"],
        &rows,
    );

    let mut ingress = [(TrackKind::Audio, 0u64), (TrackKind::Video, 0u64)];
    for &(kind, bps) in &media.publisher_ingress_bps {
        if let Some((_, sum)) = ingress.iter_mut().find(|(k, _)| *k == kind) {
            *sum += bps;
        }
    }
    let rows: Vec<(Vec<&str>, u64)> = ingress
        .iter()
        .map(|&(k, bps)| (vec![kind_name(k)], bps))
        .collect();
    gauge_vec(
        snapshot,
        "publisher_ingress_bps",
        "Media bitrate received from publishers now (frame payloads), by kind",
        &["kind"],
        &rows,
    );
}

fn register_outbox(snapshot: &Registry, backlog: &Backlog) {
    gauge_vec(
        snapshot,
        "deliveries",
        "Session package deliveries in the outbox, by state",
        &["state"],
        &[
            (vec!["pending"], backlog.pending),
            (vec!["in_flight"], backlog.in_flight),
            (vec!["delivered"], backlog.delivered),
            (vec!["dead"], backlog.dead),
        ],
    );
    if let Ok(g) = Gauge::new(
        "delivery_oldest_waiting_seconds",
        "Seconds since the oldest pending or in-flight delivery was enqueued (0: none)",
    ) {
        g.set(backlog.oldest_waiting_ms.unwrap_or(0) as f64 / 1000.0);
        let _ = snapshot.register(Box::new(g));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(extras: &Extras) -> Vec<String> {
        let registry = Registry::new_custom(Some("seduta".into()), None).expect("registry");
        register(&registry, extras);
        let mut out = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &registry.gather(),
            &mut out,
        )
        .expect("encode");
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn media_gauges_and_the_backlog_become_series() {
        let extras = Extras {
            media: Some(MediaGauges {
                tracks: vec![
                    (TrackKind::Video, TrackSource::Camera, 2),
                    (TrackKind::Audio, TrackSource::Screen, 1),
                ],
                subscriber_estimates_bps: vec![120_000, 400_000, 2_500_000, 9_000_000],
                publisher_ingress_bps: vec![
                    (TrackKind::Video, 700_000),
                    (TrackKind::Video, 300_000),
                ],
                ..MediaGauges::default()
            }),
            outbox: Some(Backlog {
                pending: 2,
                in_flight: 1,
                delivered: 7,
                dead: 0,
                oldest_waiting_ms: Some(90_500),
            }),
            nodes: Some(vec![seduta_sfu::cluster::NodeView {
                node: "sfu-a".into(),
                capacity: 300,
                status: seduta_sfu::cluster::NodeStatus {
                    rooms: 2,
                    participants: 17,
                    draining: true,
                },
                placed_rooms: 1,
            }]),
        };
        let text = lines(&extras);
        for line in [
            "seduta_tracks{kind=\"video\",source=\"camera\"} 2",
            "seduta_tracks{kind=\"video\",source=\"screen\"} 0",
            "seduta_tracks{kind=\"audio\",source=\"microphone\"} 0",
            "seduta_tracks{kind=\"audio\",source=\"screen\"} 1",
            "seduta_subscriber_estimates 4",
            "seduta_subscriber_estimate_bps_sum 12020000",
            "seduta_subscribers_by_estimate{le=\"150000\"} 1",
            "seduta_subscribers_by_estimate{le=\"500000\"} 2",
            "seduta_subscribers_by_estimate{le=\"3000000\"} 3",
            "seduta_subscribers_by_estimate{le=\"5000000\"} 3",
            "seduta_subscribers_by_estimate{le=\"+Inf\"} 4",
            "seduta_publisher_ingress_bps{kind=\"video\"} 1000000",
            "seduta_publisher_ingress_bps{kind=\"audio\"} 0",
            "# TYPE seduta_deliveries gauge",
            "seduta_deliveries{state=\"pending\"} 2",
            "seduta_media_nodes 1",
            "seduta_media_node_participants{node=\"sfu-a\"} 17",
            "seduta_media_node_draining{node=\"sfu-a\"} 1",
            "seduta_media_node_placed_sessions{node=\"sfu-a\"} 1",
            "seduta_deliveries{state=\"dead\"} 0",
            "seduta_delivery_oldest_waiting_seconds 90.5",
        ] {
            assert!(
                text.iter().any(|l| l == line),
                "{line} missing in:\n{text:#?}"
            );
        }
    }

    #[test]
    fn sources_that_did_not_answer_leave_no_series() {
        assert!(lines(&Extras::default()).is_empty());
    }
}
