use seduta_archive::record::{AttendanceMode, ParticipantRole, SessionEventKind};
use seduta_archive::{Package, PackageSettings};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;
use crate::meeting::{
    Ballot, Meeting, MeetingInput, MeetingSettings, PresenceInput, PresenceSettings, RuleSettings,
    VoteKind as MeetingVoteKind, VoteMode,
};

/// 2026-03-12T09:00:00Z: 10:00 in Rome (winter time).
const BASE: i64 = 1_773_306_000;

fn at(ms: u64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(BASE).expect("base")
        + time::Duration::milliseconds(ms as i64);
    t.format(&Rfc3339).expect("format")
}

struct Drive(Meeting);

impl Drive {
    fn input(&mut self, s: u64, input: MeetingInput) {
        let ms = s * 1000;
        if let Err(e) = self.0.handle_by(input.clone(), ms, &at(ms), "segretario") {
            panic!("{input:?} at {s} s: {e}");
        }
    }

    fn presence(&mut self, s: u64, who: &str, input: PresenceInput) {
        self.input(
            s,
            MeetingInput::Presence {
                who: who.into(),
                input,
            },
        );
    }

    fn cast(&mut self, s: u64, member: &str, ballot: Ballot, called: bool) {
        self.input(
            s,
            MeetingInput::Cast {
                member: member.into(),
                ballot,
                on_camera: true,
                recorded_by: called.then(|| "segretario".to_owned()),
            },
        );
    }
}

fn person(id: &str, name: &str, role: ParticipantRole, office: Option<&str>) -> Participant {
    Participant {
        id: id.into(),
        name: name.into(),
        role,
        office: office.map(str::to_owned),
        fiscal_code: None,
    }
}

fn meta() -> RecordMeta {
    use ParticipantRole::*;
    RecordMeta {
        session_id: "giunta-2026-03-12".into(),
        title: "Giunta del 12 marzo".into(),
        scheduled_at: "2026-03-12T10:00:00+01:00".into(),
        seat: "Sala della Giunta".into(),
        convocation: "prima".into(),
        ente: Ente {
            name: "Comune di Castelnuovo".into(),
            codice_ipa: None,
            codice_istat: Some("012345".into()),
        },
        organ_name: "Giunta comunale".into(),
        assegnati: 5,
        in_carica: 5,
        presiding: "sindaco".into(),
        segretario: "segretario".into(),
        participants: vec![
            person("sindaco", "Anna Rossi", Member, Some("Sindaca")),
            person("a1", "Bruno Bianchi", Member, Some("Assessore al bilancio")),
            person(
                "a2",
                "Carla Verdi",
                Member,
                Some("Assessora ai lavori pubblici"),
            ),
            person(
                "a3",
                "Dario Neri",
                Member,
                Some("Assessore all'urbanistica"),
            ),
            person("a4", "Elena Gialli", Member, Some("Assessora alla scuola")),
            person(
                "segretario",
                "Franco Blu",
                Segretario,
                Some("Segretario comunale"),
            ),
            person("dirigente", "Gino Viola", Guest, None),
        ],
        agenda: vec![
            (1, "Variazione di bilancio".into()),
            (2, "Piano delle opere pubbliche".into()),
            (3, "Varie".into()),
        ],
    }
}

/// A whole session: opening with one remote member, two votes on item 1
/// (deliberation by roll call in part, immediate executability), an art. 78
/// abstention on item 2 with a disconnection and a vote with a non-voter, a
/// suspension and the resumption, a quorum check on request, the close.
fn session() -> Meeting {
    let settings = MeetingSettings {
        rules: RuleSettings::default(),
        presence: PresenceSettings::default(),
        camera_required_to_vote: true,
        members_in_office: 5,
        presiding_and_segretario_colocated: false,
    };
    let mut m = Meeting::new(
        "giunta-2026-03-12",
        settings,
        "sindaco",
        "segretario",
        &["sindaco", "a1", "a2", "a3", "a4"],
        &[1, 2, 3],
    );
    m.invite_guest("dirigente");
    let mut d = Drive(m);
    use Ballot::*;
    use PresenceInput::*;
    d.presence(0, "segretario", CheckedIn);
    d.presence(0, "sindaco", CheckedIn);
    d.presence(0, "a2", CheckedIn);
    d.presence(1, "a1", Connected);
    d.presence(2, "a1", Identified { camera_on: true });
    d.presence(3, "dirigente", CheckedIn);
    d.input(60, MeetingInput::Open);
    d.input(120, MeetingInput::OpenItem { item: 1 });
    let open = |kind| MeetingInput::OpenVote {
        kind,
        mode: VoteMode::Open,
    };
    d.input(180, open(MeetingVoteKind::Deliberation));
    d.cast(190, "sindaco", Favorevole, true);
    d.cast(200, "a1", Favorevole, false);
    d.cast(210, "a2", Contrario, false);
    d.input(240, MeetingInput::CloseVote);
    d.input(250, open(MeetingVoteKind::ImmediateExecutability));
    for who in ["sindaco", "a1", "a2"] {
        d.cast(260, who, Favorevole, true);
    }
    d.input(270, MeetingInput::CloseVote);
    d.presence(290, "a3", CheckedIn);
    d.input(310, MeetingInput::OpenItem { item: 2 });
    d.input(320, MeetingInput::Abstain { who: "a3".into() });
    d.presence(330, "a1", ConnectionLost);
    d.presence(340, "a1", Reconnected);
    d.input(350, open(MeetingVoteKind::Deliberation));
    d.cast(360, "sindaco", Favorevole, false);
    d.cast(370, "a2", Astenuto, false);
    d.input(400, MeetingInput::CloseVote);
    d.input(410, MeetingInput::Suspend);
    d.input(420, MeetingInput::Resume);
    d.input(430, MeetingInput::CheckQuorum);
    d.input(440, MeetingInput::OpenItem { item: 3 });
    d.input(450, MeetingInput::Close);
    d.0
}

fn modes(list: &[Attendance]) -> Vec<(&str, Option<AttendanceMode>)> {
    list.iter()
        .map(|a| (a.participant.as_str(), a.mode))
        .collect()
}

#[test]
fn the_record_of_a_driven_session() {
    let meeting = session();
    let record = record_from_log(&meta(), meeting.log().entries());
    use AttendanceMode::*;

    assert_eq!(record.date, "2026-03-12");
    assert_eq!(record.started_at, "2026-03-12T10:01:00+01:00");
    assert_eq!(record.ended_at, "2026-03-12T10:07:30+01:00");
    assert_eq!((record.organ.assegnati, record.organ.in_carica), (5, 5));
    let opening = vec![
        ("sindaco", Some(InPerson)),
        ("a1", Some(Remote)),
        ("a2", Some(InPerson)),
        ("a3", None),
        ("a4", None),
    ];
    assert_eq!(modes(&record.opening_attendance), opening);

    let item1 = &record.items[0];
    assert_eq!(modes(&item1.attendance), opening);
    assert_eq!(item1.votes.len(), 2);
    let v1 = &item1.votes[0];
    assert_eq!(v1.number, 1);
    assert_eq!(v1.kind, VoteKind::Deliberation);
    assert_eq!(v1.favorevoli, ["a1", "sindaco"]);
    assert_eq!(v1.contrari, ["a2"]);
    assert!(v1.astenuti.is_empty() && v1.non_votanti.is_empty());
    assert_eq!(
        (v1.count.favorevoli, v1.count.contrari, v1.count.presenti),
        (2, 1, 3)
    );
    assert!(v1.approved && !v1.decided_by_presiding);
    assert_eq!(v1.mode, "palese, per voto nominale e appello nominale");
    assert_eq!(v1.opened_at, "2026-03-12T10:03:00+01:00");
    assert_eq!(v1.closed_at, "2026-03-12T10:04:00+01:00");
    assert_eq!(v1.required, None);
    let v2 = &item1.votes[1];
    assert_eq!(v2.kind, VoteKind::ImmediateExecutability);
    assert_eq!(v2.mode, "palese, per appello nominale");
    assert_eq!(v2.required, Some(3));
    assert!(v2.approved);

    let item2 = &record.items[1];
    assert_eq!(
        modes(&item2.attendance),
        vec![
            ("sindaco", Some(InPerson)),
            ("a1", Some(Remote)),
            ("a2", Some(InPerson)),
            ("a3", Some(InPerson)),
            ("a4", None),
        ]
    );
    assert_eq!(item2.abstentions.len(), 1);
    let a = &item2.abstentions[0];
    assert_eq!(a.participant, "a3");
    assert_eq!(a.left_at, "2026-03-12T10:05:20+01:00");
    assert_eq!(
        a.returned_at.as_deref(),
        Some("2026-03-12T10:07:20+01:00"),
        "back when item 3 opened"
    );
    let v3 = &item2.votes[0];
    assert_eq!(v3.number, 3);
    assert_eq!(v3.favorevoli, ["sindaco"]);
    assert_eq!(v3.astenuti, ["a2"]);
    assert_eq!(
        v3.non_votanti,
        ["a1"],
        "present when the vote opened, no answer"
    );
    assert_eq!(v3.count.presenti, 3, "the abstaining member is not present");
    assert!(v3.approved);
    assert_eq!(
        modes(&record.items[2].attendance)
            .iter()
            .filter(|(_, m)| m.is_some())
            .count(),
        4
    );

    let events: Vec<(SessionEventKind, Option<&str>, &str)> = record
        .events
        .iter()
        .map(|e| (e.kind, e.participant.as_deref(), e.at.as_str()))
        .collect();
    assert_eq!(
        events,
        vec![
            (
                SessionEventKind::Disconnection,
                Some("a1"),
                "2026-03-12T10:05:30+01:00"
            ),
            (
                SessionEventKind::Reconnection,
                Some("a1"),
                "2026-03-12T10:05:40+01:00"
            ),
            (
                SessionEventKind::Suspension,
                None,
                "2026-03-12T10:06:50+01:00"
            ),
            (
                SessionEventKind::Resumption,
                None,
                "2026-03-12T10:07:00+01:00"
            ),
        ]
    );

    let quorum: Vec<(&str, u32, u32, bool)> = record
        .quorum_timeline
        .iter()
        .map(|q| (q.reason.as_str(), q.present, q.required, q.reached))
        .collect();
    assert_eq!(
        quorum,
        vec![
            ("opening", 3, 3, true),
            ("vote", 3, 3, true),
            ("vote", 3, 3, true),
            ("vote", 3, 3, true),
            ("resumption", 3, 3, true),
            ("request", 3, 3, true),
        ]
    );
    assert_eq!(
        record.attendance_log.len(),
        meeting.log().entries().len(),
        "the whole log"
    );
    assert_eq!(
        record.attendance_log.last().map(|e| e.kind.as_str()),
        Some("sealed")
    );

    // The archive accepts it: the record checks (counts, ids, the sealed log) and
    // the package (with its verbale) is made.
    record.check().expect("the record checks");
    let settings = PackageSettings::new("2026-03-12T10:30:00+01:00", &record.ente.name);
    let package = Package::build(&record, &[], &settings).expect("the package builds");
    assert_eq!(
        package.to_sign().len(),
        1,
        "the verbale, without a recording"
    );
}

#[test]
fn people_outside_the_record_and_unreadable_entries_are_left_out() {
    let mut meeting = session();
    // An entry about someone the record does not know is ignored, and a log that
    // is cut (no close) still gives a record, ending at its last entry.
    let entries: Vec<Entry> = meeting
        .log()
        .entries()
        .iter()
        .filter(|e| e.kind != "session_closed" && e.kind != "sealed")
        .cloned()
        .collect();
    let mut m = meta();
    m.participants.retain(|p| p.id != "a4");
    let record = record_from_log(&m, &entries);
    assert!(
        record
            .opening_attendance
            .iter()
            .all(|a| a.participant != "a4")
    );
    assert_eq!(record.ended_at, "2026-03-12T10:07:20+01:00");
    assert_eq!(
        record.check().map_err(|e| e.code()),
        Err("record_log_unsealed")
    );
    // Nothing more can happen after the close.
    assert!(
        meeting
            .handle(MeetingInput::CheckQuorum, 0, &at(0))
            .is_err()
    );
}
