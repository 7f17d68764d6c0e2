//! The storage layer on both engines: every test runs once on a fresh SQLite file
//! and once on a fresh PostgreSQL database created at `TEST_DATABASE_URL`
//! (`scripts/test` provides one). Without that variable the PostgreSQL half fails,
//! unless `SEDUTA_SKIP_POSTGRES=1` says to skip it knowingly.

use std::future::Future;
use std::path::PathBuf;

use serde_json::json;
use sqlx::{Connection, Executor, Row};

use seduta_signaling::attendance::{AttendanceLog, verify};
use seduta_signaling::auth::Role;
use seduta_signaling::meeting::{MajorityRule, OrganSettings, RuleSettings, TieRule};
use seduta_signaling::store::{
    AccessAction, AccessEntry, AgendaItem, Backend, Ente, Invitation, Member, Organ,
    SessionParticipant, SessionRecord, SessionStatus, StaffAccount, StaffRole, Store, StoreError,
    VoteRecord,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// A fresh database for one test.
struct Db {
    store: Store,
    /// The URL the store was opened with.
    url: String,
    /// The SQLite file, if SQLite.
    path: Option<PathBuf>,
}

impl Db {
    /// Opens the same database again, as a restarted server would.
    async fn reopen(&self) -> Store {
        match &self.path {
            Some(path) => Store::open_sqlite_file(path).await.expect("reopen SQLite"),
            None => Store::open(&self.url).await.expect("reopen PostgreSQL"),
        }
    }
}

/// Runs `test` on a fresh SQLite file in a temporary directory.
async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = std::env::temp_dir().join(format!("seduta-store-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("seduta.db");
    let store = Store::open_sqlite_file(&path).await.expect("open SQLite");
    assert_eq!(store.backend(), Backend::Sqlite);
    let db = Db {
        store: store.clone(),
        url: format!("sqlite://{}?mode=rwc", path.display()),
        path: Some(path),
    };
    let result = tokio::spawn(test(db)).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    finish(result);
}

/// Runs `test` on a fresh PostgreSQL database, dropped afterwards.
async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = postgres_url() else {
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("seduta_t_{:016x}", rand::random::<u64>());
    admin(&base, &format!("CREATE DATABASE {name}")).await;
    let url = with_database(&base, &name);
    let store = match Store::open(&url).await {
        Ok(store) => store,
        Err(e) => {
            admin(
                &base,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
            panic!("open PostgreSQL database {name}: {e}");
        }
    };
    assert_eq!(store.backend(), Backend::Postgres);
    let db = Db {
        store: store.clone(),
        url,
        path: None,
    };
    let result = tokio::spawn(test(db)).await;
    store.close().await;
    admin(
        &base,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
    finish(result);
}

fn finish(result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// `TEST_DATABASE_URL`; a missing one fails the test unless skipping was asked for.
fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("SEDUTA_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("SEDUTA_SKIP_POSTGRES=1: PostgreSQL half skipped");
            None
        }
        _ => panic!(
            "TEST_DATABASE_URL is not set, so the store cannot be tested on PostgreSQL. \
             scripts/test provides a server; by hand: \
             TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p seduta-signaling --test store \
             (or SEDUTA_SKIP_POSTGRES=1 to skip the PostgreSQL half knowingly)"
        ),
    }
}

/// Runs one statement on the server's database named in `base`.
async fn admin(base: &str, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("connect to TEST_DATABASE_URL: {e}"));
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// `base` with its database name replaced by `name` (query and host kept).
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let root = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { crate::on_sqlite(crate::$name).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { crate::on_postgres(crate::$name).await; })*
        }
    };
}

on_both!(
    session_leases_for_replicas,
    entes_and_organs,
    members_in_office_around_the_boundaries,
    staff_accounts,
    staff_token_revocation,
    sessions_and_their_life,
    agenda_replaced_in_one_transaction,
    participants,
    invitations_and_revocation,
    attendance_log_round_trip,
    attendance_log_refuses_what_does_not_continue_it,
    votes,
    data_survives_reopening,
    sqlite_pragmas_on_every_connection,
    access_log_appends_and_pages,
);

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

fn ente(id: &str, name: &str) -> Ente {
    Ente {
        id: id.into(),
        name: name.into(),
        codice_istat: Some("060062".into()),
    }
}

fn organ(id: &str, ente_id: &str, name: &str) -> Organ {
    Organ {
        id: id.into(),
        ente_id: ente_id.into(),
        name: name.into(),
        seats: 7,
        settings: OrganSettings::default(),
    }
}

fn member(id: &str, name: &str, from: &str, to: Option<&str>) -> Member {
    Member {
        id: id.into(),
        organ_id: "giunta".into(),
        name: name.into(),
        office: "Assessore".into(),
        presiding: false,
        valid_from: from.into(),
        valid_to: to.map(Into::into),
    }
}

fn session(id: &str, scheduled_at: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        organ_id: "giunta".into(),
        title: "Seduta ordinaria".into(),
        scheduled_at: scheduled_at.into(),
        seat: "Sala della Giunta".into(),
        convocation: "prima".into(),
        status: SessionStatus::Convened,
        created_by: "seg".into(),
        created_at_ms: 1_700_000_000_000,
        opened_at_ms: None,
        closed_at_ms: None,
    }
}

fn participant(session_id: &str, id: &str, name: &str, role: Role) -> SessionParticipant {
    SessionParticipant {
        session_id: session_id.into(),
        id: id.into(),
        name: name.into(),
        role,
        member_id: None,
    }
}

fn invitation(jti: &str, participant_id: &str, created_at_ms: i64) -> Invitation {
    Invitation {
        jti: jti.into(),
        session_id: "s1".into(),
        participant_id: participant_id.into(),
        created_at_ms,
        expires_at_ms: created_at_ms + 86_400_000,
        revoked_at_ms: None,
    }
}

/// An ente, its Giunta and session `s1`.
async fn seed(store: &Store) {
    store
        .insert_ente(&ente("comune", "Comune di Roccasecca"))
        .await
        .expect("ente");
    store
        .insert_organ(&organ("giunta", "comune", "Giunta comunale"))
        .await
        .expect("organ");
    store
        .insert_session(&session("s1", "2026-03-12T09:00:00+01:00"))
        .await
        .expect("session");
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Tests (each runs on both engines)
// ---------------------------------------------------------------------------

async fn entes_and_organs(db: Db) {
    let store = &db.store;
    assert!(store.list_enti().await.expect("list").is_empty());
    store
        .insert_ente(&ente("b", "Comune di Zagarolo"))
        .await
        .expect("insert");
    let mut a = ente("a", "Comune di Arpino");
    a.codice_istat = None;
    store.insert_ente(&a).await.expect("insert");
    assert_conflict(store.insert_ente(&ente("a", "Altro")).await);
    let enti = store.list_enti().await.expect("list");
    assert_eq!(enti, vec![a.clone(), ente("b", "Comune di Zagarolo")]);

    let giunta = organ("giunta", "a", "Giunta comunale");
    let consiglio = organ("consiglio", "a", "Consiglio comunale");
    store.insert_organ(&giunta).await.expect("organ");
    store.insert_organ(&consiglio).await.expect("organ");
    store
        .insert_organ(&organ("giunta-b", "b", "Giunta comunale"))
        .await
        .expect("organ");
    assert_conflict(store.insert_organ(&giunta).await);
    assert_conflict(
        store
            .insert_organ(&organ("x", "no-such-ente", "Giunta"))
            .await,
    );
    assert_eq!(
        store.organ("giunta").await.expect("get"),
        Some(giunta.clone())
    );
    assert_eq!(store.organ("nope").await.expect("get"), None);
    assert_eq!(
        store.list_organs("a").await.expect("list"),
        vec![consiglio, giunta.clone()]
    );
    assert!(store.list_organs("nope").await.expect("list").is_empty());

    let defaults = OrganSettings::default();
    let settings = OrganSettings {
        camera_required_to_vote: false,
        remote_reason_required: true,
        rules: RuleSettings {
            majority: MajorityRule::OverHalfOfPresent,
            tie: TieRule::PresidingPrevails,
            ..defaults.rules
        },
        ..defaults
    };
    store
        .update_organ_settings("giunta", &settings)
        .await
        .expect("update");
    let stored = store.organ("giunta").await.expect("get").expect("organ");
    assert_eq!(stored.settings, settings);
    assert_eq!(stored.seats, giunta.seats);
    assert_not_found(store.update_organ_settings("nope", &settings).await);
}

async fn members_in_office_around_the_boundaries(db: Db) {
    let store = &db.store;
    seed(store).await;
    let mut sindaca = member("m-sindaca", "Anna Bianchi", "2024-06-10", None);
    sindaca.presiding = true;
    sindaca.office = "Sindaca".into();
    let uscente = member("m-uscente", "Carlo Rossi", "2024-06-10", Some("2025-03-31"));
    let subentrante = member("m-subentrante", "Bruna Verdi", "2025-04-01", None);
    for m in [&sindaca, &uscente, &subentrante] {
        store.insert_member(m).await.expect("member");
    }
    assert_conflict(store.insert_member(&uscente).await);
    assert_conflict(
        store
            .insert_member(&Member {
                organ_id: "no-such-organ".into(),
                ..member("m-x", "X", "2024-01-01", None)
            })
            .await,
    );

    let ids = |ms: Vec<Member>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
    // All, by name.
    assert_eq!(
        store.members("giunta").await.expect("members"),
        vec![sindaca.clone(), subentrante.clone(), uscente.clone()]
    );
    let on = |date: &'static str| {
        let store = store.clone();
        async move {
            ids(store
                .members_in_office("giunta", date)
                .await
                .expect("in office"))
        }
    };
    assert!(
        on("2024-06-09").await.is_empty(),
        "the day before the first day"
    );
    assert_eq!(
        on("2024-06-10").await,
        ["m-sindaca", "m-uscente"],
        "the first day"
    );
    assert_eq!(
        on("2025-03-31").await,
        ["m-sindaca", "m-uscente"],
        "the last day"
    );
    assert_eq!(
        on("2025-04-01").await,
        ["m-sindaca", "m-subentrante"],
        "the next day"
    );

    store
        .end_membership("m-sindaca", "2025-12-31")
        .await
        .expect("end");
    assert_eq!(on("2025-12-31").await, ["m-sindaca", "m-subentrante"]);
    assert_eq!(on("2026-01-01").await, ["m-subentrante"]);
    let ended = store.members("giunta").await.expect("members");
    assert_eq!(ended[0].valid_to.as_deref(), Some("2025-12-31"));
    assert!(ended[0].presiding);
    assert_not_found(store.end_membership("nope", "2025-12-31").await);
    assert!(store.members("nope").await.expect("members").is_empty());
}

async fn staff_accounts(db: Db) {
    let store = &db.store;
    seed(store).await;
    let conti = StaffAccount {
        id: "st-1".into(),
        ente_id: "comune".into(),
        username: "conti".into(),
        display_name: "Dott. Conti".into(),
        role: StaffRole::Segretario,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        password_changed_at_ms: 1_700_000_000_000,
        disabled: false,
    };
    let admin = StaffAccount {
        id: "st-2".into(),
        username: "admin".into(),
        display_name: "Amministratore".into(),
        role: StaffRole::Admin,
        disabled: true,
        ..conti.clone()
    };
    store.insert_staff(&conti).await.expect("insert");
    store.insert_staff(&admin).await.expect("insert");
    assert_conflict(
        store
            .insert_staff(&StaffAccount {
                id: "st-3".into(),
                ..conti.clone()
            })
            .await,
    );
    assert_conflict(
        store
            .insert_staff(&StaffAccount {
                username: "other".into(),
                ..conti.clone()
            })
            .await,
    );
    assert_conflict(
        store
            .insert_staff(&StaffAccount {
                id: "st-4".into(),
                username: "x".into(),
                ente_id: "no-such-ente".into(),
                ..conti.clone()
            })
            .await,
    );
    assert_eq!(
        store.staff_by_username("conti").await.expect("get"),
        Some(conti.clone())
    );
    assert_eq!(store.staff_by_username("Conti").await.expect("get"), None);
    assert_eq!(store.staff("st-2").await.expect("get"), Some(admin.clone()));
    assert_eq!(store.staff("nope").await.expect("get"), None);

    store
        .set_password("st-1", "$argon2id$new", 1_800_000_000_000)
        .await
        .expect("set password");
    let changed = store.staff("st-1").await.expect("get").expect("account");
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(changed.password_changed_at_ms, 1_800_000_000_000);
    assert_not_found(store.set_password("nope", "h", 1).await);

    // The hash never leaves through serialization or debug output.
    let wire = serde_json::to_value(&changed).expect("json");
    assert!(wire.get("password_hash").is_none());
    assert_eq!(wire["role"], "segretario");
    assert!(!format!("{changed:?}").contains("argon2"));
    for role in [StaffRole::Segretario, StaffRole::Clerk, StaffRole::Admin] {
        assert_eq!(StaffRole::parse(role.as_str()), Some(role));
    }
}

async fn staff_token_revocation(db: Db) {
    let store = &db.store;
    assert!(!store.staff_token_revoked("jti-1").await.expect("check"));
    store
        .revoke_staff_token("jti-1", 1_800_000_000_000)
        .await
        .expect("revoke");
    assert!(store.staff_token_revoked("jti-1").await.expect("check"));
    store
        .revoke_staff_token("jti-1", 1_900_000_000_000)
        .await
        .expect("revoking again is fine");
    assert!(store.staff_token_revoked("jti-1").await.expect("check"));
    assert!(!store.staff_token_revoked("jti-2").await.expect("check"));
}

/// Multi-node: one replica holds a session's lease until it lapses; renewal keeps
/// it, another replica takes a lapsed one, and a closed session's lease is dropped.
async fn session_leases_for_replicas(db: Db) {
    use seduta_signaling::store::SessionOwner;
    let store = &db.store;
    seed(store).await;
    let a = SessionOwner {
        replica: "cp-a".into(),
        url: "http://a:8080".into(),
    };
    let b = SessionOwner {
        replica: "cp-b".into(),
        url: "http://b:8080".into(),
    };
    // The first to ask takes it; the other is told who holds it.
    assert_eq!(
        store
            .claim_session("s1", &a, 1_000, 11_000)
            .await
            .expect("claim"),
        a
    );
    assert_eq!(
        store
            .claim_session("s1", &b, 2_000, 12_000)
            .await
            .expect("claim"),
        a
    );
    // The holder asking again keeps it (and extends it).
    assert_eq!(
        store
            .claim_session("s1", &a, 5_000, 15_000)
            .await
            .expect("claim"),
        a
    );
    assert_eq!(
        store
            .claim_session("s1", &b, 14_000, 24_000)
            .await
            .expect("claim"),
        a
    );
    // Renewal keeps it past the old expiry.
    assert_eq!(
        store.renew_sessions("cp-a", 30_000).await.expect("renew"),
        1
    );
    assert_eq!(
        store
            .claim_session("s1", &b, 20_000, 30_000)
            .await
            .expect("claim"),
        a
    );
    // Lapsed: the next replica takes it, and the old holder renews nothing.
    assert_eq!(
        store
            .claim_session("s1", &b, 30_001, 40_000)
            .await
            .expect("claim"),
        b
    );
    assert_eq!(
        store.renew_sessions("cp-a", 50_000).await.expect("renew"),
        0
    );
    assert_eq!(
        store
            .claim_session("s1", &a, 35_000, 45_000)
            .await
            .expect("claim"),
        b
    );
    // A closed session's lease goes at the holder's next renewal.
    store
        .set_session_status("s1", SessionStatus::Closed, 36_000)
        .await
        .expect("close");
    assert_eq!(
        store.renew_sessions("cp-b", 60_000).await.expect("renew"),
        0
    );
    assert_eq!(
        store
            .claim_session("s1", &a, 37_000, 47_000)
            .await
            .expect("claim"),
        a
    );
}

async fn sessions_and_their_life(db: Db) {
    let store = &db.store;
    seed(store).await;
    store
        .insert_organ(&organ("giunta-2", "comune", "Altra giunta"))
        .await
        .expect("organ");
    // 08:30Z is later than 09:00+01:00 although it sorts first as text.
    let later = session("s2", "2026-03-12T08:30:00Z");
    let other = SessionRecord {
        organ_id: "giunta-2".into(),
        ..session("s3", "2026-01-05T10:00:00Z")
    };
    store.insert_session(&later).await.expect("insert");
    store.insert_session(&other).await.expect("insert");
    assert_conflict(store.insert_session(&later).await);
    assert_conflict(
        store
            .insert_session(&SessionRecord {
                organ_id: "no-such-organ".into(),
                ..session("s9", "2026-01-01T00:00:00Z")
            })
            .await,
    );
    let s1 = store.session("s1").await.expect("get").expect("s1");
    assert_eq!(s1, session("s1", "2026-03-12T09:00:00+01:00"));
    assert_eq!(store.session("nope").await.expect("get"), None);
    let ids = |v: Vec<SessionRecord>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_sessions(None).await.expect("list")),
        ["s2", "s1", "s3"]
    );
    assert_eq!(
        ids(store.list_sessions(Some("giunta")).await.expect("list")),
        ["s2", "s1"]
    );
    assert!(
        store
            .list_sessions(Some("nope"))
            .await
            .expect("list")
            .is_empty()
    );

    // While convened, the convocation can change; status and times cannot this way.
    let edited = SessionRecord {
        title: "Seduta straordinaria".into(),
        scheduled_at: "2026-03-13T15:00:00+01:00".into(),
        seat: "Municipio, sala consiliare".into(),
        convocation: "seconda".into(),
        status: SessionStatus::Closed,
        created_by: "someone-else".into(),
        opened_at_ms: Some(5),
        ..s1.clone()
    };
    store.update_session(&edited).await.expect("update");
    let s1 = store.session("s1").await.expect("get").expect("s1");
    assert_eq!(s1.title, "Seduta straordinaria");
    assert_eq!(s1.scheduled_at, "2026-03-13T15:00:00+01:00");
    assert_eq!(s1.seat, "Municipio, sala consiliare");
    assert_eq!(s1.convocation, "seconda");
    assert_eq!(s1.status, SessionStatus::Convened);
    assert_eq!(s1.created_by, "seg");
    assert_eq!(s1.opened_at_ms, None);
    assert_not_found(
        store
            .update_session(&session("nope", "2026-01-01T00:00:00Z"))
            .await,
    );

    // Opening, suspending, resuming: the first opening time is kept.
    store
        .set_session_status("s1", SessionStatus::Open, 1_000)
        .await
        .expect("open");
    let open = store.session("s1").await.expect("get").expect("s1");
    assert_eq!(
        (open.status, open.opened_at_ms, open.closed_at_ms),
        (SessionStatus::Open, Some(1_000), None)
    );
    assert_conflict(store.update_session(&edited).await);
    store
        .set_session_status("s1", SessionStatus::Suspended, 2_000)
        .await
        .expect("suspend");
    store
        .set_session_status("s1", SessionStatus::Open, 3_000)
        .await
        .expect("resume");
    let resumed = store.session("s1").await.expect("get").expect("s1");
    assert_eq!(
        (resumed.status, resumed.opened_at_ms),
        (SessionStatus::Open, Some(1_000))
    );

    // Closing is final.
    store
        .set_session_status("s1", SessionStatus::Closed, 4_000)
        .await
        .expect("close");
    assert_conflict(
        store
            .set_session_status("s1", SessionStatus::Open, 5_000)
            .await,
    );
    store
        .set_session_status("s1", SessionStatus::Closed, 6_000)
        .await
        .expect("closing again");
    let closed = store.session("s1").await.expect("get").expect("s1");
    assert_eq!(
        (closed.status, closed.opened_at_ms, closed.closed_at_ms),
        (SessionStatus::Closed, Some(1_000), Some(4_000))
    );
    assert_not_found(
        store
            .set_session_status("nope", SessionStatus::Open, 1)
            .await,
    );
    for status in [
        SessionStatus::Convened,
        SessionStatus::Open,
        SessionStatus::Suspended,
        SessionStatus::Closed,
    ] {
        assert_eq!(SessionStatus::parse(status.as_str()), Some(status));
    }
}

async fn agenda_replaced_in_one_transaction(db: Db) {
    let store = &db.store;
    seed(store).await;
    let item = |number: u32, subject: &str| AgendaItem {
        number,
        subject: subject.into(),
    };
    assert!(store.agenda("s1").await.expect("agenda").is_empty());
    store
        .set_agenda(
            "s1",
            &[
                item(3, "Variazione di bilancio"),
                item(1, "Approvazione verbale"),
                item(2, "Piano ferie"),
            ],
        )
        .await
        .expect("set");
    let first = vec![
        item(1, "Approvazione verbale"),
        item(2, "Piano ferie"),
        item(3, "Variazione di bilancio"),
    ];
    assert_eq!(store.agenda("s1").await.expect("agenda"), first);

    // A repeated number fails the whole replacement: the old agenda stays.
    assert_conflict(
        store
            .set_agenda("s1", &[item(1, "Uno"), item(2, "Due"), item(1, "Uno bis")])
            .await,
    );
    assert_eq!(store.agenda("s1").await.expect("agenda"), first);

    store
        .set_agenda("s1", &[item(1, "Solo punto")])
        .await
        .expect("replace");
    assert_eq!(
        store.agenda("s1").await.expect("agenda"),
        vec![item(1, "Solo punto")]
    );
    store.set_agenda("s1", &[]).await.expect("clear");
    assert!(store.agenda("s1").await.expect("agenda").is_empty());
    store
        .set_agenda("s1", &[item(1, "Punto unico")])
        .await
        .expect("set");

    assert_not_found(store.set_agenda("nope", &[item(1, "x")]).await);
    for status in [
        SessionStatus::Open,
        SessionStatus::Suspended,
        SessionStatus::Closed,
    ] {
        store
            .set_session_status("s1", status, 1_000)
            .await
            .expect("status");
        assert_conflict(store.set_agenda("s1", &[item(1, "Cambiato")]).await);
        assert_eq!(
            store.agenda("s1").await.expect("agenda"),
            vec![item(1, "Punto unico")]
        );
    }
}

async fn participants(db: Db) {
    let store = &db.store;
    seed(store).await;
    store
        .insert_member(&member("m-1", "Carlo Rossi", "2024-06-10", None))
        .await
        .expect("member");
    let mut rossi = participant("s1", "p-rossi", "Carlo Rossi", Role::Member);
    rossi.member_id = Some("m-1".into());
    let conti = participant("s1", "p-conti", "Dott. Conti", Role::Segretario);
    let sala = participant("s1", "room", "Sala della Giunta", Role::Room);
    for p in [&rossi, &conti, &sala] {
        store.upsert_participant(p).await.expect("upsert");
    }
    assert_eq!(
        store.participants("s1").await.expect("list"),
        vec![rossi.clone(), conti.clone(), sala.clone()]
    );
    assert_eq!(
        store.participant("s1", "p-conti").await.expect("get"),
        Some(conti.clone())
    );
    assert_eq!(store.participant("s1", "nope").await.expect("get"), None);
    assert_eq!(
        store.participant("nope", "p-conti").await.expect("get"),
        None
    );

    // Upserting again changes it in place.
    let presiding = SessionParticipant {
        name: "Carlo Rossi (vicesindaco)".into(),
        role: Role::Presiding,
        ..rossi.clone()
    };
    store.upsert_participant(&presiding).await.expect("upsert");
    assert_eq!(
        store.participant("s1", "p-rossi").await.expect("get"),
        Some(presiding)
    );
    assert_eq!(store.participants("s1").await.expect("list").len(), 3);

    assert_conflict(
        store
            .upsert_participant(&participant("nope", "p", "P", Role::Guest))
            .await,
    );
    assert_conflict(
        store
            .upsert_participant(&SessionParticipant {
                member_id: Some("no-such-member".into()),
                ..participant("s1", "p-x", "X", Role::Member)
            })
            .await,
    );
}

async fn invitations_and_revocation(db: Db) {
    let store = &db.store;
    seed(store).await;
    store
        .upsert_participant(&participant("s1", "p-1", "Anna Bianchi", Role::Presiding))
        .await
        .expect("participant");
    let second = invitation("jti-b", "p-1", 2_000);
    let first = invitation("jti-a", "p-1", 1_000);
    store.insert_invitation(&second).await.expect("insert");
    store.insert_invitation(&first).await.expect("insert");
    assert_conflict(store.insert_invitation(&first).await);
    assert_conflict(
        store
            .insert_invitation(&invitation("jti-c", "no-such-participant", 1))
            .await,
    );
    assert_eq!(
        store.invitation("jti-a").await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(store.invitation("nope").await.expect("get"), None);
    assert_eq!(
        store.invitations("s1").await.expect("list"),
        vec![first.clone(), second.clone()]
    );
    assert!(store.invitations("nope").await.expect("list").is_empty());

    let revoked = store
        .revoke_invitation("jti-a", 5_000)
        .await
        .expect("revoke")
        .expect("known");
    assert_eq!(revoked.revoked_at_ms, Some(5_000));
    let again = store
        .revoke_invitation("jti-a", 9_000)
        .await
        .expect("revoke again")
        .expect("known");
    assert_eq!(
        again.revoked_at_ms,
        Some(5_000),
        "the first revocation time is kept"
    );
    assert_eq!(
        again,
        Invitation {
            revoked_at_ms: Some(5_000),
            ..first
        }
    );
    assert_eq!(
        store.revoke_invitation("nope", 1).await.expect("revoke"),
        None
    );
    assert_eq!(
        store
            .invitation("jti-b")
            .await
            .expect("get")
            .and_then(|i| i.revoked_at_ms),
        None
    );
}

/// A log of `session` whose data exercises what JSON text must carry back exactly.
fn sample_log(session: &str) -> AttendanceLog {
    let mut log = AttendanceLog::new(session);
    log.append(
        "2026-03-12T08:00:00Z",
        "joined",
        json!({"participant": "p-1", "mode": "remote", "name": "Niccolò D'Àmbrosio \"Nico\" ✓"}),
    )
    .expect("append");
    log.append(
        "2026-03-12T08:01:00.123Z",
        "identified",
        json!({"participant": "p-1", "by": "p-conti", "camera": true, "reason": null,
               "nested": {"z": [1, 2, {"b": 0.1, "a": -3}], "a": 1e-7, "big": 9007199254740993_u64,
                          "neg": -42, "half": 0.5, "third": 0.333_333_333_333_333_3, "tiny": 5e-324, "huge": 1.7976931348623157e308}}),
    )
    .expect("append");
    log.append(
        "2026-03-12T08:02:00Z",
        "admitted",
        json!({"participant": "p-1", "line\nbreak": "tab\there", "empty": {}, "list": []}),
    )
    .expect("append");
    log.append(
        "2026-03-12T08:03:00Z",
        "vote_cast",
        json!({"ballot": "favorevole"}),
    )
    .expect("append");
    log
}

async fn attendance_log_round_trip(db: Db) {
    let store = &db.store;
    seed(store).await;
    assert_eq!(store.meeting_snapshot("s1").await.expect("snapshot"), None);
    assert!(store.log("s1").await.expect("log").is_empty());
    assert_not_found(store.meeting_snapshot("nope").await);

    let mut log = sample_log("s1");
    let entries = log.entries().to_vec();
    store
        .append_log("s1", &entries[..2], Some(r#"{"phase":"lobby"}"#))
        .await
        .expect("append");
    assert_eq!(store.log("s1").await.expect("log"), entries[..2]);
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some(r#"{"phase":"lobby"}"#)
    );

    // Entries without a new snapshot leave the snapshot alone.
    store
        .append_log("s1", &entries[2..3], None)
        .await
        .expect("append");
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some(r#"{"phase":"lobby"}"#)
    );
    store
        .append_log("s1", &entries[3..], Some(r#"{"phase":"open"}"#))
        .await
        .expect("append");
    let sealed = log.seal("2026-03-12T10:00:00Z").expect("seal").clone();
    store
        .append_log(
            "s1",
            std::slice::from_ref(&sealed),
            Some(r#"{"phase":"closed"}"#),
        )
        .await
        .expect("append the seal");

    let back = store.log("s1").await.expect("log");
    assert_eq!(back, log.entries());
    let verified = verify(&back).expect("the stored log verifies");
    assert_eq!(verified.entries, 5);
    assert!(verified.sealed);
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some(r#"{"phase":"closed"}"#)
    );

    // A snapshot alone replaces the state.
    store
        .append_log("s1", &[], Some(r#"{"phase":"archived"}"#))
        .await
        .expect("snapshot only");
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some(r#"{"phase":"archived"}"#)
    );
    assert_eq!(store.log("s1").await.expect("log").len(), 5);

    // Logs of different sessions are separate.
    store
        .insert_session(&session("s2", "2026-03-19T09:00:00Z"))
        .await
        .expect("session");
    let other = sample_log("s2").entries().to_vec();
    store.append_log("s2", &other, None).await.expect("append");
    assert_eq!(store.log("s2").await.expect("log"), other);
    assert_eq!(store.log("s1").await.expect("log"), log.entries());
    assert!(store.log("nope").await.expect("log").is_empty());
}

async fn attendance_log_refuses_what_does_not_continue_it(db: Db) {
    let store = &db.store;
    seed(store).await;
    let entries = sample_log("s1").entries().to_vec();
    store
        .append_log("s1", &entries[..2], Some("state-2"))
        .await
        .expect("append");

    // A batch that starts well and then repeats a stored seq: nothing of it is
    // written, not even its first entry, and the snapshot stays.
    let batch = [entries[2].clone(), entries[3].clone(), entries[1].clone()];
    assert_conflict(store.append_log("s1", &batch, Some("state-bad")).await);
    // A stored entry again.
    assert_conflict(
        store
            .append_log("s1", &entries[1..3], Some("state-bad"))
            .await,
    );
    // A gap.
    assert_conflict(
        store
            .append_log("s1", &entries[3..], Some("state-bad"))
            .await,
    );
    // Another chain with the right seq.
    let forged = sample_log("s1");
    let mut forged = forged.entries()[2].clone();
    forged.prev = "ab".repeat(32);
    assert_conflict(
        store
            .append_log("s1", std::slice::from_ref(&forged), Some("state-bad"))
            .await,
    );
    // Another session's entries.
    let foreign = sample_log("s9").entries()[2].clone();
    assert_conflict(
        store
            .append_log("s1", std::slice::from_ref(&foreign), Some("state-bad"))
            .await,
    );
    assert_eq!(store.log("s1").await.expect("log"), entries[..2]);
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some("state-2")
    );

    // An unknown session.
    let elsewhere = sample_log("nope").entries().to_vec();
    assert_not_found(store.append_log("nope", &elsewhere, Some("x")).await);
    assert!(store.log("nope").await.expect("log").is_empty());

    // The rest still goes on.
    store
        .append_log("s1", &entries[2..], Some("state-4"))
        .await
        .expect("append");
    let back = store.log("s1").await.expect("log");
    assert_eq!(back, entries);
    verify(&back).expect("verifies");
}

async fn votes(db: Db) {
    let store = &db.store;
    seed(store).await;
    let vote = |number: u32, item: u32, kind: &str| VoteRecord {
        session_id: "s1".into(),
        number,
        item,
        kind: kind.into(),
        mode: "by_name".into(),
        opened_at_ms: 1_000 * i64::from(number),
        closed_at_ms: 1_000 * i64::from(number) + 500,
        ballots: json!([{"member": "m-1", "ballot": "favorevole"}, {"member": "m-2", "ballot": "astenuto"}]),
        outcome: json!({"approved": true, "favorevoli": 1, "contrari": 0, "astenuti": 1}),
    };
    let second = vote(2, 1, "immediate_executability");
    let first = vote(1, 1, "deliberation");
    store.insert_vote(&second).await.expect("insert");
    store.insert_vote(&first).await.expect("insert");
    assert_conflict(store.insert_vote(&first).await);
    assert_conflict(
        store
            .insert_vote(&VoteRecord {
                session_id: "nope".into(),
                ..vote(1, 1, "deliberation")
            })
            .await,
    );
    assert_eq!(store.votes("s1").await.expect("votes"), vec![first, second]);
    assert!(store.votes("nope").await.expect("votes").is_empty());
}

async fn data_survives_reopening(db: Db) {
    seed(&db.store).await;
    let entries = sample_log("s1").entries().to_vec();
    db.store
        .append_log("s1", &entries, Some("state"))
        .await
        .expect("append");
    db.store.close().await;

    let store = db.reopen().await;
    let again = db.reopen().await; // migrations already applied: nothing to do
    assert_eq!(store.list_enti().await.expect("enti").len(), 1);
    assert!(store.session("s1").await.expect("session").is_some());
    let back = again.log("s1").await.expect("log");
    assert_eq!(back, entries);
    verify(&back).expect("verifies");
    assert_eq!(
        store
            .meeting_snapshot("s1")
            .await
            .expect("snapshot")
            .as_deref(),
        Some("state")
    );
    store.close().await;
    again.close().await;
}

async fn sqlite_pragmas_on_every_connection(db: Db) {
    if db.store.backend() != Backend::Sqlite {
        assert_eq!(db.store.backend(), Backend::Postgres);
        return;
    }
    // Several connections at once, so that more than the first one is checked.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(db.store.pool().acquire().await.expect("connection"));
    }
    for conn in &mut conns {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .expect("journal_mode")
            .try_get(0)
            .expect("text");
        assert_eq!(mode, "wal");
        let synchronous: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .expect("synchronous")
            .try_get(0)
            .expect("integer");
        assert_eq!(synchronous, 2, "FULL");
        let fk: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .expect("foreign_keys")
            .try_get(0)
            .expect("integer");
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query("PRAGMA busy_timeout")
            .fetch_one(&mut **conn)
            .await
            .expect("busy_timeout")
            .try_get(0)
            .expect("integer");
        assert_eq!(busy, 5000);
    }
}

// ---------------------------------------------------------------------------
// Engine-independent checks
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_in_memory_sqlite_store_keeps_its_data() {
    let store = Store::open("sqlite::memory:").await.expect("open");
    seed(&store).await;
    for _ in 0..5 {
        assert!(store.session("s1").await.expect("session").is_some());
    }
}

#[tokio::test]
async fn an_unknown_database_url_is_refused() {
    let err = Store::open("mysql://u:secret@localhost/db")
        .await
        .expect_err("refused");
    assert_eq!(err.code(), "database");
    assert!(!err.to_string().contains("secret"), "{err}");
}

async fn access_log_appends_and_pages(db: Db) {
    let entry = |ente: &str, session: Option<&str>, action, object: &str| AccessEntry {
        id: 0,
        at_ms: 1_700_000_000_000,
        ente_id: ente.into(),
        session_id: session.map(str::to_owned),
        staff_id: "staff-clerk".into(),
        staff_username: "clerk".into(),
        action,
        object: object.into(),
        detail: String::new(),
    };
    let store = &db.store;
    let mut ids = Vec::new();
    for (ente, session, action, object) in [
        ("comune", Some("s1"), AccessAction::View, "record"),
        ("comune", Some("s1"), AccessAction::Play, "preservation.mp4"),
        ("altro", Some("x9"), AccessAction::View, "record"),
        (
            "comune",
            Some("s2"),
            AccessAction::Download,
            "package-v1.zip",
        ),
        ("comune", None, AccessAction::Delete, "retention"),
    ] {
        ids.push(
            store
                .record_access(&entry(ente, session, action, object))
                .await
                .expect("append"),
        );
    }
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let all = store
        .access_log("comune", None, None, 100)
        .await
        .expect("read");
    let got: Vec<(i64, &str)> = all.iter().map(|e| (e.id, e.object.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (5, "retention"),
            (4, "package-v1.zip"),
            (2, "preservation.mp4"),
            (1, "record")
        ]
    );
    let s1 = store
        .access_log("comune", Some("s1"), None, 100)
        .await
        .expect("s1");
    assert_eq!(s1.len(), 2);
    assert_eq!(s1[0].action, AccessAction::Play);
    let page = store
        .access_log("comune", None, Some(4), 1)
        .await
        .expect("page");
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2]);
    // Still there after a restart.
    let again = db.reopen().await;
    assert_eq!(
        again
            .access_log("altro", None, None, 10)
            .await
            .expect("reopened")
            .len(),
        1
    );
    again.close().await;
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(StoreError::NotFound.code(), "not_found");
    assert_eq!(StoreError::Conflict("x".into()).code(), "conflict");
    assert_eq!(
        StoreError::Database(sqlx::Error::PoolClosed).code(),
        "database"
    );
    assert_eq!(StoreError::Corrupt("x".into()).code(), "corrupt");
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://postgres@/test?host=/var/run/postgresql", "t1"),
        "postgres://postgres@/t1?host=/var/run/postgresql"
    );
    assert_eq!(
        with_database("postgres:///test?host=/run/postgresql&user=postgres", "t1"),
        "postgres:///t1?host=/run/postgresql&user=postgres"
    );
    assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
}
