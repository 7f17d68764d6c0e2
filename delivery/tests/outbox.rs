//! The outbox against real receivers, on SQLite and on PostgreSQL: a webhook server
//! that verifies signatures, s3s-fs as S3, and a folder. Time is a `ManualClock`:
//! "an hour" passes by moving it, never by waiting, and no assertion is about time.

mod support;

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStoreExt;
use seduta_delivery::{
    DeliveryError, DeliveryEvent, DeliveryState, ManualClock, RetryPolicy, SystemClock,
};
use sha2::{Digest, Sha256};
use support::db::Db;
use support::receiver::{Mode, Receiver};
use support::s3::S3Server;
use support::*;

const MIB: usize = 1024 * 1024;

/// One package to a folder, a webhook and S3: delivered once each, checked at each
/// receiver; enqueueing it again changes nothing; a restarted outbox sees the same.
async fn delivered_once_to_every_sink(db: Db) {
    let work = TempDir::new("work");
    let target = TempDir::new("folder");
    let receiver = Receiver::new(Mode::Accept);
    let (addr, _server) = receiver.serve(0).await;
    let s3 = S3Server::start().await;
    let clock = ManualClock::starting_now();
    let sinks = vec![
        folder_sink("archivio", target.path()),
        webhook_sink("protocollo", addr.port()),
        s3_sink("bucket", &s3, 5 * MIB as u64),
    ];
    let outbox = outbox(&db.pool, sinks.clone(), Arc::new(clock.clone()));
    let mut events = outbox.subscribe();
    let (package, sha) = make_package(work.path(), "giunta-2026-03-12", 1, 300_000);

    let queued = outbox.enqueue(&package).await.expect("enqueue");
    assert_eq!(queued.len(), 3);
    assert!(
        queued
            .iter()
            .all(|d| d.state == DeliveryState::Pending && d.attempts == 0)
    );
    assert!(queued.iter().all(|d| d.package_sha256 == sha));

    let report = outbox.worker("w1").run_due().await.expect("round");
    assert_eq!((report.claimed, report.delivered), (3, 3), "{report:?}");
    let rows = outbox.for_session("giunta-2026-03-12").await.expect("rows");
    for d in &rows {
        assert_eq!(d.state, DeliveryState::Delivered, "{d:?}");
        assert_eq!(d.attempts, 1);
        assert!(d.delivered_at_ms.is_some() && d.lease_owner.is_none());
    }
    let mut delivered_events = 0;
    while let Ok(e) = events.try_recv() {
        assert!(matches!(e, DeliveryEvent::Delivered { .. }), "{e:?}");
        delivered_events += 1;
    }
    assert_eq!(delivered_events, 3);

    // The folder: the package and its .hash (lowercase hex, no newline), no leftovers.
    let file = target.path().join("giunta-2026-03-12-v1.zip");
    assert_eq!(
        hex::encode(Sha256::digest(std::fs::read(&file).expect("file"))),
        sha
    );
    assert_eq!(
        std::fs::read_to_string(target.path().join("giunta-2026-03-12-v1.zip.hash")).expect("hash"),
        sha
    );
    assert_eq!(std::fs::read_dir(target.path()).expect("dir").count(), 2);

    // The webhook: stored once, signature and digest verified by the receiver.
    let key = rows
        .iter()
        .find(|d| d.sink == "protocollo")
        .expect("row")
        .idempotency_key
        .clone();
    assert_eq!(receiver.stored_count(&key), 1);
    assert_eq!(
        hex::encode(Sha256::digest(receiver.stored(&key).expect("body"))),
        sha
    );
    assert_eq!(receiver.seen.lock().expect("lock").bad_requests, 0);
    let headers = receiver
        .seen
        .lock()
        .expect("lock")
        .last_headers
        .clone()
        .expect("headers");
    assert_eq!(headers["x-seduta-session"], "giunta-2026-03-12");
    assert_eq!(headers["x-seduta-package-version"], "1");
    assert_eq!(headers["content-type"], "application/zip");

    // S3: read back through the S3 API and compared.
    let key_s3 = "comune-test/sedute/giunta-2026-03-12/v1/giunta-2026-03-12-v1.zip";
    assert_eq!(s3_get_sha(&s3, key_s3).await, sha);

    // Again: nothing new.
    let again = outbox.enqueue(&package).await.expect("enqueue again");
    assert_eq!(again, rows);
    assert_eq!(
        outbox.worker("w1").run_due().await.expect("round").claimed,
        0
    );

    // A restarted server (a new outbox on a new pool) sees the same state.
    let restarted = support::outbox(&db.another_pool().await, sinks, Arc::new(clock));
    assert_eq!(
        restarted
            .for_session("giunta-2026-03-12")
            .await
            .expect("rows"),
        rows
    );
    let backlog = restarted.backlog().await.expect("backlog");
    assert_eq!(
        (backlog.delivered, backlog.pending, backlog.dead),
        (3, 0, 0)
    );
}
on_both!(delivered_once_to_every_sink);

/// A package larger than the part size goes up in parts and reads back identical.
async fn large_package_multipart_to_s3(db: Db) {
    let work = TempDir::new("work");
    let s3 = S3Server::start().await;
    let outbox = outbox(
        &db.pool,
        vec![s3_sink("bucket", &s3, 5 * MIB as u64)],
        Arc::new(SystemClock),
    );
    let (package, sha) = make_package(work.path(), "s-large", 2, 12 * MIB + 12_345);
    outbox.enqueue(&package).await.expect("enqueue");
    let report = outbox.worker("w1").run_due().await.expect("round");
    assert_eq!(report.delivered, 1, "{report:?}");
    let key = "comune-test/sedute/s-large/v2/s-large-v2.zip";
    assert_eq!(s3_get_sha(&s3, key).await, sha);
    // Independently of the S3 API: the bytes s3s-fs wrote to its disk.
    let on_disk = std::fs::read(s3.object_file(key)).expect("object file");
    assert_eq!(hex::encode(Sha256::digest(&on_disk)), sha);

    // Delivered again after the outcome was lost: the object is found, not re-sent.
    sqlx::query("UPDATE deliveries SET state = 'pending'")
        .execute(&db.pool)
        .await
        .expect("reset");
    let d = &outbox.for_session("s-large").await.expect("rows")[0];
    let report = outbox.worker("w1").run_due().await.expect("round");
    assert_eq!(report.delivered, 1);
    let d2 = outbox.get(&d.id).await.expect("row");
    assert!(
        d2.receipt
            .as_deref()
            .unwrap_or("")
            .contains("already present"),
        "{d2:?}"
    );
}
on_both!(large_package_multipart_to_s3);

/// The receiver is down (port closed), then up but answering 500 after storing the
/// package: it still stores it exactly once, thanks to the idempotency key.
async fn receiver_down_then_up_exactly_once(db: Db) {
    let work = TempDir::new("work");
    let port = closed_port();
    let clock = ManualClock::starting_now();
    let outbox = outbox(
        &db.pool,
        vec![webhook_sink("protocollo", port)],
        Arc::new(clock.clone()),
    );
    let (package, sha) = make_package(work.path(), "s1", 1, 50_000);
    let id = outbox.enqueue(&package).await.expect("enqueue")[0]
        .id
        .clone();
    let worker = outbox.worker("w1");

    let report = worker.run_due().await.expect("round");
    assert_eq!(report.retrying, 1, "{report:?}");
    let d = outbox.get(&id).await.expect("row");
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.last_error_code.as_deref(), Some("connect"));
    // Not due before its backoff.
    assert_eq!(worker.run_due().await.expect("round").claimed, 0);

    let receiver = Receiver::new(Mode::FailAfterStore(1));
    let (_addr, _server) = receiver.serve(port).await;
    clock.advance(Duration::from_secs(15 * 60));
    let report = worker.run_due().await.expect("round");
    assert_eq!(report.retrying, 1, "{report:?}");
    assert_eq!(
        outbox
            .get(&id)
            .await
            .expect("row")
            .last_error_code
            .as_deref(),
        Some("http_5xx")
    );
    assert_eq!(receiver.stored_count(&d.idempotency_key), 1);

    clock.advance(Duration::from_secs(15 * 60));
    let report = worker.run_due().await.expect("round");
    assert_eq!(report.delivered, 1, "{report:?}");
    let d = outbox.get(&id).await.expect("row");
    assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 3));
    assert_eq!(receiver.requests(&d.idempotency_key), 2);
    assert_eq!(receiver.stored_count(&d.idempotency_key), 1);
    assert_eq!(
        hex::encode(Sha256::digest(
            receiver.stored(&d.idempotency_key).expect("body")
        )),
        sha
    );
}
on_both!(receiver_down_then_up_exactly_once);

/// Down "for an hour" (the clock moves 5 minutes at a time, a worker round each
/// time), then back: delivered once, with the backoff having spaced the attempts.
async fn receiver_down_for_an_hour(db: Db) {
    let work = TempDir::new("work");
    let port = closed_port();
    let clock = ManualClock::starting_now();
    let outbox = outbox(
        &db.pool,
        vec![webhook_sink("protocollo", port)],
        Arc::new(clock.clone()),
    );
    let (package, _) = make_package(work.path(), "s-hour", 1, 10_000);
    let id = outbox.enqueue(&package).await.expect("enqueue")[0]
        .id
        .clone();
    let worker = outbox.worker("w1");
    let mut claimed = 0;
    for _ in 0..12 {
        claimed += worker.run_due().await.expect("round").claimed;
        clock.advance(Duration::from_secs(5 * 60));
    }
    let d = outbox.get(&id).await.expect("row");
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.attempts as usize, claimed);
    // Backoff of 1, 2, 4, 8, 15 min (jittered down to half): between 4 and 12
    // attempts in an hour of 5-minute rounds, never one per round forever.
    assert!((4..12).contains(&claimed), "attempts in an hour: {claimed}");
    // The backlog metric: one waiting, enqueued an hour ago on the outbox's clock.
    let backlog = outbox.backlog().await.expect("backlog");
    assert_eq!(
        (
            backlog.pending + backlog.in_flight,
            backlog.oldest_waiting_ms
        ),
        (1, Some(3_600_000))
    );

    let receiver = Receiver::new(Mode::Accept);
    let (_addr, _server) = receiver.serve(port).await;
    clock.advance(Duration::from_secs(15 * 60));
    let report = worker.run_due().await.expect("round");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(receiver.stored_count(&d.idempotency_key), 1);
    assert_eq!(receiver.requests(&d.idempotency_key), 1);
    let backlog = outbox.backlog().await.expect("backlog");
    assert_eq!((backlog.delivered, backlog.pending), (1, 0));
    assert_eq!(backlog.oldest_waiting_ms, None, "nothing waits any more");
}
on_both!(receiver_down_for_an_hour);

/// Failing past the configured time: dead, an alert event, listed as a dead letter;
/// sent again by hand once the receiver is back.
async fn dead_letter_after_the_configured_time(db: Db) {
    let work = TempDir::new("work");
    let port = closed_port();
    let clock = ManualClock::starting_now();
    let retry = RetryPolicy {
        initial_backoff_secs: 60,
        max_backoff_secs: 15 * 60,
        give_up_after_secs: 2 * 3600,
    };
    let outbox = outbox_with(
        &db.pool,
        vec![webhook_sink("protocollo", port)],
        retry,
        Arc::new(clock.clone()),
    );
    let mut events = outbox.subscribe();
    let (package, _) = make_package(work.path(), "s-dead", 1, 10_000);
    let id = outbox.enqueue(&package).await.expect("enqueue")[0]
        .id
        .clone();
    let worker = outbox.worker("w1");
    for _ in 0..20 {
        worker.run_due().await.expect("round");
        if outbox.get(&id).await.expect("row").state == DeliveryState::Dead {
            break;
        }
        clock.advance(Duration::from_secs(15 * 60));
    }
    let d = outbox.get(&id).await.expect("row");
    assert_eq!(d.state, DeliveryState::Dead, "{d:?}");
    assert_eq!(d.last_error_code.as_deref(), Some("connect"));
    assert!(d.dead_at_ms.expect("dead at") >= d.deadline_at_ms);
    assert_eq!(outbox.dead_letters().await.expect("dead"), vec![d.clone()]);
    let mut alert = None;
    while let Ok(e) = events.try_recv() {
        if let DeliveryEvent::DeadLetter {
            id: dead_id, code, ..
        } = e
        {
            alert = Some((dead_id, code));
        }
    }
    assert_eq!(alert, Some((id.clone(), "connect".to_owned())));
    // Dead letters are not retried by themselves.
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(worker.run_due().await.expect("round").claimed, 0);

    // Retrying something that is not dead is refused and changes nothing.
    let receiver = Receiver::new(Mode::Accept);
    let (_addr, _server) = receiver.serve(port).await;
    let revived = outbox.retry_dead(&id).await.expect("retry");
    assert_eq!(revived.state, DeliveryState::Pending);
    let again = outbox.retry_dead(&id).await;
    assert!(
        matches!(again, Err(DeliveryError::Conflict(_))),
        "{again:?}"
    );
    assert_eq!(worker.run_due().await.expect("round").delivered, 1);
    assert_eq!(receiver.stored_count(&d.idempotency_key), 1);
    assert!(outbox.dead_letters().await.expect("dead").is_empty());
}
on_both!(dead_letter_after_the_configured_time);

/// A 4xx refusal is dead at once, with the receiver's own message.
async fn refusal_is_dead_at_once(db: Db) {
    let work = TempDir::new("work");
    let receiver = Receiver::new(Mode::Refuse(
        422,
        "pacchetto non conforme: manca l'indice".into(),
    ));
    let (addr, _server) = receiver.serve(0).await;
    let outbox = outbox(
        &db.pool,
        vec![webhook_sink("protocollo", addr.port())],
        Arc::new(ManualClock::starting_now()),
    );
    let mut events = outbox.subscribe();
    let (package, _) = make_package(work.path(), "s-422", 1, 1000);
    let id = outbox.enqueue(&package).await.expect("enqueue")[0]
        .id
        .clone();
    let report = outbox.worker("w1").run_due().await.expect("round");
    assert_eq!(report.dead, 1, "{report:?}");
    let d = outbox.get(&id).await.expect("row");
    assert_eq!((d.state, d.attempts), (DeliveryState::Dead, 1));
    assert_eq!(d.last_error_code.as_deref(), Some("http_4xx"));
    let message = d.last_error.expect("message");
    assert!(
        message.contains("422") && message.contains("manca l'indice"),
        "{message}"
    );
    assert!(matches!(
        events.try_recv(),
        Ok(DeliveryEvent::DeadLetter { .. })
    ));

    // 429 is not a refusal: it is retried.
    receiver.set_mode(Mode::Refuse(429, "troppe richieste".into()));
    let (package, _) = make_package(work.path(), "s-429", 1, 1000);
    let id = outbox.enqueue(&package).await.expect("enqueue")[0]
        .id
        .clone();
    assert_eq!(
        outbox.worker("w1").run_due().await.expect("round").retrying,
        1
    );
    assert_eq!(
        outbox.get(&id).await.expect("row").state,
        DeliveryState::Pending
    );
}
on_both!(refusal_is_dead_at_once);

/// The worker dies mid-delivery (after the receiver stored the package, before it
/// answered): the lease expires, another worker retries, the receiver still has
/// the package once.
async fn worker_killed_mid_delivery(db: Db) {
    let work = TempDir::new("work");
    let receiver = Receiver::new(Mode::HangAfterStore);
    let (addr, _server) = receiver.serve(0).await;
    let clock = ManualClock::starting_now();
    let sinks = vec![webhook_sink("protocollo", addr.port())];
    let outbox = outbox(&db.pool, sinks.clone(), Arc::new(clock.clone()));
    let (package, _) = make_package(work.path(), "s-kill", 1, 20_000);
    let d = outbox.enqueue(&package).await.expect("enqueue")[0].clone();

    let handle = outbox.worker("doomed").spawn();
    let key = d.idempotency_key.clone();
    eventually("the receiver stores the package", || {
        let stored = receiver.stored_count(&key);
        async move { stored == 1 }
    })
    .await;
    handle.abort();
    let stuck = outbox.get(&d.id).await.expect("row");
    assert_eq!(stuck.state, DeliveryState::InFlight);
    assert_eq!(stuck.lease_owner.as_deref(), Some("doomed"));

    // A new process: nothing to do while the lease runs; after it, the retry.
    receiver.set_mode(Mode::Accept);
    let restarted = support::outbox(&db.another_pool().await, sinks, Arc::new(clock.clone()));
    let survivor = restarted.worker("survivor");
    assert_eq!(survivor.run_due().await.expect("round").claimed, 0);
    clock.advance(Duration::from_secs(31));
    let report = survivor.run_due().await.expect("round");
    assert_eq!(report.delivered, 1, "{report:?}");
    let done = restarted.get(&d.id).await.expect("row");
    assert_eq!((done.state, done.attempts), (DeliveryState::Delivered, 2));
    assert_eq!(receiver.requests(&key), 2);
    assert_eq!(receiver.stored_count(&key), 1);
}
on_both!(worker_killed_mid_delivery);

/// Two workers in two "processes" (separate pools) on one database, running
/// together: every delivery is attempted exactly once, never twice at once.
async fn two_workers_never_deliver_the_same_row(db: Db) {
    const PACKAGES: usize = 24;
    let work = TempDir::new("work");
    let receiver = Receiver::new(Mode::Accept);
    *receiver.delay.lock().expect("lock") = Duration::from_millis(20);
    let (addr, _server) = receiver.serve(0).await;
    let sinks = vec![webhook_sink("protocollo", addr.port())];
    let a = support::outbox(&db.pool, sinks.clone(), Arc::new(SystemClock));
    let b = support::outbox(&db.another_pool().await, sinks, Arc::new(SystemClock));
    let mut keys = Vec::new();
    for i in 0..PACKAGES {
        let (package, _) = make_package(work.path(), &format!("s-{i:02}"), 1, 4096);
        keys.push(
            a.enqueue(&package).await.expect("enqueue")[0]
                .idempotency_key
                .clone(),
        );
    }
    let wa = a.worker("process-a").spawn();
    let wb = b.worker("process-b").spawn();
    let mut done = false;
    for _ in 0..1200 {
        let backlog = a.backlog().await.expect("backlog");
        if backlog.delivered == PACKAGES as u64 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !done {
        let rows = sqlx::query("SELECT session_id, state, attempts, last_error_code, last_error, lease_owner FROM deliveries")
            .fetch_all(&db.pool)
            .await
            .expect("rows");
        use sqlx::Row;
        for r in &rows {
            eprintln!(
                "{} {} {} {:?} {:?} {:?}",
                r.get::<String, _>("session_id"),
                r.get::<String, _>("state"),
                r.get::<i64, _>("attempts"),
                r.get::<Option<String>, _>("last_error_code"),
                r.get::<Option<String>, _>("last_error"),
                r.get::<Option<String>, _>("lease_owner"),
            );
        }
        panic!("not every package was delivered");
    }
    wa.stop().await;
    wb.stop().await;
    for key in &keys {
        assert_eq!(receiver.requests(key), 1, "requests for {key}");
        assert_eq!(receiver.stored_count(key), 1);
    }
    assert_eq!(receiver.seen.lock().expect("lock").max_in_progress, 1);
    let rows = sqlx::query("SELECT attempts FROM deliveries")
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    use sqlx::Row;
    assert!(rows.iter().all(|r| r.get::<i64, _>("attempts") == 1));
}
on_both!(two_workers_never_deliver_the_same_row);

/// Folder sink: an identical package already there is success; another file under
/// the package's name is a conflict (dead, nothing overwritten); a missing folder is
/// retried; a package file changed after enqueueing is dead.
async fn folder_sink_idempotence_and_conflicts(db: Db) {
    let work = TempDir::new("work");
    let target = TempDir::new("folder");
    let clock = ManualClock::starting_now();
    let outbox = outbox(
        &db.pool,
        vec![folder_sink("archivio", target.path())],
        Arc::new(clock.clone()),
    );
    let worker = outbox.worker("w1");

    let (package, sha) = make_package(work.path(), "s-same", 1, 5000);
    std::fs::copy(&package.zip_path, target.path().join("s-same-v1.zip")).expect("copy");
    let d = outbox.enqueue(&package).await.expect("enqueue")[0].clone();
    assert_eq!(worker.run_due().await.expect("round").delivered, 1);
    let d = outbox.get(&d.id).await.expect("row");
    assert!(
        d.receipt
            .as_deref()
            .unwrap_or("")
            .contains("already present")
    );
    assert_eq!(
        std::fs::read_to_string(target.path().join("s-same-v1.zip.hash")).expect("hash"),
        sha
    );

    let (package, _) = make_package(work.path(), "s-other", 1, 5000);
    std::fs::write(target.path().join("s-other-v1.zip"), b"something else").expect("write");
    let d = outbox.enqueue(&package).await.expect("enqueue")[0].clone();
    assert_eq!(worker.run_due().await.expect("round").dead, 1);
    let d = outbox.get(&d.id).await.expect("row");
    assert_eq!(d.last_error_code.as_deref(), Some("conflict"));
    assert_eq!(
        std::fs::read(target.path().join("s-other-v1.zip")).expect("read"),
        b"something else"
    );

    let (package, _) = make_package(work.path(), "s-changed", 1, 5000);
    let d = outbox.enqueue(&package).await.expect("enqueue")[0].clone();
    std::fs::write(&package.zip_path, b"tampered").expect("write");
    assert_eq!(worker.run_due().await.expect("round").dead, 1);
    assert_eq!(
        outbox
            .get(&d.id)
            .await
            .expect("row")
            .last_error_code
            .as_deref(),
        Some("package_changed")
    );
    assert!(!target.path().join("s-changed-v1.zip").exists());

    // An unmounted share: retried, never created.
    let gone = target.path().join("not-mounted");
    let outbox2 = support::outbox(
        &db.pool,
        vec![folder_sink("nas", &gone)],
        Arc::new(clock.clone()),
    );
    let (package, _) = make_package(work.path(), "s-nas", 1, 100);
    let d = outbox2.enqueue(&package).await.expect("enqueue")[0].clone();
    assert_eq!(
        outbox2
            .worker("w2")
            .run_due()
            .await
            .expect("round")
            .retrying,
        1
    );
    assert_eq!(
        outbox2
            .get(&d.id)
            .await
            .expect("row")
            .last_error_code
            .as_deref(),
        Some("folder_unavailable")
    );
    assert!(!gone.exists());
    // Leftover temporary files: none.
    let leftovers: Vec<_> = std::fs::read_dir(target.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty());
}
on_both!(folder_sink_idempotence_and_conflicts);

/// Bad input: a clear error with a stable code, and nothing written.
async fn bad_packages_change_nothing(db: Db) {
    let work = TempDir::new("work");
    let target = TempDir::new("folder");
    let outbox = outbox(
        &db.pool,
        vec![
            folder_sink("a", target.path()),
            folder_sink("b", target.path()),
        ],
        Arc::new(SystemClock),
    );
    let (mut package, _) = make_package(work.path(), "ok", 1, 100);
    package.id.session_id = "../escape".into();
    let e = outbox.enqueue(&package).await.expect_err("bad id");
    assert_eq!(e.code(), "bad_package");
    package.id.session_id = "ok".into();
    package.id.version = 0;
    assert_eq!(
        outbox
            .enqueue(&package)
            .await
            .expect_err("version 0")
            .code(),
        "bad_package"
    );
    package.id.version = 1;
    package.zip_path = work.path().join("missing.zip");
    assert_eq!(
        outbox.enqueue(&package).await.expect_err("missing").code(),
        "package_io"
    );
    assert_eq!(outbox.backlog().await.expect("backlog"), Default::default());

    // Same id, other content: refused, the first enqueue's rows untouched.
    let (package, _) = make_package(work.path(), "ok", 1, 100);
    let first = outbox.enqueue(&package).await.expect("enqueue");
    assert_eq!(first.len(), 2);
    std::fs::write(&package.zip_path, b"different").expect("write");
    assert_eq!(
        outbox.enqueue(&package).await.expect_err("conflict").code(),
        "conflict"
    );
    assert_eq!(outbox.for_session("ok").await.expect("rows"), first);
    assert!(matches!(
        outbox.get("nope").await,
        Err(DeliveryError::NotFound)
    ));
}
on_both!(bad_packages_change_nothing);

/// SHA-256 of an object read back through the S3 API (object_store, as a client).
async fn s3_get_sha(s3: &S3Server, key: &str) -> String {
    use futures_util::StreamExt;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(support::s3::BUCKET)
        .with_endpoint(s3.endpoint())
        .with_region("us-east-1")
        .with_allow_http(true)
        .with_access_key_id(support::s3::ACCESS_KEY)
        .with_secret_access_key(support::s3::SECRET_KEY)
        .build()
        .expect("client");
    let mut stream = store
        .get(&object_store::path::Path::from(key))
        .await
        .expect("get")
        .into_stream();
    let mut h = Sha256::new();
    while let Some(chunk) = stream.next().await {
        h.update(chunk.expect("chunk"));
    }
    hex::encode(h.finalize())
}
