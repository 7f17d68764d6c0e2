//! The package service on a real store (SQLite file) and real files, without media:
//! a closed session whose preservation copy failed (no mix) still gets version 1,
//! without the MP4 and saying why; building again changes nothing; what a crashed
//! build left is never a version and is cleared; with `deliver = "at_once"` version 1
//! goes to the folder sink; a signature of another file is refused and stores
//! nothing; the two signatures of the verbale (made with openssl) make version 2,
//! which carries them and the same verbale and is delivered too; a restarted service
//! over the same folders builds and enqueues nothing more.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seduta_delivery::{
    DeliveryConfig, FolderSinkConfig, Outbox, SinkConfig, SinkKind, SystemClock,
};
use seduta_signaling::auth::Role;
use seduta_signaling::clock::rfc3339;
use seduta_signaling::meeting::{
    Ballot, Meeting, MeetingInput, MeetingSettings, OrganSettings, PresenceInput, PresenceSettings,
    RuleSettings, VoteKind, VoteMode,
};
use seduta_signaling::package::{
    BuildOutcome, DeliverWhen, PackageConfig, Packages, SignerRole, UploadError,
};
use seduta_signaling::store::{
    AgendaItem, Ente, Member, Organ, SessionParticipant, SessionRecord, SessionStatus, Store,
};

const SESSION: &str = "giunta-2026-03-12";
const VERBALE: &str = "verbale/bozza-verbale.pdf";
/// 2026-03-12T09:00:00Z.
const T0: u64 = 1_773_306_000_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seduta-pkg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A closed session in the store: the Sindaca and three assessori, the segretario;
/// one item with a vote.
async fn closed_session(store: &Store) {
    store
        .insert_ente(&Ente {
            id: "comune".into(),
            name: "Comune di Castelnuovo".into(),
            codice_istat: Some("012345".into()),
        })
        .await
        .expect("ente");
    store
        .insert_organ(&Organ {
            id: "giunta".into(),
            ente_id: "comune".into(),
            name: "Giunta comunale".into(),
            seats: 4,
            settings: OrganSettings::default(),
        })
        .await
        .expect("organ");
    let members = [
        ("sindaco", "Anna Rossi", "Sindaca", Role::Presiding),
        ("a1", "Bruno Bianchi", "Assessore al bilancio", Role::Member),
        (
            "a2",
            "Carla Verdi",
            "Assessora ai lavori pubblici",
            Role::Member,
        ),
        (
            "a3",
            "Dario Neri",
            "Assessore all'urbanistica",
            Role::Member,
        ),
    ];
    for (id, name, office, role) in members {
        store
            .insert_member(&Member {
                id: format!("m-{id}"),
                organ_id: "giunta".into(),
                name: name.into(),
                office: office.into(),
                presiding: role == Role::Presiding,
                valid_from: "2024-01-01".into(),
                valid_to: None,
            })
            .await
            .expect("member");
    }
    store
        .insert_session(&SessionRecord {
            id: SESSION.into(),
            organ_id: "giunta".into(),
            title: "Giunta del 12 marzo".into(),
            scheduled_at: "2026-03-12T10:00:00+01:00".into(),
            seat: "Sala della Giunta".into(),
            convocation: "prima".into(),
            status: SessionStatus::Convened,
            created_by: "staff-segretario".into(),
            created_at_ms: 0,
            opened_at_ms: None,
            closed_at_ms: None,
        })
        .await
        .expect("session");
    store
        .set_agenda(
            SESSION,
            &[AgendaItem {
                number: 1,
                subject: "Variazione di bilancio".into(),
            }],
        )
        .await
        .expect("agenda");
    for (id, name, _, role) in members {
        store
            .upsert_participant(&SessionParticipant {
                session_id: SESSION.into(),
                id: id.into(),
                name: name.into(),
                role,
                member_id: Some(format!("m-{id}")),
            })
            .await
            .expect("participant");
    }
    store
        .upsert_participant(&SessionParticipant {
            session_id: SESSION.into(),
            id: "segretario".into(),
            name: "Franco Blu".into(),
            role: Role::Segretario,
            member_id: None,
        })
        .await
        .expect("segretario");

    let settings = MeetingSettings {
        rules: RuleSettings::default(),
        presence: PresenceSettings::default(),
        camera_required_to_vote: true,
        members_in_office: 4,
        presiding_and_segretario_colocated: false,
    };
    let mut m = Meeting::new(
        SESSION,
        settings,
        "sindaco",
        "segretario",
        &["sindaco", "a1", "a2", "a3"],
        &[1],
    );
    let mut t = T0;
    let mut step = |m: &mut Meeting, input: MeetingInput| {
        t += 10_000;
        m.handle_by(input, t, &rfc3339(t), "segretario")
            .expect("accepted");
    };
    for who in ["segretario", "sindaco", "a1", "a2"] {
        step(
            &mut m,
            MeetingInput::Presence {
                who: who.into(),
                input: PresenceInput::CheckedIn,
            },
        );
    }
    step(&mut m, MeetingInput::Open);
    step(&mut m, MeetingInput::OpenItem { item: 1 });
    step(
        &mut m,
        MeetingInput::OpenVote {
            kind: VoteKind::Deliberation,
            mode: VoteMode::Open,
        },
    );
    for who in ["sindaco", "a1", "a2"] {
        step(
            &mut m,
            MeetingInput::Cast {
                member: who.into(),
                ballot: Ballot::Favorevole,
                on_camera: true,
                recorded_by: Some("segretario".into()),
            },
        );
    }
    step(&mut m, MeetingInput::CloseVote);
    step(&mut m, MeetingInput::Close);
    store
        .append_log(SESSION, m.log().entries(), Some(&m.snapshot()))
        .await
        .expect("log");
    store
        .set_session_status(SESSION, SessionStatus::Open, T0 as i64)
        .await
        .expect("opened");
    store
        .set_session_status(SESSION, SessionStatus::Closed, t as i64)
        .await
        .expect("closed");
}

/// A recording folder whose preservation copy failed: a working master, no mix.
fn failed_copy(data: &Path) {
    use seduta_recordings::preserve::{self, PreservationRequest};
    let dir = data.join("recordings").join(SESSION);
    std::fs::create_dir_all(&dir).expect("folder");
    std::fs::write(dir.join("a1-microphone.webm"), b"not really a webm").expect("track");
    preserve::enqueue(&dir, PreservationRequest::new(Default::default())).expect("enqueue");
    let _ = preserve::run(&dir, &mut |_| {});
    let status = preserve::status(&dir).expect("status").expect("a job");
    assert_eq!(status.state, preserve::JobState::Failed, "{status:?}");
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if let Ok(rel) = e.path().strip_prefix(dir) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_copy_still_gets_a_package_signed_and_delivered() {
    let dir = scratch("failed");
    let data = dir.join("data");
    let sink = dir.join("consegne");
    std::fs::create_dir_all(&sink).expect("sink");
    let store = Store::open_sqlite_file(&dir.join("seduta.db"))
        .await
        .expect("store");
    closed_session(&store).await;
    failed_copy(&data);

    let delivery = DeliveryConfig {
        sinks: vec![SinkConfig {
            name: "archivio".into(),
            kind: SinkKind::Folder(FolderSinkConfig { path: sink.clone() }),
        }],
        ..DeliveryConfig::default()
    };
    let outbox =
        Outbox::new(store.pool().clone(), &delivery, Arc::new(SystemClock)).expect("outbox");
    let config = PackageConfig {
        deliver: DeliverWhen::AtOnce,
        ..PackageConfig::default()
    };
    let packages = Packages::new(
        store.clone(),
        &data,
        config.clone(),
        Some(outbox.clone()),
        true,
    )
    .expect("packages");

    // What a crashed build left behind.
    let session_dir = data.join("packages").join(SESSION);
    std::fs::create_dir_all(session_dir.join(".v1.tmp/package")).expect("leftover");
    std::fs::write(session_dir.join(".v1.tmp/package/half.bin"), b"half").expect("leftover");
    assert!(
        packages.versions(SESSION).is_empty(),
        "a leftover is no version"
    );

    let built = {
        let p = packages.clone();
        tokio::task::spawn_blocking(move || p.build_first(SESSION))
            .await
            .expect("join")
            .expect("built")
    };
    assert_eq!(built, BuildOutcome::Built(1));
    assert!(
        !session_dir.join(".v1.tmp").exists(),
        "the leftover is cleared"
    );
    let v1 = packages.versions(SESSION).remove(0);
    assert_eq!(v1.preservation, "failed");
    assert_eq!(v1.preservation_error.as_deref(), Some("preserve.no_mix"));
    let files = files_under(&session_dir.join("v1/package"));
    assert!(
        files.contains(&"registrazioni/copia-di-conservazione-non-prodotta.txt".to_owned()),
        "{files:?}"
    );
    assert!(files.contains(&"registrazioni/originali/a1-microphone.webm".to_owned()));
    assert!(files.contains(&"registrazioni/register.json".to_owned()));
    assert!(!files.iter().any(|f| f.ends_with(".mp4")), "{files:?}");
    assert!(
        !files.iter().any(|f| f.contains("preservation.job")),
        "the job's state is not part of the record: {files:?}"
    );
    let note = std::fs::read_to_string(
        session_dir.join("v1/package/registrazioni/copia-di-conservazione-non-prodotta.txt"),
    )
    .expect("note");
    assert!(note.contains("preserve.no_mix"), "{note}");
    assert_eq!(
        v1.to_sign
            .iter()
            .map(|r| r.file.as_str())
            .collect::<Vec<_>>(),
        [VERBALE],
        "without a copy only the verbale is signed"
    );
    assert_eq!(
        std::fs::read(session_dir.join("v1").join(&v1.zip))
            .map(|b| b.len() as u64)
            .ok(),
        Some(v1.zip_size)
    );

    // Again: nothing changes.
    let again = {
        let p = packages.clone();
        tokio::task::spawn_blocking(move || p.build_first(SESSION))
            .await
            .expect("join")
            .expect("again")
    };
    assert_eq!(again, BuildOutcome::Exists(1));

    // At once: version 1 is delivered.
    let worker = outbox.worker("test");
    let report = worker.run_due().await.expect("round");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert!(sink.join(format!("{SESSION}-v1.zip")).is_file());

    // Signatures of the verbale, made here.
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).expect("pki");
    let ssl = || {
        let mut c = Command::new("openssl");
        c.current_dir(&pki);
        c
    };
    run(ssl().args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=CA di prova",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]));
    run(ssl().args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-keyout",
        "s.key",
        "-out",
        "s.pem",
        "-subj",
        "/CN=Firmatario di prova",
    ]));
    let verbale = session_dir.join("v1/package").join(VERBALE);
    let other = pki.join("altro.txt");
    std::fs::write(&other, b"un altro documento").expect("other");
    let sign = |file: &Path, out: &str| -> Vec<u8> {
        run(ssl()
            .args(["cms", "-sign", "-binary", "-md", "sha256", "-in"])
            .arg(file)
            .args([
                "-signer", "s.pem", "-inkey", "s.key", "-outform", "DER", "-out", out,
            ]));
        std::fs::read(pki.join(out)).expect("p7s")
    };
    let good = sign(&verbale, "verbale.p7s");
    let foreign = sign(&other, "altro.p7s");

    let upload = |role: SignerRole, body: Vec<u8>| {
        let p = packages.clone();
        tokio::task::spawn_blocking(move || {
            p.upload_signature(SESSION, VERBALE, role, &body, "staff-clerk")
        })
    };
    match upload(SignerRole::Presiding, foreign).await.expect("join") {
        Err(e @ UploadError::Refused(_)) => assert_eq!(e.code(), "signature_digest_mismatch"),
        other => panic!("another file's signature: {other:?}"),
    }
    assert!(
        packages.signatures(SESSION).is_empty(),
        "a refusal stores nothing"
    );
    let too_big = vec![0u8; config.max_signature_bytes + 1];
    match upload(SignerRole::Presiding, too_big).await.expect("join") {
        Err(e) => assert_eq!(e.code(), "signature_too_large"),
        Ok(v) => panic!("accepted {v:?}"),
    }
    let accepted = upload(SignerRole::Presiding, good.clone())
        .await
        .expect("join")
        .expect("accepted");
    assert_eq!(accepted.signer_cn.as_deref(), Some("Firmatario di prova"));
    assert_eq!(accepted.trusted, None, "no trust list configured");
    assert_eq!(
        packages.missing_signatures(SESSION),
        Some(vec![format!("{VERBALE}.segretario.p7s")])
    );
    assert_eq!(packages.versions(SESSION).len(), 1, "not yet complete");
    upload(SignerRole::Segretario, good)
        .await
        .expect("join")
        .expect("accepted");

    // The last signature starts version 2 in the background.
    let deadline = Instant::now() + Duration::from_secs(60);
    while packages.versions(SESSION).len() < 2 {
        assert!(Instant::now() < deadline, "no version 2");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let v2 = packages.versions(SESSION).remove(1);
    assert_eq!(v2.signatures.len(), 2);
    let v2_files = files_under(&session_dir.join("v2/package"));
    for name in [
        format!("{VERBALE}.presidente.p7s"),
        format!("{VERBALE}.segretario.p7s"),
        "registrazioni/copia-di-conservazione-non-prodotta.txt".to_owned(),
    ] {
        assert!(v2_files.contains(&name), "{name} not in {v2_files:?}");
    }
    assert_eq!(
        std::fs::read(session_dir.join("v2/package").join(VERBALE)).ok(),
        std::fs::read(&verbale).ok(),
        "version 2 carries the verbale that was signed"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(session_dir.join("v2/package/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["version"], 2);
    let signed = |path: &str| {
        manifest["files"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["path"] == path))
            .map(|f| f["metadata"]["Verifica"]["FirmatoDigitalmente"].clone())
    };
    assert_eq!(signed(VERBALE), Some(serde_json::json!(true)));
    assert_eq!(
        signed(&format!("{VERBALE}.segretario.p7s")),
        Some(serde_json::json!(true))
    );
    assert_eq!(
        signed("registrazioni/register.json"),
        Some(serde_json::json!(false))
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        worker.run_due().await.expect("round");
        if sink.join(format!("{SESSION}-v2.zip")).is_file() {
            break;
        }
        assert!(Instant::now() < deadline, "version 2 not delivered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A restarted service over the same folders and database: nothing more.
    let restarted =
        Packages::new(store.clone(), &data, config, Some(outbox.clone()), true).expect("packages");
    restarted.resume_in_background();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(restarted.versions(SESSION).len(), 2);
    assert!(!data.join("packages").join(SESSION).join("v3").exists());
    let deliveries = outbox.for_session(SESSION).await.expect("deliveries");
    assert_eq!(deliveries.len(), 2, "one per version: {deliveries:?}");
    assert_eq!(worker.run_due().await.expect("round").claimed, 0);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_closed_without_a_recording_gets_its_package_from_the_background_pass() {
    let dir = scratch("unrecorded");
    let data = dir.join("data");
    let store = Store::open_sqlite_file(&dir.join("seduta.db"))
        .await
        .expect("store");
    closed_session(&store).await;
    let packages = Packages::new(store.clone(), &data, PackageConfig::default(), None, true)
        .expect("packages");
    packages.resume_in_background();
    let deadline = Instant::now() + Duration::from_secs(60);
    while packages.versions(SESSION).is_empty() {
        assert!(Instant::now() < deadline, "no package");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    packages.stop();
    let v1 = packages.versions(SESSION).remove(0);
    assert_eq!(v1.preservation, "none");
    assert!(v1.included.is_empty(), "{:?}", v1.included);
    assert_eq!(v1.to_sign.len(), 1, "the verbale");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
