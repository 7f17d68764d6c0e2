//! Another process holds the SQLite database's write lock during a live session (an
//! operator's `sqlite3` shell left in a transaction, a backup tool): the test takes the
//! lock itself with its own connection (`BEGIN EXCLUSIVE`) while the demo session runs
//! over the REST API and the WebSocket.
//!
//! - Held for less than the busy timeout: the action waits and succeeds.
//! - Held for longer: the action (opening an item, a join, an admission, a ballot) is
//!   refused with `storage` (REST 503, `action_result`, or the join's fatal `error`
//!   closing with 1013), nothing changes in the session, `/readyz` says the database is
//!   not ready without hanging, other connections and sessions go on; once the lock is
//!   released the same action succeeds.
//! - Afterwards the attendance log verifies sealed, its sequence numbers run without a
//!   gap, what was stored before the locks is unchanged, and no refused action left an
//!   entry (each fact once).
//!
//! The busy timeout is lowered to 3 s (`sqlite_busy_timeout_ms`). Run inside a network
//! namespace: `unshare -n bash -c 'ip link set lo up && cargo test -p seduta-tests
//! --test sqlite_busy'`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use seduta_signaling::attendance::{Entry, read_jsonl, verify};
use seduta_signaling::auth::Role;
use seduta_tests::demo::DemoSeduta;
use seduta_tests::ws::{Ending, WsClient};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Executor};

/// The server's busy timeout in this test.
const BUSY_TIMEOUT_MS: u64 = 3000;
/// A hold well under the busy timeout.
const SHORT_HOLD: Duration = Duration::from_millis(200);
/// Bound on any single wait for the server (not a timing assertion).
const BOUND: Duration = Duration::from_secs(30);

/// The write lock of the database, held by a connection of the test's own.
struct Lock(SqliteConnection);

impl Lock {
    async fn take(db: &Path) -> anyhow::Result<Self> {
        let mut conn = SqliteConnectOptions::new()
            .filename(db)
            // Wait for a write of the server's own to finish.
            .busy_timeout(BOUND)
            .connect()
            .await
            .context("opening the database from the test")?;
        conn.execute("BEGIN EXCLUSIVE")
            .await
            .context("taking the write lock")?;
        Ok(Self(conn))
    }

    async fn release(mut self) -> anyhow::Result<()> {
        self.0.execute("ROLLBACK").await?;
        self.0.close().await?;
        Ok(())
    }
}

struct Busy {
    s: DemoSeduta,
    db: PathBuf,
}

impl Busy {
    async fn state(&self) -> anyhow::Result<Value> {
        let path = format!("/api/sessions/{}/state", self.s.session);
        let reply = self.s.api.get(&path, Some(&self.s.staff)).await?;
        ensure!(reply.status == 200, "state: {reply}");
        Ok(reply.json())
    }

    async fn log(&self) -> anyhow::Result<Vec<Entry>> {
        Ok(self.s.server.store().log(&self.s.session).await?)
    }

    /// `/readyz`, which must answer within the bound.
    async fn readyz(&self) -> anyhow::Result<(u16, String)> {
        let reply = tokio::time::timeout(BOUND, self.s.api.get("/readyz", None))
            .await
            .context("/readyz did not answer")??;
        Ok((reply.status, reply.body))
    }

    /// `action` taken while the lock is held for less than the busy timeout: it
    /// waits, and succeeds once the lock is released.
    async fn waits(&self, action: Value) -> anyhow::Result<Value> {
        let lock = Lock::take(&self.db).await?;
        let answered = AtomicBool::new(false);
        let (reply, early) = tokio::join!(
            async {
                let reply = self.s.try_act(&action).await;
                answered.store(true, Ordering::SeqCst);
                reply
            },
            async {
                tokio::time::sleep(SHORT_HOLD).await;
                let early = answered.load(Ordering::SeqCst);
                lock.release().await.map(|()| early)
            }
        );
        let (reply, early) = (reply?, early?);
        ensure!(
            !early,
            "{action} was answered while the lock was held: {reply}"
        );
        ensure!(reply.status == 200, "{action} after a short lock: {reply}");
        Ok(reply.json())
    }

    /// `action` taken while the lock is held past the busy timeout: refused with
    /// `storage`, nothing changed, `/readyz` not ready; then `during` runs with the
    /// lock still held, and after the release the same action succeeds.
    async fn refused_then_done<F, Fut>(&self, action: Value, during: F) -> anyhow::Result<Value>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        let (state_before, log_before) = (self.state().await?, self.log().await?);
        let lock = Lock::take(&self.db).await?;
        let reply = self.s.try_act(&action).await?;
        eprintln!("{action} while locked: {reply}");
        ensure!(
            reply.status == 503 && reply.code().as_deref() == Some("storage"),
            "{action} while the database was locked: {reply}"
        );
        let message = reply.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        ensure!(
            message.contains("locked by another process") && message.contains("nothing"),
            "not a clear message: {message}"
        );
        // Reads go on under the lock (WAL): nothing changed.
        ensure!(
            self.state().await? == state_before,
            "{action} changed the session although refused"
        );
        ensure!(
            same_entries(&self.log().await?, &log_before),
            "{action} left something in the log although refused"
        );
        let (status, body) = self.readyz().await?;
        ensure!(
            status == 503 && body.contains("database"),
            "/readyz while the database is locked: {status} {body}"
        );
        during().await?;
        lock.release().await?;
        let reply = self.s.try_act(&action).await?;
        ensure!(reply.status == 200, "{action} after the release: {reply}");
        Ok(reply.json())
    }
}

fn same_entries(a: &[Entry], b: &[Entry]) -> bool {
    let json = |e: &[Entry]| {
        e.iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .ok()
    };
    json(a).is_some() && json(a) == json(b)
}

fn presence_of(state: &Value, who: &str) -> Option<String> {
    state["people"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == who)
        .and_then(|p| p["presence"]["state"].as_str())
        .map(str::to_owned)
}

/// A participant's WebSocket joins the demo session: the first message back.
async fn join(s: &DemoSeduta, token: &str) -> anyhow::Result<(WsClient, Value)> {
    let mut c = WsClient::connect(&s.ws_url()).await?;
    c.json(json!({"type": "join", "token": token})).await?;
    let first = next_patient(&mut c).await?;
    Ok((c, first))
}

/// The next message, waiting up to the bound (an answer may come after the busy
/// timeout, longer than one `WsClient::next`).
async fn next_patient(c: &mut WsClient) -> anyhow::Result<Value> {
    let deadline = Instant::now() + BOUND;
    loop {
        match c.next().await {
            Err(e)
                if Instant::now() < deadline && format!("{e:#}").contains("no message in time") => {
            }
            other => return other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_refuses_changes_cleanly_and_loses_nothing() -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("seduta-sqlite-busy-{}", std::process::id()));
    let s = DemoSeduta::start(&root, |c| {
        c.preservation = false;
        c.sqlite_busy_timeout_ms = BUSY_TIMEOUT_MS;
    })
    .await?;
    let db = root.join("seduta.db");
    ensure!(db.exists(), "no database at {}", db.display());
    let t = Busy { s, db };
    let s = &t.s;
    let session = s.session.clone();

    let (status, body) = t.readyz().await?;
    ensure!(status == 200, "/readyz before any lock: {status} {body}");

    // Four of seven in the chamber; the opening waits for a short lock.
    for who in ["sindaco", "assessore-1", "assessore-2", "assessore-3"] {
        s.act(json!({"kind": "check_in", "participant": who}))
            .await?;
    }
    let opened = t.waits(json!({"kind": "open_session"})).await?;
    ensure!(opened["phase"] == "open", "not open: {}", opened["phase"]);
    let stored_before = t.log().await?;

    // Someone in another, unstored session (a plain call), connected throughout.
    let other = "altra-riunione";
    let other_url = format!("ws://{}/ws/{other}", s.server.http_addr);
    let mut guest = WsClient::connect(&other_url).await?;
    let guest_token = seduta_tests::server::token(&s.server, other, "ospite-1", Role::Guest)?;
    guest
        .json(json!({"type": "join", "token": guest_token}))
        .await?;
    guest.next_of("joined").await?;

    // Opening an item under a long lock: refused, then done. Meanwhile the other
    // session's people stay connected and a newcomer there joins.
    let item = t
        .refused_then_done(json!({"kind": "open_item", "item": 1}), || async {
            guest.assert_alive().await?;
            let token = seduta_tests::server::token(&s.server, other, "ospite-2", Role::Guest)?;
            let mut newcomer = WsClient::connect(&other_url).await?;
            newcomer
                .json(json!({"type": "join", "token": token}))
                .await?;
            newcomer.next_of("joined").await?;
            newcomer.json(json!({"type": "leave"})).await?;
            Ok(())
        })
        .await?;
    ensure!(item["current_item"] == 1, "item: {}", item["current_item"]);

    // A member joins while the lock is held: the join is refused (fatal `storage`,
    // close 1013) and nothing is recorded; joining again after the release works.
    let a4 = s.invite("assessore-4").await?;
    let (log_before, state_before) = (t.log().await?, t.state().await?);
    let lock = Lock::take(&t.db).await?;
    let (mut refused, first) = join(s, &a4).await?;
    eprintln!("join while locked: {first}");
    ensure!(
        first["type"] == "error" && first["code"] == "storage" && first["fatal"] == true,
        "a join while the database was locked: {first}"
    );
    ensure!(
        refused.ending().await? == Ending::Close(1013),
        "the refused join did not close with 1013"
    );
    ensure!(
        same_entries(&t.log().await?, &log_before),
        "the refused join left an entry"
    );
    let state = t.state().await?;
    ensure!(
        state == state_before && presence_of(&state, "assessore-4").as_deref() == Some("absent"),
        "the refused join changed the session: {}",
        state["people"]
    );
    let (status, body) = t.readyz().await?;
    ensure!(status == 503, "/readyz while locked: {status} {body}");
    guest.assert_alive().await?;
    lock.release().await?;
    let (mut m4, first) = join(s, &a4).await?;
    ensure!(
        first["type"] == "joined",
        "the join after the release: {first}"
    );
    let presence = m4.next_of("your_presence").await?;
    ensure!(
        presence["presence"]["state"] == "lobby",
        "after joining: {presence}"
    );

    // The segretario admits them while the lock is held: refused, then admitted.
    t.refused_then_done(
        json!({"kind": "identify", "participant": "assessore-4", "camera_on": true}),
        || async {
            let state = t.state().await?;
            ensure!(
                presence_of(&state, "assessore-4").as_deref() == Some("lobby"),
                "admitted although refused"
            );
            Ok(())
        },
    )
    .await?;
    ensure!(
        presence_of(&t.state().await?, "assessore-4").as_deref() == Some("present"),
        "not admitted"
    );

    // A vote: opened under a short lock; the member's own ballot over the WebSocket
    // under a long one is refused, nothing counted, and cast again after the release.
    t.waits(json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    let cast =
        json!({"type": "action", "id": 41, "action": {"kind": "cast", "ballot": "favorevole"}});
    let (log_before, state_before) = (t.log().await?, t.state().await?);
    let lock = Lock::take(&t.db).await?;
    m4.json(cast.clone()).await?;
    let result = wait_result(&mut m4, 41).await?;
    eprintln!("ballot while locked: {result}");
    ensure!(
        result["ok"] == false && result["code"] == "storage",
        "a ballot while the database was locked: {result}"
    );
    ensure!(
        same_entries(&t.log().await?, &log_before) && t.state().await? == state_before,
        "the refused ballot changed something"
    );
    m4.assert_alive().await?;
    lock.release().await?;
    m4.json(
        json!({"type": "action", "id": 42, "action": {"kind": "cast", "ballot": "favorevole"}}),
    )
    .await?;
    let result = wait_result(&mut m4, 42).await?;
    ensure!(
        result["ok"] == true,
        "the ballot after the release: {result}"
    );
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-1", "favorevole"),
        ("assessore-2", "contrario"),
        ("assessore-3", "astenuto"),
    ] {
        s.act(json!({"kind": "cast", "participant": who, "ballot": ballot}))
            .await?;
    }
    t.waits(json!({"kind": "close_vote"})).await?;

    // Ready again once released.
    let deadline = Instant::now() + BOUND;
    loop {
        let (status, body) = t.readyz().await?;
        if status == 200 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "/readyz after the locks: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.act(json!({"kind": "close_session"})).await?;

    // Nothing lost or altered: the old entries unchanged, the numbers without a gap,
    // each fact once, the chain sealed.
    let log = t.log().await?;
    ensure!(
        log.len() > stored_before.len()
            && same_entries(&log[..stored_before.len()], &stored_before),
        "the entries stored before the locks changed"
    );
    for (i, e) in log.iter().enumerate() {
        ensure!(
            e.seq == i as u64 + 1,
            "entry {i} has sequence number {}",
            e.seq
        );
    }
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    let count = |kind: &str, key: &str, who: &str| {
        log.iter()
            .filter(|e| e.kind == kind && (who.is_empty() || e.data[key] == who))
            .count()
    };
    for (kind, key, who) in [
        ("session_opened", "", ""),
        ("item_opened", "", ""),
        ("vote_opened", "", ""),
        ("vote_closed", "", ""),
        ("session_closed", "", ""),
        ("entered_lobby", "participant", "assessore-4"),
        ("admitted", "participant", "assessore-4"),
        ("vote_cast", "member", "assessore-4"),
    ] {
        let n = count(kind, key, who);
        ensure!(n == 1, "{kind} {who}: {n} times in {kinds:?}");
    }
    let jsonl: String = log
        .iter()
        .map(|e| serde_json::to_string(e).map(|l| l + "\n"))
        .collect::<Result<_, _>>()?;
    match read_jsonl(&jsonl)
        .map_err(|b| anyhow::anyhow!("{b}"))
        .and_then(|entries| verify(&entries).map_err(|b| anyhow::anyhow!("{b}")))
    {
        Ok(v) if v.sealed => {}
        other => bail!("the log does not verify sealed: {other:?}"),
    }
    // The votes table and the session's status followed the log.
    let votes = s.server.store().votes(&session).await?;
    ensure!(votes.len() == 1, "{} votes stored", votes.len());
    let record = s
        .server
        .store()
        .session(&session)
        .await?
        .context("the session is gone")?;
    ensure!(
        record.status.as_str() == "closed",
        "status {}",
        record.status.as_str()
    );

    drop(m4);
    drop(guest);
    t.s.stop().await;
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

/// The `action_result` with `id`.
async fn wait_result(c: &mut WsClient, id: u64) -> anyhow::Result<Value> {
    loop {
        let v = next_patient(c).await?;
        if v["type"] == "action_result" && v["id"] == id {
            return Ok(v);
        }
    }
}
