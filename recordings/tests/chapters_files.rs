//! Chapters: markers from the attendance log turned into `chapters.json` and
//! `chapters.ttml` on the mix's clock; golden files, the TTML read back with quick-xml's
//! namespace-aware reader, and bad markers refused without writing anything.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use seduta_recordings::chapters::{
    ChapterKind, ChapterList, Marker, MarkerKind, RecordingTimeline, TTML_METADATA_NS, TTML_NS,
    TTML_PARAMETER_NS, write_chapters,
};

/// 2026-03-02T09:30:00.250Z, the mix's start in these tests.
fn mix_start() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_772_443_800, 250_000_000)
}

fn at(offset_ms: i64) -> SystemTime {
    let d = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 {
        mix_start() + d
    } else {
        mix_start() - d
    }
}

/// A session's markers as signaling would build them (out of order on purpose: the
/// speaker turn was logged late).
fn markers() -> Vec<Marker> {
    vec![
        Marker::new(
            at(-5_000),
            MarkerKind::AgendaItemStarted,
            "item-1",
            "Punto 1: Approvazione del verbale",
        ),
        Marker::new(
            at(95_000),
            MarkerKind::AgendaItemEnded,
            "item-1",
            "Fine del punto 1",
        ),
        Marker::new(
            at(95_000),
            MarkerKind::AgendaItemStarted,
            "item-2",
            "Punto 2: Variazione di bilancio & \"urgente\" <art. 175>",
        ),
        Marker::new(
            at(30_000),
            MarkerKind::SpeakerStarted,
            "speaker-p3-1",
            "Interviene l'assessore Rossi",
        ),
        Marker::new(
            at(60_000),
            MarkerKind::SpeakerEnded,
            "speaker-p3-1",
            "Fine intervento",
        ),
        Marker::new(
            at(150_000),
            MarkerKind::VoteOpened,
            "vote-2",
            "Votazione sul punto 2",
        ),
        Marker::new(
            at(181_500),
            MarkerKind::VoteClosed,
            "vote-2",
            "Votazione chiusa: approvata (5 sì, 1 no)",
        ),
        Marker::new(
            at(200_000),
            MarkerKind::Suspended,
            "suspension-1",
            "Sospensione della seduta",
        ),
        Marker::new(
            at(260_000),
            MarkerKind::Resumed,
            "suspension-1",
            "Ripresa dopo l'appello",
        ),
        // After the recording's end (300 s): clamps to the end.
        Marker::new(
            at(400_000),
            MarkerKind::AgendaItemEnded,
            "item-2",
            "Fine del punto 2",
        ),
    ]
}

fn timeline() -> RecordingTimeline {
    RecordingTimeline::new(mix_start(), Duration::from_millis(300_000))
}

const GOLDEN_TTML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" xmlns:tts="http://www.w3.org/ns/ttml#styling" xmlns:ttm="http://www.w3.org/ns/ttml#metadata" xml:lang="it" ttp:profile="http://www.w3.org/ns/ttml/profile/imsc1/text" ttp:timeBase="media" ttp:cellResolution="32 15">
  <head>
    <metadata>
      <ttm:title>Capitoli della seduta</ttm:title>
      <ttm:desc>Capitoli della registrazione iniziata il 2026-03-02T09:30:00.25Z (UTC); durata 00:05:00.000</ttm:desc>
    </metadata>
    <styling>
      <style xml:id="capitolo" tts:color="white" tts:backgroundColor="black" tts:fontFamily="proportionalSansSerif" tts:fontSize="100%" tts:textAlign="center"/>
    </styling>
    <layout>
      <region xml:id="basso" tts:origin="10% 80%" tts:extent="80% 15%" tts:displayAlign="after"/>
    </layout>
  </head>
  <body region="basso" style="capitolo">
    <div>
      <p xml:id="c1" begin="00:00:00.000" end="00:01:35.000" ttm:role="x-agenda-item">Punto 1: Approvazione del verbale</p>
      <p xml:id="c2" begin="00:00:30.000" end="00:01:00.000" ttm:role="x-speaker">Interviene l&apos;assessore Rossi</p>
      <p xml:id="c3" begin="00:01:35.000" end="00:05:00.000" ttm:role="x-agenda-item">Punto 2: Variazione di bilancio &amp; &quot;urgente&quot; &lt;art. 175&gt;</p>
      <p xml:id="c4" begin="00:02:30.000" end="00:03:01.500" ttm:role="x-vote">Votazione sul punto 2</p>
      <p xml:id="c5" begin="00:03:20.000" end="00:04:20.000" ttm:role="x-suspension">Sospensione della seduta</p>
    </div>
  </body>
</tt>
"#;

#[test]
fn markers_become_chapters_on_the_mix_clock() {
    let list = ChapterList::build(&markers(), &timeline()).expect("chapters");
    let spans: Vec<(&str, ChapterKind, u64, u64)> = list
        .chapters
        .iter()
        .map(|c| (c.id.as_str(), c.kind, c.start_ms, c.end_ms))
        .collect();
    assert_eq!(
        spans,
        [
            ("c1", ChapterKind::AgendaItem, 0, 95_000),
            ("c2", ChapterKind::Speaker, 30_000, 60_000),
            ("c3", ChapterKind::AgendaItem, 95_000, 300_000),
            ("c4", ChapterKind::Vote, 150_000, 181_500),
            ("c5", ChapterKind::Suspension, 200_000, 260_000),
        ]
    );
    assert_eq!(list.chapters[0].start_wall_clock, "2026-03-02T09:29:55.25Z");
    assert_eq!(
        list.chapters[3].end_label.as_deref(),
        Some("Votazione chiusa: approvata (5 sì, 1 no)")
    );
    // The MP4's flat list: speaker turns left to the TTML; each point lasts until the next.
    let nav: Vec<(u64, u64)> = list
        .navigation()
        .iter()
        .map(|p| (p.start_ms, p.end_ms))
        .collect();
    assert_eq!(
        nav,
        [
            (0, 95_000),
            (95_000, 150_000),
            (150_000, 200_000),
            (200_000, 300_000)
        ]
    );
}

#[test]
fn the_ttml_matches_the_golden_file() {
    let list = ChapterList::build(&markers(), &timeline()).expect("chapters");
    let ttml = list.to_ttml().expect("TTML");
    assert_eq!(ttml, GOLDEN_TTML);
}

#[test]
fn the_json_matches_the_golden_file_and_reads_back() {
    let list = ChapterList::build(&markers(), &timeline()).expect("chapters");
    let json = serde_json::to_value(&list).expect("JSON");
    let golden = serde_json::json!({
        "version": 1,
        "recording_start": "2026-03-02T09:30:00.25Z",
        "recording_start_unix_ns": 1_772_443_800_250_000_000u64,
        "duration_ms": 300_000,
        "chapters": [
            {"id": "c1", "kind": "agenda_item", "key": "item-1",
             "title": "Punto 1: Approvazione del verbale", "end_label": "Fine del punto 1",
             "start_ms": 0, "end_ms": 95_000,
             "start_wall_clock": "2026-03-02T09:29:55.25Z",
             "end_wall_clock": "2026-03-02T09:31:35.25Z"},
            {"id": "c2", "kind": "speaker", "key": "speaker-p3-1",
             "title": "Interviene l'assessore Rossi", "end_label": "Fine intervento",
             "start_ms": 30_000, "end_ms": 60_000,
             "start_wall_clock": "2026-03-02T09:30:30.25Z",
             "end_wall_clock": "2026-03-02T09:31:00.25Z"},
            {"id": "c3", "kind": "agenda_item", "key": "item-2",
             "title": "Punto 2: Variazione di bilancio & \"urgente\" <art. 175>",
             "end_label": "Fine del punto 2",
             "start_ms": 95_000, "end_ms": 300_000,
             "start_wall_clock": "2026-03-02T09:31:35.25Z",
             "end_wall_clock": "2026-03-02T09:36:40.25Z"},
            {"id": "c4", "kind": "vote", "key": "vote-2", "title": "Votazione sul punto 2",
             "end_label": "Votazione chiusa: approvata (5 sì, 1 no)",
             "start_ms": 150_000, "end_ms": 181_500,
             "start_wall_clock": "2026-03-02T09:32:30.25Z",
             "end_wall_clock": "2026-03-02T09:33:01.75Z"},
            {"id": "c5", "kind": "suspension", "key": "suspension-1",
             "title": "Sospensione della seduta", "end_label": "Ripresa dopo l'appello",
             "start_ms": 200_000, "end_ms": 260_000,
             "start_wall_clock": "2026-03-02T09:33:20.25Z",
             "end_wall_clock": "2026-03-02T09:34:20.25Z"}
        ]
    });
    assert_eq!(json, golden);
    let back: ChapterList = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, list);
}

#[test]
fn the_ttml_reads_back_with_its_namespaces() {
    let list = ChapterList::build(&markers(), &timeline()).expect("chapters");
    let ttml = list.to_ttml().expect("TTML");
    let mut reader = NsReader::from_str(&ttml);
    let mut root = None;
    let mut paragraphs: Vec<(String, String, String, String)> = Vec::new();
    let mut current: Option<(String, String, String, String)> = None;
    let mut depth = 0i32;
    let mut profile = None;
    let mut title_ns_ok = false;
    let value = |attr: &quick_xml::events::attributes::Attribute<'_>| {
        attr.normalized_value(XmlVersion::Implicit1_0)
            .expect("value")
            .into_owned()
    };
    for _ in 0..10_000 {
        let (ns, event) = reader.read_resolved_event().expect("well-formed XML");
        let in_ttml = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == TTML_NS);
        match event {
            Event::Start(e) if root.is_none() => {
                assert!(in_ttml, "the root is in the TTML namespace");
                root = Some(e.local_name().as_ref().to_owned());
                for attr in e.attributes() {
                    let attr = attr.expect("attribute");
                    let (ans, local) = reader.resolver().resolve_attribute(attr.key);
                    if local.as_ref() == "profile" {
                        assert!(
                            matches!(ans, ResolveResult::Bound(Namespace(n)) if n == TTML_PARAMETER_NS)
                        );
                        profile = Some(value(&attr));
                    }
                }
                depth += 1;
            }
            Event::Start(e) => {
                depth += 1;
                let local = e.local_name();
                if local.as_ref() == "title" {
                    title_ns_ok =
                        matches!(ns, ResolveResult::Bound(Namespace(n)) if n == TTML_METADATA_NS);
                }
                if in_ttml && local.as_ref() == "p" {
                    let (mut id, mut begin, mut end) =
                        (String::new(), String::new(), String::new());
                    for attr in e.attributes() {
                        let attr = attr.expect("attribute");
                        match attr.key.as_ref() {
                            "xml:id" => id = value(&attr),
                            "begin" => begin = value(&attr),
                            "end" => end = value(&attr),
                            _ => {}
                        }
                    }
                    current = Some((id, begin, end, String::new()));
                }
            }
            Event::Text(t) => {
                if let Some(p) = current.as_mut() {
                    p.3.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                // Entities (&amp; …) inside a paragraph's text arrive on their own.
                if let Some(p) = current.as_mut() {
                    let ch = match &*r.xml10_content() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unexpected entity {other}"),
                    };
                    p.3.push(ch);
                }
            }
            Event::End(_) => {
                depth -= 1;
                if let Some(p) = current.take() {
                    paragraphs.push(p);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element closed");
    assert_eq!(root.as_deref(), Some("tt"));
    assert_eq!(
        profile.as_deref(),
        Some("http://www.w3.org/ns/ttml/profile/imsc1/text")
    );
    assert!(title_ns_ok, "ttm:title in the TTML metadata namespace");
    assert_eq!(paragraphs.len(), list.chapters.len());
    for (p, chapter) in paragraphs.iter().zip(&list.chapters) {
        assert_eq!(p.0, chapter.id);
        assert_eq!(
            p.1,
            seduta_recordings::chapters::clock_time(chapter.start_ms)
        );
        assert_eq!(p.2, seduta_recordings::chapters::clock_time(chapter.end_ms));
    }
    assert_eq!(paragraphs[1].3, "Interviene l'assessore Rossi");
    assert_eq!(
        paragraphs[2].3,
        "Punto 2: Variazione di bilancio & \"urgente\" <art. 175>"
    );
}

/// A mix sidecar as the recorder writes it (the fields the timeline reads).
fn write_mix_sidecar(dir: &std::path::Path, name: &str, start: SystemTime, seconds: f64) {
    let ns = start
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let json = format!(
        r#"{{"track":"{name}","file":"{name}.webm","preservation_file":"{name}.flac",
        "participant":"","kind":"mix","codec":"opus","container":"webm","clock_rate":48000,
        "wall_clock_start":"x","wall_clock_start_unix_ns":{ns},"first_rtp_timestamp":0,
        "ntp_mapping":null,"end":{{"frames":1,"last_rtp_timestamp":0,"media_seconds":{seconds},
        "out_of_order_dropped":0,"skipped_before_keyframe":0,"clean":true}}}}"#
    );
    std::fs::write(dir.join(format!("{name}.json")), json).expect("sidecar");
}

#[test]
fn write_chapters_uses_the_session_folders_mix_and_writes_both_files() {
    let dir = common::scratch("chapters-files");
    write_mix_sidecar(&dir, "mix", mix_start(), 300.0);
    let list = write_chapters(&dir, &markers()).expect("written");
    assert_eq!(list.duration_ms, 300_000);
    let ttml = std::fs::read_to_string(dir.join("chapters.ttml")).expect("TTML file");
    assert_eq!(ttml, GOLDEN_TTML);
    let back = ChapterList::read(&dir).expect("read").expect("there");
    assert_eq!(back, list);

    // After a restart of the service a second mix continues: the timeline spans both.
    write_mix_sidecar(&dir, "mix-2", mix_start() + Duration::from_secs(400), 100.0);
    let timeline = RecordingTimeline::from_session_dir(&dir).expect("timeline");
    assert_eq!(timeline.start, mix_start());
    assert_eq!(timeline.duration, Duration::from_secs(500));
}

#[test]
fn bad_markers_are_refused_with_a_stable_code_and_nothing_is_written() {
    let dir = common::scratch("chapters-bad");
    write_mix_sidecar(&dir, "mix", mix_start(), 300.0);
    let cases: Vec<(Vec<Marker>, &str)> = vec![
        (
            vec![Marker::new(
                at(10),
                MarkerKind::VoteClosed,
                "vote-1",
                "Chiusa",
            )],
            "chapters.end_without_start",
        ),
        (
            vec![
                Marker::new(at(10), MarkerKind::VoteOpened, "vote-1", "Votazione"),
                Marker::new(at(20), MarkerKind::VoteOpened, "vote-1", "Votazione"),
            ],
            "chapters.duplicate_start",
        ),
        (
            vec![
                Marker::new(at(10), MarkerKind::AgendaItemStarted, "x", "Punto"),
                Marker::new(at(20), MarkerKind::VoteClosed, "x", "Chiusa"),
            ],
            "chapters.kind_mismatch",
        ),
        (
            vec![Marker::new(at(10), MarkerKind::Suspended, "s", "  ")],
            "chapters.empty_field",
        ),
    ];
    for (markers, code) in cases {
        let error = write_chapters(&dir, &markers).expect_err("refused");
        assert_eq!(error.code(), code, "{error}");
    }
    assert!(!dir.join("chapters.json").exists() && !dir.join("chapters.ttml").exists());

    let empty = common::scratch("chapters-no-mix");
    let error = write_chapters(&empty, &markers()).expect_err("no mix");
    assert_eq!(error.code(), "chapters.no_timeline");
}
