//! A realistic closed session: a Giunta of 5 (the Sindaco and four assessori), the
//! segretario, three items, a 3-1-1 vote, an immediate-executability vote, an art. 78
//! abstention, a disconnection and a suspension; its sealed attendance log; and small
//! real media made with ffmpeg.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use seduta_archive::log::{GENESIS, LogEntry, SEALED};
use seduta_archive::record::*;
use seduta_archive::{FileFormat, FileRole, IncludedFile, PackageSettings, SessionRecord};
use serde_json::{Value, json};

pub const SESSION: &str = "giunta-2026-03-12";

fn p(id: &str, name: &str, role: ParticipantRole, office: &str, cf: Option<&str>) -> Participant {
    Participant {
        id: id.into(),
        name: name.into(),
        role,
        office: Some(office.into()),
        fiscal_code: cf.map(Into::into),
    }
}

fn here(id: &str, mode: AttendanceMode) -> Attendance {
    Attendance {
        participant: id.into(),
        mode: Some(mode),
        remote_reason: None,
    }
}

fn away(id: &str) -> Attendance {
    Attendance {
        participant: id.into(),
        mode: None,
        remote_reason: None,
    }
}

/// A sealed log chained as the server chains it.
pub fn sealed_log(events: &[(&str, &str, Value)]) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    let seal_count = events.len();
    let all = events
        .iter()
        .map(|(at, kind, data)| ((*at).to_owned(), (*kind).to_owned(), data.clone()))
        .chain(std::iter::once((
            "2026-03-12T10:31:00Z".to_owned(),
            SEALED.to_owned(),
            json!({ "events": seal_count }),
        )));
    for (at, kind, data) in all {
        let mut e = LogEntry {
            seq: out.len() as u64 + 1,
            at,
            session: SESSION.into(),
            kind,
            data,
            prev: out.last().map_or(GENESIS.to_owned(), |l| l.hash.clone()),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        out.push(e);
    }
    out
}

fn vote(
    number: u32,
    kind: VoteKind,
    times: (&str, &str),
    names: (&[&str], &[&str], &[&str]),
    presenti: u32,
    required: Option<u32>,
    approved: bool,
) -> VoteResult {
    let v = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    VoteResult {
        number,
        kind,
        mode: "palese, per appello nominale".into(),
        opened_at: times.0.into(),
        closed_at: times.1.into(),
        favorevoli: v(names.0),
        contrari: v(names.1),
        astenuti: v(names.2),
        non_votanti: vec![],
        count: VoteCount {
            favorevoli: names.0.len() as u32,
            contrari: names.1.len() as u32,
            astenuti: names.2.len() as u32,
            presenti,
        },
        required,
        approved,
        decided_by_presiding: false,
    }
}

pub fn record() -> SessionRecord {
    use AttendanceMode::{InPerson, Remote};
    let everyone = || {
        vec![
            here("sindaco", InPerson),
            here("ass-bianchi", InPerson),
            here("ass-verdi", Remote),
            here("ass-russo", InPerson),
            here("ass-ferrari", Remote),
            here("segretario", InPerson),
        ]
    };
    let mut item2 = everyone();
    item2[3] = away("ass-russo");
    let log = sealed_log(&[
        (
            "2026-03-12T08:58:00Z",
            "checked_in",
            json!({"participant": "sindaco", "mode": "in_person"}),
        ),
        (
            "2026-03-12T08:58:30Z",
            "identified",
            json!({"participant": "ass-verdi", "mode": "remote"}),
        ),
        (
            "2026-03-12T09:00:00Z",
            "quorum_checked",
            json!({"present": 5, "required": 3, "reached": true}),
        ),
        (
            "2026-03-12T09:20:00Z",
            "vote_closed",
            json!({"vote": 1, "favorevoli": 3, "contrari": 1, "astenuti": 1}),
        ),
        (
            "2026-03-12T09:30:00Z",
            "art78_left",
            json!({"participant": "ass-russo", "item": 2}),
        ),
        (
            "2026-03-12T09:45:00Z",
            "suspended",
            json!({"reason": "verifica tecnica"}),
        ),
        ("2026-03-12T10:00:00Z", "resumed", json!({})),
        ("2026-03-12T10:30:00Z", "closed", json!({})),
    ]);
    SessionRecord {
        session_id: SESSION.into(),
        ente: Ente {
            name: "Comune di Castelnuovo".into(),
            codice_ipa: Some("c_x123".into()),
            codice_istat: Some("012345".into()),
        },
        organ: Organ {
            name: "Giunta comunale".into(),
            assegnati: 5,
            in_carica: 5,
        },
        title: "Seduta ordinaria".into(),
        date: "2026-03-12".into(),
        started_at: "2026-03-12T10:00:00+01:00".into(),
        ended_at: "2026-03-12T11:30:00+01:00".into(),
        seat: "Palazzo comunale, sala della Giunta".into(),
        convocation: "prima".into(),
        convocation_notice: Some("convocata con avviso del Sindaco del 9 marzo 2026".into()),
        presiding: "sindaco".into(),
        segretario: "segretario".into(),
        participants: vec![
            p(
                "sindaco",
                "Maria Rossi",
                ParticipantRole::Member,
                "Sindaco",
                Some("RSSMRA80A41H501U"),
            ),
            p(
                "ass-bianchi",
                "Luca Bianchi",
                ParticipantRole::Member,
                "Assessore al bilancio",
                None,
            ),
            p(
                "ass-verdi",
                "Giulia Verdi",
                ParticipantRole::Member,
                "Assessora all'istruzione",
                None,
            ),
            p(
                "ass-russo",
                "Paolo Russo",
                ParticipantRole::Member,
                "Assessore ai lavori pubblici",
                None,
            ),
            p(
                "ass-ferrari",
                "Anna Ferrari",
                ParticipantRole::Member,
                "Assessora alla cultura",
                None,
            ),
            p(
                "segretario",
                "Giovanni Esposito",
                ParticipantRole::Segretario,
                "Segretario comunale",
                Some("SPSGNN70B01F205X"),
            ),
            p(
                "dirigente",
                "Carla Colombo",
                ParticipantRole::Guest,
                "Dirigente area tecnica",
                None,
            ),
        ],
        opening_attendance: everyone(),
        items: vec![
            AgendaItem {
                number: 1,
                subject: "Approvazione del piano esecutivo di gestione 2026".into(),
                attendance: everyone(),
                abstentions: vec![],
                votes: vec![
                    vote(
                        1,
                        VoteKind::Deliberation,
                        ("2026-03-12T10:15:00+01:00", "2026-03-12T10:20:00+01:00"),
                        (
                            &["sindaco", "ass-bianchi", "ass-verdi"],
                            &["ass-russo"],
                            &["ass-ferrari"],
                        ),
                        5,
                        None,
                        true,
                    ),
                    vote(
                        2,
                        VoteKind::ImmediateExecutability,
                        ("2026-03-12T10:21:00+01:00", "2026-03-12T10:23:00+01:00"),
                        (
                            &["sindaco", "ass-bianchi", "ass-verdi", "ass-ferrari"],
                            &[],
                            &["ass-russo"],
                        ),
                        5,
                        Some(3),
                        true,
                    ),
                ],
            },
            AgendaItem {
                number: 2,
                subject: "Concessione di contributo all'associazione culturale Il Ponte".into(),
                attendance: item2,
                abstentions: vec![CompulsoryAbstention {
                    participant: "ass-russo".into(),
                    left_at: "2026-03-12T10:30:00+01:00".into(),
                    returned_at: Some("2026-03-12T10:40:00+01:00".into()),
                }],
                votes: vec![vote(
                    3,
                    VoteKind::Deliberation,
                    ("2026-03-12T10:35:00+01:00", "2026-03-12T10:38:00+01:00"),
                    (
                        &["sindaco", "ass-bianchi", "ass-verdi", "ass-ferrari"],
                        &[],
                        &[],
                    ),
                    4,
                    None,
                    true,
                )],
            },
            AgendaItem {
                number: 3,
                subject: "Comunicazioni del Sindaco".into(),
                attendance: everyone(),
                abstentions: vec![],
                votes: vec![],
            },
        ],
        events: vec![
            SessionEvent {
                at: "2026-03-12T10:42:10+01:00".into(),
                kind: SessionEventKind::Disconnection,
                participant: Some("ass-ferrari".into()),
                note: None,
            },
            SessionEvent {
                at: "2026-03-12T10:44:00+01:00".into(),
                kind: SessionEventKind::Reconnection,
                participant: Some("ass-ferrari".into()),
                note: None,
            },
            SessionEvent {
                at: "2026-03-12T10:45:00+01:00".into(),
                kind: SessionEventKind::Suspension,
                participant: None,
                note: Some("verifica tecnica del collegamento".into()),
            },
            SessionEvent {
                at: "2026-03-12T11:00:00+01:00".into(),
                kind: SessionEventKind::Resumption,
                participant: None,
                note: None,
            },
        ],
        quorum_timeline: vec![
            QuorumCheck {
                at: "2026-03-12T10:00:00+01:00".into(),
                reason: "opening".into(),
                present: 5,
                required: 3,
                reached: true,
            },
            QuorumCheck {
                at: "2026-03-12T10:15:00+01:00".into(),
                reason: "vote".into(),
                present: 5,
                required: 3,
                reached: true,
            },
            QuorumCheck {
                at: "2026-03-12T11:00:00+01:00".into(),
                reason: "resumption".into(),
                present: 5,
                required: 3,
                reached: true,
            },
        ],
        attendance_log: log,
    }
}

pub fn settings() -> PackageSettings {
    PackageSettings::new("2026-03-12T12:00:00+01:00", "Comune di Castelnuovo")
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Small real media: a 2 s MP4 (H.264 High, FLAC) preservation copy and a WebM
/// working master (VP8, Opus), made with ffmpeg; chapters and a migration register.
pub fn media(dir: &Path) -> Vec<IncludedFile> {
    let mp4 = dir.join("seduta.mp4");
    run(Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2:sample_rate=48000",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "flac",
            "-strict",
            "-2",
            "-shortest",
        ])
        .arg(&mp4));
    let webm = dir.join("master-sindaco.webm");
    run(Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=660:duration=2:sample_rate=48000",
            "-c:v",
            "libvpx",
            "-b:v",
            "300k",
            "-c:a",
            "libopus",
            "-shortest",
        ])
        .arg(&webm));
    let ttml = dir.join("chapters.ttml");
    std::fs::write(
        &ttml,
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<tt xmlns=\"http://www.w3.org/ns/ttml\" xml:lang=\"it\"><body><div>",
            "<p begin=\"00:00:00.000\" end=\"00:00:01.000\">Punto 1</p>",
            "<p begin=\"00:00:01.000\" end=\"00:00:02.000\">Votazione sul punto 1</p>",
            "</div></body></tt>\n"
        ),
    )
    .expect("ttml");
    let chapters = dir.join("chapters.json");
    std::fs::write(
        &chapters,
        r#"[{"start_ms":0,"title":"Punto 1"},{"start_ms":1000,"title":"Votazione sul punto 1"}]"#,
    )
    .expect("json");
    let register = dir.join("register.json");
    std::fs::write(&register, r#"{"migrations":[{"source":"master-sindaco.webm","target":"seduta.mp4","tool":"ffmpeg"}]}"#).expect("register");
    let file =
        |source: PathBuf, name: &str, format: FileFormat, role: FileRole, d: &str| IncludedFile {
            source,
            name: name.into(),
            format,
            role,
            description: d.into(),
        };
    vec![
        file(
            mp4,
            "registrazioni/seduta.mp4",
            FileFormat::new("video/mp4", "MP4 (H.264 High, FLAC)"),
            FileRole::PreservationRecording,
            "Registrazione audio-video della seduta",
        ),
        file(
            webm,
            "registrazioni/master/master-sindaco.webm",
            FileFormat::webm(),
            FileRole::WorkingMaster,
            "Master di lavoro della traccia del Sindaco",
        ),
        file(
            ttml,
            "capitoli/chapters.ttml",
            FileFormat::ttml(),
            FileRole::Chapters,
            "Capitoli della registrazione (TTML)",
        ),
        file(
            chapters,
            "capitoli/chapters.json",
            FileFormat::json(),
            FileRole::Chapters,
            "Capitoli della registrazione (JSON)",
        ),
        file(
            register,
            "registro/riversamenti.json",
            FileFormat::json(),
            FileRole::MigrationRegister,
            "Registro dei riversamenti",
        ),
    ]
}
