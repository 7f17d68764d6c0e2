//! The text exposition of one scrape: the observed metrics, and the snapshot gauges
//! and counters built afresh from the hub's stats and the media plane's totals.

use prometheus::{Encoder, Gauge, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use seduta_sfu::Traffic;

use super::{Extras, HubStats, Metrics, SessionQuorum};

/// The `/metrics` body for `stats`, `traffic` and `extras`, with `metrics`' own series.
pub fn render(metrics: &Metrics, stats: &HubStats, traffic: &Traffic, extras: &Extras) -> String {
    let snapshot =
        Registry::new_custom(Some("seduta".into()), None).unwrap_or_else(|_| Registry::new());
    let counters: [(&str, &str, u64); 13] = [
        (
            "udp_in_packets_total",
            "UDP datagrams received by the media plane",
            traffic.udp_in_packets,
        ),
        (
            "udp_in_bytes_total",
            "Bytes of the UDP datagrams received",
            traffic.udp_in_bytes,
        ),
        (
            "rtp_in_packets_total",
            "RTP packets received (media)",
            traffic.rtp_in_packets,
        ),
        (
            "udp_out_packets_total",
            "UDP datagrams sent by the media plane",
            traffic.udp_out_packets,
        ),
        (
            "udp_out_bytes_total",
            "Bytes of the UDP datagrams sent",
            traffic.udp_out_bytes,
        ),
        (
            "rtp_out_packets_total",
            "RTP packets sent (forwarded media, retransmissions, padding)",
            traffic.rtp_out_packets,
        ),
        (
            "rtp_out_bytes_total",
            "Bytes of the RTP packets sent",
            traffic.rtp_out_bytes,
        ),
        (
            "rtp_out_padding_packets_total",
            "RTP padding packets sent (bandwidth probes)",
            traffic.rtp_out_padded,
        ),
        (
            "udp_send_failures_total",
            "Datagrams the socket refused",
            traffic.udp_send_failures,
        ),
        (
            "keyframe_requests_in_total",
            "Keyframe requests (PLI/FIR) received from subscribers",
            traffic.keyframe_requests_in,
        ),
        (
            "keyframe_requests_out_total",
            "Keyframe requests (PLI) sent to publishers after throttling",
            traffic.keyframe_requests_out,
        ),
        (
            "nacks_in_total",
            "RTCP NACKs received from subscribers (str0m retransmits what they list)",
            traffic.nacks_in,
        ),
        (
            "nacks_out_total",
            "RTCP NACKs sent to publishers (none for a stream declared without RTX)",
            traffic.nacks_out,
        ),
    ];
    for (name, help, value) in counters {
        if let Ok(c) = IntCounter::new(name, help) {
            c.inc_by(value);
            let _ = snapshot.register(Box::new(c));
        }
    }
    let gauge = |name: &str, help: &str, value: u64| {
        if let Ok(g) = IntGauge::new(name, help) {
            g.set(i64::try_from(value).unwrap_or(i64::MAX));
            let _ = snapshot.register(Box::new(g));
        }
    };
    gauge(
        "participants",
        "Participants connected to signaling",
        stats.participants,
    );
    gauge(
        "recordings",
        "Sessions whose recording runs (paused included)",
        stats.recordings,
    );
    let figures = &stats.recording;
    gauge(
        "recording_bytes",
        "Bytes in the running recordings' files (tracks and mix)",
        figures.bytes,
    );
    gauge(
        "recording_backlog_frames",
        "Frames waiting for the recorders' writers",
        figures.backlog_frames,
    );
    gauge(
        "recording_dropped_frames",
        "Frames the running recorders dropped because their writer was behind",
        figures.dropped_frames,
    );
    if let Some(free) = figures.disk_free_bytes {
        gauge(
            "recording_disk_free_bytes",
            "Free bytes on the recordings' disk",
            free,
        );
    }
    if let Ok(g) = Gauge::new(
        "recording_mix_lag_seconds",
        "The largest delay of a live mix behind real time beyond its look-ahead",
    ) {
        g.set(figures.mix_lag_seconds);
        let _ = snapshot.register(Box::new(g));
    }
    if let Ok(phases) = IntGaugeVec::new(
        Opts::new(
            "sessions",
            "Stored sessions loaded in the service, by phase",
        ),
        &["phase"],
    ) {
        for (phase, n) in &stats.sessions_by_phase {
            phases
                .with_label_values(&[phase.as_str()])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        let _ = snapshot.register(Box::new(phases));
    }
    let per_session = |name: &str, help: &str, value: &dyn Fn(&SessionQuorum) -> i64| {
        if let Ok(v) = IntGaugeVec::new(Opts::new(name, help), &["session"]) {
            for q in &stats.quorum {
                v.with_label_values(&[q.session.as_str()]).set(value(q));
            }
            let _ = snapshot.register(Box::new(v));
        }
    };
    per_session("quorum_present", "Members counted for the quorum", &|q| {
        i64::from(q.present)
    });
    per_session("quorum_required", "Members the quorum requires", &|q| {
        i64::from(q.required)
    });
    per_session("quorum_reached", "1 when the quorum holds", &|q| {
        i64::from(q.reached)
    });

    super::extras::register(&snapshot, extras);

    let mut families = metrics.registry.gather();
    families.extend(snapshot.gather());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = Vec::new();
    if TextEncoder::new().encode(&families, &mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_holds_every_series_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.observe_join(0.25);
        metrics.layer_switched();
        let stats = HubStats {
            sessions_by_phase: vec![("open".into(), 2), ("convened".into(), 1)],
            participants: 9,
            quorum: vec![SessionQuorum {
                session: "giunta-1".into(),
                present: 4,
                required: 4,
                reached: true,
            }],
            recordings: 1,
            recording: crate::metrics::RecordingFigures {
                bytes: 1_000_000,
                backlog_frames: 3,
                dropped_frames: 0,
                mix_lag_seconds: 0.02,
                disk_free_bytes: Some(5_000_000_000),
            },
        };
        metrics.recording_alarm("disk_full");
        let traffic = Traffic {
            rtp_out_packets: 12,
            keyframe_requests_out: 3,
            nacks_in: 5,
            ..Traffic::default()
        };
        let text = render(&metrics, &stats, &traffic, &Extras::default());
        for line in [
            "# TYPE seduta_rtp_out_packets_total counter",
            "seduta_rtp_out_packets_total 12",
            "seduta_keyframe_requests_out_total 3",
            "seduta_nacks_in_total 5",
            "seduta_nacks_out_total 0",
            "seduta_participants 9",
            "seduta_sessions{phase=\"open\"} 2",
            "seduta_quorum_reached{session=\"giunta-1\"} 1",
            "seduta_quorum_required{session=\"giunta-1\"} 4",
            "seduta_layer_switches_total 1",
            "seduta_join_seconds_bucket{le=\"0.3\"} 1",
            "seduta_join_seconds_count 1",
            "seduta_recording_bytes 1000000",
            "seduta_recording_backlog_frames 3",
            "seduta_recording_mix_lag_seconds 0.02",
            "seduta_recording_disk_free_bytes 5000000000",
            "seduta_recording_alarms_total{code=\"disk_full\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
    }
}
