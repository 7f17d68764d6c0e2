use super::*;
use crate::attendance::{read_jsonl, verify};

const AT: &str = "2026-03-12T09:00:00Z";

fn settings() -> MeetingSettings {
    MeetingSettings {
        rules: RuleSettings::default(),
        presence: PresenceSettings::default(),
        camera_required_to_vote: true,
        members_in_office: 7,
        presiding_and_segretario_colocated: false,
    }
}

fn giunta() -> Meeting {
    Meeting::new(
        "giunta-2026-03-12",
        settings(),
        "sindaco",
        "segretario",
        &["sindaco", "a1", "a2", "a3", "a4", "a5", "a6"],
        &[1, 2, 3],
    )
}

fn presence(m: &mut Meeting, who: &str, input: PresenceInput, now: u64) -> Vec<MeetingOutput> {
    m.handle(
        MeetingInput::Presence {
            who: who.into(),
            input,
        },
        now,
        AT,
    )
    .unwrap_or_else(|e| panic!("{who}: {e}"))
}

fn admit(m: &mut Meeting, who: &str) {
    presence(m, who, PresenceInput::Connected, 0);
    presence(m, who, PresenceInput::Identified { camera_on: true }, 0);
}

/// The segretario and the Sindaco in the chamber, `remote` admitted from afar.
fn seated(remote: &[&str]) -> Meeting {
    let mut m = giunta();
    presence(&mut m, "segretario", PresenceInput::CheckedIn, 0);
    presence(&mut m, "sindaco", PresenceInput::CheckedIn, 0);
    for who in remote {
        admit(&mut m, who);
    }
    m
}

fn cast(m: &mut Meeting, member: &str, ballot: Ballot) -> Result<Vec<MeetingOutput>, MeetingError> {
    let input = MeetingInput::Cast {
        member: member.into(),
        ballot,
        on_camera: true,
        recorded_by: None,
    };
    m.handle(input, 4, AT)
}

fn open_vote(m: &mut Meeting, kind: VoteKind) {
    m.handle(
        MeetingInput::OpenVote {
            kind,
            mode: VoteMode::Open,
        },
        3,
        AT,
    )
    .expect("vote opens");
}

fn quorum_of(outputs: &[MeetingOutput]) -> Option<QuorumCheck> {
    outputs.iter().rev().find_map(|o| match o {
        MeetingOutput::Quorum { check } => Some(*check),
        _ => None,
    })
}

#[test]
fn a_session_from_admission_to_sealed_log() {
    let mut m = giunta();
    presence(&mut m, "segretario", PresenceInput::CheckedIn, 0);
    presence(&mut m, "sindaco", PresenceInput::CheckedIn, 0);
    assert_eq!(
        m.handle(MeetingInput::Open, 0, AT).err(),
        Some(MeetingError::NoQuorum)
    );
    for who in ["a1", "a2", "a3"] {
        admit(&mut m, who);
    }
    let q = m.quorum();
    assert!(q.reached, "4 of 7 present");
    m.handle(MeetingInput::Open, 1, AT).expect("open");

    // One member's network is cut: absent after the grace period, quorum lost.
    admit(&mut m, "a4");
    presence(&mut m, "a4", PresenceInput::ConnectionLost, 1_000);
    let out = presence(&mut m, "a4", PresenceInput::Tick, 40_000);
    assert_eq!(quorum_of(&out).map(|q| q.counted), Some(4));

    m.handle(MeetingInput::OpenItem { item: 1 }, 2, AT)
        .expect("item");
    admit(&mut m, "a5");
    open_vote(&mut m, VoteKind::Deliberation);
    for (who, ballot) in [
        ("sindaco", Ballot::Favorevole),
        ("a1", Ballot::Favorevole),
        ("a2", Ballot::Favorevole),
        ("a3", Ballot::Contrario),
        ("a5", Ballot::Astenuto),
    ] {
        cast(&mut m, who, ballot).expect("cast");
    }
    let out = m.handle(MeetingInput::CloseVote, 5, AT).expect("close");
    assert!(
        out.iter()
            .any(|o| matches!(o, MeetingOutput::VoteClosed { outcome, .. } if outcome.approved))
    );

    open_vote(&mut m, VoteKind::ImmediateExecutability);
    for who in ["sindaco", "a1", "a2"] {
        cast(&mut m, who, Ballot::Favorevole).expect("cast");
    }
    let out = m.handle(MeetingInput::CloseVote, 8, AT).expect("close");
    assert!(
        out.iter()
            .any(|o| matches!(o, MeetingOutput::VoteClosed { outcome, .. } if !outcome.approved)),
        "3 in favour of 7 is too few for immediate executability"
    );

    m.handle(MeetingInput::Close, 9, AT).expect("close");
    assert_eq!(m.phase(), Phase::Closed);
    let entries = read_jsonl(&m.log().to_jsonl()).expect("export");
    assert!(verify(&entries).expect("intact").sealed);
    assert!(
        m.handle(MeetingInput::OpenItem { item: 2 }, 10, AT)
            .is_err(),
        "closed is final"
    );
}

#[test]
fn losing_the_quorum_or_the_presiding_member_raises_an_alert_and_resume_needs_a_roll_call() {
    let mut m = seated(&["a1", "a2", "a3"]);
    m.handle(MeetingInput::Open, 1, AT).expect("open");
    let out = presence(&mut m, "sindaco", PresenceInput::DeclaredAway, 2);
    let alerts: Vec<Lost> = out
        .iter()
        .filter_map(|o| match o {
            MeetingOutput::Alert { lost } => Some(*lost),
            _ => None,
        })
        .collect();
    assert_eq!(alerts, [Lost::Quorum, Lost::Presiding]);
    m.handle(MeetingInput::Suspend, 3, AT).expect("suspend");
    assert_eq!(
        m.handle(MeetingInput::Resume, 4, AT).err(),
        Some(MeetingError::NoQuorum)
    );
    presence(&mut m, "sindaco", PresenceInput::Returned, 5);
    m.handle(MeetingInput::Resume, 6, AT)
        .expect("resume after the roll call");
    assert_eq!(m.phase(), Phase::Open);
}

#[test]
fn refused_inputs_leave_no_trace() {
    let mut m = seated(&["a1", "a2", "a3"]);
    presence(&mut m, "a6", PresenceInput::Connected, 0);
    m.handle(MeetingInput::Open, 1, AT).expect("open");
    m.handle(MeetingInput::OpenItem { item: 2 }, 2, AT)
        .expect("item");
    open_vote(&mut m, VoteKind::Deliberation);
    cast(&mut m, "a1", Ballot::Favorevole).expect("cast");
    let logged = m.log().entries().len();
    let refusals = [
        (
            MeetingInput::Cast {
                member: "a1".into(),
                ballot: Ballot::Contrario,
                on_camera: true,
                recorded_by: None,
            },
            "already_voted",
        ),
        (
            MeetingInput::Cast {
                member: "a6".into(),
                ballot: Ballot::Favorevole,
                on_camera: true,
                recorded_by: None,
            },
            "not_entitled_to_vote",
        ),
        (
            MeetingInput::Cast {
                member: "segretario".into(),
                ballot: Ballot::Favorevole,
                on_camera: true,
                recorded_by: None,
            },
            "not_entitled_to_vote",
        ),
        (
            MeetingInput::Cast {
                member: "a2".into(),
                ballot: Ballot::Favorevole,
                on_camera: false,
                recorded_by: None,
            },
            "camera_required",
        ),
        (MeetingInput::OpenItem { item: 3 }, "vote_open"),
        (
            MeetingInput::OpenVote {
                kind: VoteKind::Deliberation,
                mode: VoteMode::Open,
            },
            "vote_open",
        ),
        (
            MeetingInput::Presence {
                who: "a1".into(),
                input: PresenceInput::Returned,
            },
            "wrong_presence_state",
        ),
        (MeetingInput::Open, "wrong_phase"),
    ];
    for (input, code) in refusals {
        let err = m.handle(input.clone(), 5, AT).expect_err("refused");
        assert_eq!(err.code(), code, "{input:?}");
        assert_eq!(m.log().entries().len(), logged, "{input:?} left a trace");
    }
    m.handle(MeetingInput::CloseVote, 6, AT)
        .expect("close vote");
    let err = m
        .handle(
            MeetingInput::Cast {
                member: "a3".into(),
                ballot: Ballot::Favorevole,
                on_camera: true,
                recorded_by: None,
            },
            7,
            AT,
        )
        .expect_err("closed");
    assert_eq!(err.code(), "no_vote_open");
    let err = m
        .handle(
            MeetingInput::OpenVote {
                kind: VoteKind::Deliberation,
                mode: VoteMode::Secret,
            },
            8,
            AT,
        )
        .expect_err("secret");
    assert_eq!(
        err.code(),
        "secret_ballot_refused",
        "remote members are present"
    );
}

#[test]
fn an_art78_abstainer_leaves_for_the_item_and_comes_back_at_the_next() {
    let mut m = seated(&["a1", "a2", "a3", "a4"]);
    m.handle(MeetingInput::Open, 1, AT).expect("open");
    m.handle(MeetingInput::OpenItem { item: 1 }, 2, AT)
        .expect("item");
    m.handle(MeetingInput::Abstain { who: "a4".into() }, 3, AT)
        .expect("art78");
    assert_eq!(m.quorum().counted, 4);
    open_vote(&mut m, VoteKind::Deliberation);
    let err = m
        .handle(
            MeetingInput::Cast {
                member: "a4".into(),
                ballot: Ballot::Favorevole,
                on_camera: true,
                recorded_by: None,
            },
            5,
            AT,
        )
        .expect_err("abstainer");
    assert_eq!(err.code(), "not_entitled_to_vote");
    m.handle(MeetingInput::CloseVote, 6, AT).expect("close");
    m.handle(MeetingInput::OpenItem { item: 2 }, 7, AT)
        .expect("next item");
    assert_eq!(m.quorum().counted, 5, "back for the next item");
    let kinds: Vec<&str> = m.log().entries().iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"art78_out") && kinds.contains(&"art78_back"));
}

#[test]
fn a_snapshot_and_its_log_restore_the_same_session_that_then_continues_the_chain() {
    let mut m = seated(&["a1", "a2", "a3"]);
    m.handle(MeetingInput::Open, 1, AT).expect("open");
    m.handle(MeetingInput::OpenItem { item: 1 }, 2, AT)
        .expect("item");
    open_vote(&mut m, VoteKind::Deliberation);
    cast(&mut m, "a1", Ballot::Favorevole).expect("a1");
    let snapshot = m.snapshot();
    let entries = m.log().entries().to_vec();
    let mut back = Meeting::restore("giunta-2026-03-12", &snapshot, entries).expect("restore");
    assert_eq!(back.phase(), Phase::Open);
    assert_eq!(back.current_item(), Some(1));
    assert_eq!(back.vote().map(|v| v.ballots.len()), Some(1));
    assert_eq!(back.quorum(), m.quorum());
    cast(&mut back, "a2", Ballot::Contrario).expect("a2 after restore");
    verify(back.log().entries()).expect("the chain continues unbroken");

    let mut broken = m.log().entries().to_vec();
    broken[1].kind = "forged".into();
    assert!(matches!(
        Meeting::restore("giunta-2026-03-12", &snapshot, broken),
        Err(RestoreError::Log(_))
    ));
    assert!(matches!(
        Meeting::restore("giunta-2026-03-12", "{", Vec::new()),
        Err(RestoreError::Snapshot(_))
    ));
}

#[test]
fn actions_record_who_took_them_and_media_changes_are_logged() {
    let mut m = seated(&["a1"]);
    m.handle_by(MeetingInput::CheckQuorum, 1, AT, "segretario")
        .expect("check");
    let last = m.log().entries().last().expect("entry").clone();
    assert_eq!(last.kind, "quorum_checked");
    assert_eq!(last.data["by"], "segretario");
    m.handle_by(
        MeetingInput::Media {
            who: "a1".into(),
            mic_on: false,
            camera_on: true,
        },
        2,
        AT,
        "a1",
    )
    .expect("media");
    let last = m.log().entries().last().expect("entry").clone();
    assert_eq!(last.kind, "media_changed");
    assert_eq!(last.data["mic_on"], false);
    let before = m.log().entries().len();
    let err = m
        .handle(
            MeetingInput::Media {
                who: "stranger".into(),
                mic_on: true,
                camera_on: true,
            },
            3,
            AT,
        )
        .expect_err("unknown");
    assert_eq!(err.code(), "unknown_participant");
    assert_eq!(m.log().entries().len(), before, "a refusal leaves no trace");
    // Without an actor nothing is attributed.
    m.handle(MeetingInput::CheckQuorum, 4, AT).expect("check");
    assert!(
        m.log()
            .entries()
            .last()
            .expect("entry")
            .data
            .get("by")
            .is_none()
    );
}

#[test]
fn with_the_colocation_setting_a_remote_segretario_and_a_presiding_member_in_the_chamber_cannot_open()
 {
    let mut settings = settings();
    settings.presiding_and_segretario_colocated = true;
    let members = ["sindaco", "a1", "a2", "a3", "a4", "a5", "a6"];
    let mut m = Meeting::new("s", settings, "sindaco", "segretario", &members, &[1]);
    admit(&mut m, "segretario");
    presence(&mut m, "sindaco", PresenceInput::CheckedIn, 0);
    for who in ["a1", "a2", "a3"] {
        admit(&mut m, who);
    }
    let before = m.log().entries().len();
    let err = m
        .handle(MeetingInput::Open, 1, AT)
        .expect_err("not co-located");
    assert_eq!(err.code(), "not_colocated");
    assert_eq!(m.log().entries().len(), before);
    presence(&mut m, "segretario", PresenceInput::Left, 2);
    presence(&mut m, "segretario", PresenceInput::CheckedIn, 3);
    m.handle(MeetingInput::Open, 4, AT)
        .expect("both in the chamber");
}

#[test]
fn a_restart_disconnects_the_remote_people_and_keeps_those_in_the_chamber() {
    let mut m = seated(&["a1", "a2", "a3"]);
    m.handle(MeetingInput::Open, 1, AT).expect("open");
    let out = m
        .handle(MeetingInput::ServiceRestarted, 2, AT)
        .expect("restart");
    let kinds: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            MeetingOutput::Logged { entry } => Some(entry.kind.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "service_restarted",
            "disconnected",
            "disconnected",
            "disconnected"
        ]
    );
    assert!(matches!(
        m.presence("sindaco"),
        Some(Presence::Present { .. })
    ));
    assert!(matches!(
        m.presence("a1"),
        Some(Presence::Disconnected { since: 2 })
    ));
    assert!(!m.quorum().reached, "the remote members no longer count");
    assert!(out.contains(&MeetingOutput::Alert { lost: Lost::Quorum }));
}
