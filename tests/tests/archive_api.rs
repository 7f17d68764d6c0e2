//! The clerk's archive over the wire, against a real server with the demo Giunta, on
//! embedded SQLite and on PostgreSQL (a fresh database made from `TEST_DATABASE_URL`;
//! without it the PostgreSQL runs fail unless `SEDUTA_SKIP_POSTGRES=1`).
//!
//! One session is run through the REST API (roll call in the chamber, two items, a
//! vote by name, the close). The recording folder gets a `preservation.mp4` of known
//! bytes and a `chapters.json` written by the test (the preservation worker is off:
//! its own tests judge the real copy), so that every byte served can be compared.
//! Checked: the search (agenda text without accents, participant, dates, organ,
//! closed sessions only); the record page (attendance by roll call with the mode,
//! votes by name); Range requests (206 and byte-exact, 200 whole, 416 with
//! `Content-Range: bytes */size`); media URL tokens (bound to their file, stopped by
//! a logout); refusals with stable codes (traversal, unknown files, other
//! municipalities, roles); the access log (one `view` per page, one `play` per
//! playback whatever the number of ranges, downloads, readable by the segretario and
//! the administrator only); retention refused before the delivery and before the
//! period ends, then done after a restart with a zero period: the working masters
//! gone, the copy, chapters, attendance and votes kept, the deletion logged with the
//! reason and every file's SHA-256.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use seduta::config::Config;
use seduta::demo::Demo;
use seduta::server::Server;
use seduta_signaling::auth::hash_password;
use seduta_signaling::store::{Ente, Organ, OrganSettings, StaffAccount, StaffRole};
use seduta_tests::api::{Api, Reply};
use seduta_tests::pg::{Engine, Env, run_on};
use seduta_tests::server::SECRET;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------
// Two engines, as in meeting_api.rs.

/// Runs `scenario` on `engine` in a scratch data directory and database.
async fn run<F, Fut>(engine: Engine, scenario: F) -> anyhow::Result<()>
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(engine, "seduta_archive", scenario).await
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() -> anyhow::Result<()> {
                super::run(super::Engine::Sqlite, super::$name).await
            }

            #[tokio::test]
            async fn postgres() -> anyhow::Result<()> {
                super::run(super::Engine::Postgres, super::$name).await
            }
        }
    )*};
}

on_both_engines!(archive_of_a_closed_session);

// ---------------------------------------------------------------------------
// The server and a raw HTTP client that keeps the bytes and the headers.

struct Seduta {
    server: Server,
    api: Api,
    demo: Demo,
}

impl Seduta {
    async fn start(env: &Env, retention_years: u32) -> anyhow::Result<Self> {
        let config = Config {
            http_bind: "127.0.0.1:0".parse()?,
            udp_bind: "127.0.0.1:0".parse()?,
            tcp_bind: None,
            data_dir: env.data_dir.clone(),
            database_url: env.database_url.clone(),
            jwt_secret: Some(SECRET.to_owned()),
            demo: true,
            preservation: false,
            retention_years,
            ..Config::default()
        };
        let server = seduta::server::start(config).await?;
        let issuer = server
            .issuer()
            .context("the server holds no token issuer")?;
        let demo = seduta::demo::seed(server.store(), issuer, &server.local_url(), &env.data_dir)
            .await
            .context("seeding the demo")?;
        Ok(Self {
            api: Api::new(server.http_addr),
            server,
            demo,
        })
    }

    async fn stop(self) {
        let store = self.server.store().clone();
        self.server.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), store.close()).await;
    }

    async fn login(&self, username: &str) -> anyhow::Result<String> {
        let password = self
            .demo
            .staff
            .iter()
            .find(|s| s.username == username)
            .map(|s| s.password.clone())
            .with_context(|| format!("no demo password for {username}"))?;
        self.login_with(username, &password).await
    }

    async fn login_with(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let reply = self
            .api
            .post(
                "/api/auth/login",
                None,
                &json!({"username": username, "password": password}),
            )
            .await?;
        ensure!(reply.status == 200, "login of {username}: {reply}");
        reply.json()["token"]
            .as_str()
            .map(str::to_owned)
            .context("no token")
    }

    async fn act(&self, session: &str, token: &str, action: Value) -> anyhow::Result<()> {
        let reply = self
            .api
            .post(
                &format!("/api/sessions/{session}/actions"),
                Some(token),
                &action,
            )
            .await?;
        ensure!(reply.status == 200, "{action} was refused: {reply}");
        Ok(())
    }

    async fn get_ok(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        let reply = self.api.get(path, Some(token)).await?;
        ensure!(reply.status == 200, "GET {path}: {reply}");
        Ok(reply.json())
    }

    fn addr(&self) -> SocketAddr {
        self.server.http_addr
    }
}

/// A response with its bytes.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn code(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
    }
}

/// `GET path` with `headers`, over one connection; the body as bytes (de-chunked).
async fn raw_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Raw> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut bytes))
        .await
        .context("the response took too long")??;
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[end + 4..].to_vec();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body)?;
    }
    Ok(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end])?.trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).context("short chunk")?);
        data = data.get(size + 2..).context("chunk end")?;
    }
}

fn expect_error(reply: &Reply, status: u16, code: &str, what: &str) -> anyhow::Result<()> {
    ensure!(
        reply.status == status && reply.code().as_deref() == Some(code) && reply.is_json_error(),
        "{what}: expected {status} {code}, got {reply}"
    );
    Ok(())
}

fn expect_raw_error(reply: &Raw, status: u16, code: &str, what: &str) -> anyhow::Result<()> {
    ensure!(
        reply.status == status && reply.code().as_deref() == Some(code),
        "{what}: expected {status} {code}, got {} {:?} {}",
        reply.status,
        reply.headers,
        String::from_utf8_lossy(&reply.body)
    );
    Ok(())
}

/// Bytes that differ at every offset, so that a range served from the wrong place
/// shows.
fn known_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new("sha256sum").arg(path).output()?;
    ensure!(out.status.success(), "sha256sum {}", path.display());
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

async fn access_log(s: &Seduta, token: &str, session: &str) -> anyhow::Result<Vec<Value>> {
    let v = s
        .get_ok(
            &format!("/api/access-log?session={session}&limit=500"),
            token,
        )
        .await?;
    v.as_array()
        .cloned()
        .context("the access log is not a list")
}

fn count(log: &[Value], action: &str, object: &str, user: &str) -> usize {
    log.iter()
        .filter(|e| e["action"] == action && e["object"] == object && e["staff_username"] == user)
        .count()
}

// ---------------------------------------------------------------------------

async fn archive_of_a_closed_session(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env, 1).await?;
    let id = s.demo.session.clone();
    let seg = s.login("segretario").await?;
    let clerk = s.login("segreteria").await?;
    let admin = s.login("admin").await?;

    // Not closed yet: not in the archive, no record page.
    let hits = s.get_ok("/api/archive/sessions", &clerk).await?;
    ensure!(hits.as_array().is_some_and(Vec::is_empty), "{hits}");
    let reply = s
        .api
        .get(&format!("/api/archive/sessions/{id}"), Some(&clerk))
        .await?;
    expect_error(
        &reply,
        409,
        "session_not_closed",
        "record of an open session",
    )?;

    // The session: four members in the chamber, item 1 with a vote by name, item 2.
    for p in ["sindaco", "assessore-1", "assessore-2", "assessore-3"] {
        s.act(&id, &seg, json!({"kind": "check_in", "participant": p}))
            .await?;
    }
    s.act(&id, &seg, json!({"kind": "open_session"})).await?;
    s.act(&id, &seg, json!({"kind": "open_item", "item": 1}))
        .await?;
    s.act(
        &id,
        &seg,
        json!({"kind": "check_in", "participant": "assessore-4"}),
    )
    .await?;
    s.act(
        &id,
        &seg,
        json!({"kind": "open_vote", "vote": "deliberation"}),
    )
    .await?;
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-1", "favorevole"),
        ("assessore-2", "contrario"),
        ("assessore-3", "astenuto"),
    ] {
        s.act(
            &id,
            &seg,
            json!({"kind": "cast", "ballot": ballot, "participant": who}),
        )
        .await?;
    }
    s.act(&id, &seg, json!({"kind": "close_vote"})).await?;
    s.act(&id, &seg, json!({"kind": "open_item", "item": 2}))
        .await?;
    s.act(&id, &seg, json!({"kind": "close_session"})).await?;

    // The recording folder as the preservation worker leaves it (the worker is off).
    let folder = env.data_dir.join("recordings").join(&id);
    std::fs::create_dir_all(&folder)?;
    let video = known_bytes(300_000);
    std::fs::write(folder.join("preservation.mp4"), &video)?;
    std::fs::write(
        folder.join("chapters.json"),
        serde_json::to_vec(&json!({"version": 1, "duration_ms": 60_000, "chapters": [
            {"id": "c1", "kind": "agenda_item", "key": "item-1", "title": "Punto 1", "start_ms": 0, "end_ms": 30_000},
            {"id": "c2", "kind": "vote", "key": "vote-1", "title": "Votazione sul punto 1", "start_ms": 20_000, "end_ms": 25_000}
        ]}))?,
    )?;
    // A working master of our own besides whatever the recorder wrote.
    std::fs::write(folder.join("p9-microphone.webm"), known_bytes(5_000))?;
    std::fs::write(folder.join("p9-microphone.json"), b"{}")?;

    // --- search ---------------------------------------------------------------
    let search = |q: &str| format!("/api/archive/sessions?{q}");
    let hits = s.get_ok(&search("q=MANUTENZIONE%20scuole"), &clerk).await?;
    ensure!(hits.as_array().map(Vec::len) == Some(1), "{hits}");
    ensure!(hits[0]["session"]["id"] == id.as_str(), "{hits}");
    ensure!(
        hits[0]["matched_items"]
            .as_array()
            .is_some_and(|m| m.len() == 1 && m[0]["number"] == 2),
        "the item that matched: {hits}"
    );
    // Accents do not matter: "protezione civile" is item 3 ("Contributo all'associazione…").
    let hits = s
        .get_ok(&search("q=associazione%20protezione"), &clerk)
        .await?;
    ensure!(hits.as_array().map(Vec::len) == Some(1), "{hits}");
    let none = s.get_ok(&search("q=inesistente"), &clerk).await?;
    ensure!(none.as_array().is_some_and(Vec::is_empty), "{none}");
    let sindaco_name = seduta::demo::members()
        .iter()
        .find(|m| m.sub == "sindaco")
        .map(|m| m.name.to_owned())
        .context("no sindaco in the demo")?;
    let surname = sindaco_name
        .split_whitespace()
        .last()
        .context("a name")?
        .to_lowercase();
    let hits = s
        .get_ok(&search(&format!("participant={surname}")), &clerk)
        .await?;
    ensure!(
        hits.as_array().map(Vec::len) == Some(1)
            && hits[0]["matched_participants"][0] == sindaco_name.as_str(),
        "by participant {surname}: {hits}"
    );
    let hits = s
        .get_ok(&search("participant=nessuno%20cosi"), &clerk)
        .await?;
    ensure!(hits.as_array().is_some_and(Vec::is_empty), "{hits}");
    let hits = s
        .get_ok(&search("from=2000-01-01&to=2000-12-31"), &clerk)
        .await?;
    ensure!(hits.as_array().is_some_and(Vec::is_empty), "{hits}");
    let hits = s
        .get_ok(&search("from=2000-01-01&organ=giunta-demo"), &clerk)
        .await?;
    ensure!(hits.as_array().map(Vec::len) == Some(1), "{hits}");
    let hits = s.get_ok(&search("organ=altro"), &clerk).await?;
    ensure!(hits.as_array().is_some_and(Vec::is_empty), "{hits}");
    let reply = s.api.get(&search("from=12/03/2026"), Some(&clerk)).await?;
    expect_error(&reply, 400, "invalid_date", "a date that is not YYYY-MM-DD")?;

    // --- the record page --------------------------------------------------------
    let rec = s
        .get_ok(&format!("/api/archive/sessions/{id}"), &clerk)
        .await?;
    let calls = rec["roll_calls"].as_array().context("roll calls")?;
    ensure!(calls.len() == 3, "opening, item 1, item 2: {rec}");
    let cell = |call: usize, who: &str| -> Value {
        calls[call]["attendance"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["participant"] == who).cloned())
            .unwrap_or(Value::Null)
    };
    ensure!(
        cell(0, "sindaco")["state"] == "present" && cell(0, "sindaco")["mode"] == "in_person",
        "{}",
        cell(0, "sindaco")
    );
    ensure!(
        cell(0, "assessore-4")["state"] == "absent" && cell(2, "assessore-4")["state"] == "present",
        "assessore-4 came during item 1"
    );
    let vote = &rec["votes"][0];
    let member_name = |sub: &str| {
        seduta::demo::members()
            .iter()
            .find(|m| m.sub == sub)
            .map(|m| m.name.to_owned())
            .unwrap_or_default()
    };
    ensure!(
        vote["contrari"] == json!([member_name("assessore-2")])
            && vote["astenuti"] == json!([member_name("assessore-3")])
            && vote["favorevoli"].as_array().map(Vec::len) == Some(2)
            && vote["non_votanti"] == json!([member_name("assessore-4")]),
        "names per option: {vote}"
    );
    ensure!(
        rec["recording"]["player"] == "preservation.mp4",
        "{}",
        rec["recording"]
    );
    ensure!(
        rec["recording"]["chapters"]["chapters"][1]["title"] == "Votazione sul punto 1",
        "{}",
        rec["recording"]
    );
    // No microphone track of a participant here: no speaker spans, said so.
    let speakers = s
        .get_ok(&format!("/api/archive/sessions/{id}/speakers"), &clerk)
        .await?;
    ensure!(
        speakers["available"] == false && speakers["reason"].is_string(),
        "{speakers}"
    );
    // The segretario may view too; the administrator may not.
    s.get_ok(&format!("/api/archive/sessions/{id}"), &seg)
        .await?;
    let reply = s
        .api
        .get(&format!("/api/archive/sessions/{id}"), Some(&admin))
        .await?;
    expect_error(&reply, 403, "forbidden", "the administrator's view")?;

    // --- media with ranges --------------------------------------------------------
    let mint = |file: &str, purpose: &str| {
        let body = json!({"file": file, "purpose": purpose});
        let path = format!("/api/sessions/{id}/media-token");
        let api = s.api;
        let token = clerk.clone();
        async move { api.post(&path, Some(&token), &body).await }
    };
    let reply = mint("preservation.mp4", "play").await?;
    ensure!(reply.status == 200, "mint: {reply}");
    let url = reply.json()["url"].as_str().context("url")?.to_owned();
    let size = video.len();
    let whole = raw_get(s.addr(), &url, &[]).await?;
    ensure!(
        whole.status == 200
            && whole.body == video
            && whole.header("accept-ranges") == Some("bytes")
            && whole.header("content-type") == Some("video/mp4")
            && whole.header("content-length") == Some(&size.to_string()),
        "whole file: {} {:?}",
        whole.status,
        whole.headers
    );
    for (range, from, to) in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-10", size - 10, size - 1),
        ("bytes=299990-400000", 299_990, size - 1),
        ("bytes=123456-123456", 123_456, 123_456),
    ] {
        let part = raw_get(s.addr(), &url, &[("Range", range)]).await?;
        ensure!(
            part.status == 206
                && part.body == video[from..=to]
                && part.header("content-range") == Some(&format!("bytes {from}-{to}/{size}"))
                && part.header("content-length") == Some(&(to - from + 1).to_string()),
            "{range}: {} {:?} ({} bytes)",
            part.status,
            part.headers,
            part.body.len()
        );
    }
    for range in [
        format!("bytes={size}-"),
        "bytes=5-1".to_owned(),
        "bytes=0-1,5-6".to_owned(),
        "bytes=x".to_owned(),
    ] {
        let bad = raw_get(s.addr(), &url, &[("Range", &range)]).await?;
        expect_raw_error(&bad, 416, "range_not_satisfiable", &range)?;
        ensure!(
            bad.header("content-range") == Some(&format!("bytes */{size}")),
            "{range}: {:?}",
            bad.headers
        );
    }
    // The token is for one file.
    let other = raw_get(
        s.addr(),
        &url.replace("preservation.mp4", "chapters.json"),
        &[],
    )
    .await?;
    expect_raw_error(
        &other,
        403,
        "media_token_mismatch",
        "a token for another file",
    )?;
    let forged = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4?token=x.y.z"),
        &[],
    )
    .await?;
    expect_raw_error(&forged, 401, "token_invalid", "a forged token")?;
    let bare = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4"),
        &[],
    )
    .await?;
    expect_raw_error(&bare, 401, "token_missing", "no token")?;
    // A staff token cannot be a media token, nor the reverse.
    let staff_as_media = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4?token={clerk}"),
        &[],
    )
    .await?;
    expect_raw_error(
        &staff_as_media,
        401,
        "token_invalid",
        "a staff token in the URL",
    )?;

    // Traversal and unknown names, with the staff token.
    let bearer = format!("Bearer {clerk}");
    for (path, status, code) in [
        ("..%2F..%2Fseduta.db", 400, "invalid_file_name"),
        ("%2E%2E%2F%2E%2E%2Fseduta.db", 400, "invalid_file_name"),
        ("seduta.db", 400, "invalid_file_name"),
        (".preservation.job.json", 400, "invalid_file_name"),
        ("..", 400, "invalid_file_name"),
        ("nothing.mp4", 404, "not_found"),
    ] {
        let r = raw_get(
            s.addr(),
            &format!("/api/sessions/{id}/media/{path}"),
            &[("Authorization", &bearer)],
        )
        .await?;
        expect_raw_error(&r, status, code, path)?;
    }
    let r = raw_get(
        s.addr(),
        &format!("/api/sessions/..%2F{id}/media/preservation.mp4"),
        &[("Authorization", &bearer)],
    )
    .await?;
    expect_raw_error(&r, 404, "not_found", "a session id with a path")?;
    // With the staff token itself: served, and logged on every request.
    let direct = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4"),
        &[("Authorization", &bearer), ("Range", "bytes=10-19")],
    )
    .await?;
    ensure!(
        direct.status == 206 && direct.body == video[10..20],
        "{}",
        direct.status
    );
    // Roles: the administrator may not read media.
    let r = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4"),
        &[("Authorization", &format!("Bearer {admin}"))],
    )
    .await?;
    expect_raw_error(&r, 403, "forbidden", "the administrator's media request")?;
    let reply = s
        .api
        .post(
            &format!("/api/sessions/{id}/media-token"),
            Some(&admin),
            &json!({"file": "preservation.mp4", "purpose": "play"}),
        )
        .await?;
    expect_error(&reply, 403, "forbidden", "the administrator's media URL")?;
    let reply = mint("../seduta.db", "download").await?;
    expect_error(&reply, 400, "invalid_file_name", "a media URL for a path")?;

    // Another municipality: its staff find nothing here.
    let store = s.server.store();
    store
        .insert_ente(&Ente {
            id: "altro-comune".into(),
            name: "Comune di Altrove".into(),
            codice_istat: None,
        })
        .await?;
    store
        .insert_organ(&Organ {
            id: "giunta-altrove".into(),
            ente_id: "altro-comune".into(),
            name: "Giunta comunale".into(),
            seats: 5,
            settings: OrganSettings::default(),
        })
        .await?;
    let foreign_password = "altrove-password-123";
    store
        .insert_staff(&StaffAccount {
            id: "staff-altrove".into(),
            ente_id: "altro-comune".into(),
            username: "segreteria-altrove".into(),
            display_name: "Segreteria di Altrove".into(),
            role: StaffRole::Clerk,
            password_hash: hash_password(foreign_password)?,
            password_changed_at_ms: 0,
            disabled: false,
        })
        .await?;
    let foreign = s.login_with("segreteria-altrove", foreign_password).await?;
    let hits = s.get_ok("/api/archive/sessions", &foreign).await?;
    ensure!(hits.as_array().is_some_and(Vec::is_empty), "{hits}");
    let reply = s
        .api
        .get(&format!("/api/archive/sessions/{id}"), Some(&foreign))
        .await?;
    expect_error(&reply, 404, "not_found", "another municipality's record")?;
    let r = raw_get(
        s.addr(),
        &format!("/api/sessions/{id}/media/preservation.mp4"),
        &[("Authorization", &format!("Bearer {foreign}"))],
    )
    .await?;
    expect_raw_error(&r, 404, "not_found", "another municipality's media")?;
    let reply = s
        .api
        .post(
            &format!("/api/sessions/{id}/media-token"),
            Some(&foreign),
            &json!({"file": "preservation.mp4", "purpose": "play"}),
        )
        .await?;
    expect_error(&reply, 404, "not_found", "another municipality's media URL")?;

    // A download URL: attachment, logged once.
    let reply = mint("chapters.json", "download").await?;
    ensure!(reply.status == 200, "{reply}");
    let durl = reply.json()["url"].as_str().context("url")?.to_owned();
    let file = raw_get(s.addr(), &durl, &[]).await?;
    ensure!(
        file.status == 200
            && file
                .header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment")),
        "{:?}",
        file.headers
    );

    // --- the access log -----------------------------------------------------------
    let reply = s
        .api
        .get(&format!("/api/access-log?session={id}"), Some(&clerk))
        .await?;
    expect_error(&reply, 403, "forbidden", "the clerk reading the access log")?;
    let reply = s
        .api
        .get(&format!("/api/access-log?session={id}"), Some(&foreign))
        .await?;
    expect_error(
        &reply,
        403,
        "forbidden",
        "another clerk reading the access log",
    )?;
    let log = access_log(&s, &seg, &id).await?;
    ensure!(
        count(&log, "view", "record", "segreteria") == 1
            && count(&log, "view", "record", "segretario") == 1,
        "one view each: {log:#?}"
    );
    ensure!(
        count(&log, "play", "preservation.mp4", "segreteria") == 1,
        "one play for a playback of {} range requests: {log:#?}",
        11
    );
    ensure!(
        count(&log, "download", "chapters.json", "segreteria") == 1,
        "{log:#?}"
    );
    ensure!(
        log.iter().any(|e| e["action"] == "download"
            && e["object"] == "preservation.mp4"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("bytes=10-19"))),
        "the staff-token request is logged with its range: {log:#?}"
    );
    ensure!(
        !log.iter().any(|e| e["staff_username"] == "admin"),
        "refused requests are not accesses: {log:#?}"
    );
    let admin_log = access_log(&s, &admin, &id).await?;
    ensure!(
        admin_log.len() == log.len(),
        "the administrator reads it too"
    );
    let all = s.get_ok("/api/access-log", &seg).await?;
    ensure!(
        all.as_array().map(Vec::len) == Some(log.len()),
        "every entry is of this session"
    );

    // A logout stops the clerk's media URLs.
    let reply = s
        .api
        .post("/api/auth/logout", Some(&clerk), &json!({}))
        .await?;
    ensure!(reply.status == 204, "logout: {reply}");
    let after = raw_get(s.addr(), &url, &[("Range", "bytes=0-9")]).await?;
    expect_raw_error(&after, 401, "token_revoked", "a media URL after the logout")?;

    // --- retention ------------------------------------------------------------------
    let status = s
        .get_ok(&format!("/api/sessions/{id}/retention"), &seg)
        .await?;
    ensure!(
        status["refusal"] == "package_not_delivered" && status["deletable"] == false,
        "{status}"
    );
    let masters: Vec<String> = status["working_masters"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    ensure!(
        masters.contains(&"p9-microphone.webm".to_owned())
            && !masters
                .iter()
                .any(|m| m == "preservation.mp4" || m.starts_with("chapters")),
        "{masters:?}"
    );
    let delete = format!("/api/sessions/{id}/retention/delete");
    let reason = json!({"reason": "Scarto dei file di lavoro dopo il versamento"});
    let clerk2 = s.login("segreteria").await?;
    let reply = s.api.post(&delete, Some(&clerk2), &reason).await?;
    expect_error(&reply, 403, "forbidden", "a clerk deleting")?;
    let reply = s
        .api
        .post(&delete, Some(&seg), &json!({"reason": "  breve "}))
        .await?;
    expect_error(&reply, 400, "reason_required", "no real reason")?;
    let reply = s.api.post(&delete, Some(&seg), &reason).await?;
    expect_error(&reply, 409, "package_not_delivered", "before the delivery")?;
    // The package delivered (as the outbox records an acknowledged delivery).
    sqlx::query(
        "INSERT INTO deliveries (id, session_id, package_version, sink, package_path, \
         package_sha256, package_size, state, attempts, next_attempt_at_ms, deadline_at_ms, \
         idempotency_key, created_at_ms, updated_at_ms, delivered_at_ms) \
         VALUES ($1, $2, 1, 'folder', 'x.zip', 'abc', 1, 'delivered', 1, 0, 0, $3, 0, 0, 1)",
    )
    .bind(format!("d-{id}"))
    .bind(&id)
    .bind(format!("k-{id}"))
    .execute(store.pool())
    .await?;
    let reply = s.api.post(&delete, Some(&seg), &reason).await?;
    expect_error(&reply, 409, "retention_period_running", "within the period")?;
    ensure!(
        folder.join("p9-microphone.webm").exists(),
        "nothing deleted by a refusal"
    );
    ensure!(
        !access_log(&s, &seg, &id)
            .await?
            .iter()
            .any(|e| e["action"] == "delete"),
        "refusals are not deletions"
    );
    s.stop().await;

    // The same data with a zero retention period: the deletion goes through.
    let s = Seduta::start(&env, 0).await?;
    let seg = s.login("segretario").await?;
    let admin = s.login("admin").await?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for m in &masters {
        expected.insert(m.clone(), sha256_of(&folder.join(m))?);
    }
    let reply = s.api.post(&delete, Some(&admin), &reason).await?;
    ensure!(reply.status == 200, "deletion: {reply}");
    let report = reply.json();
    let deleted: BTreeMap<String, String> = report["deleted"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap_or_default().to_owned(),
                        f["sha256"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ensure!(deleted == expected, "deleted with their SHA-256: {report}");
    for m in &masters {
        ensure!(!folder.join(m).exists(), "{m} is still there");
    }
    for kept in ["preservation.mp4", "chapters.json"] {
        ensure!(folder.join(kept).exists(), "{kept} was deleted");
    }
    let log = access_log(&s, &seg, &id).await?;
    let entry = log
        .iter()
        .find(|e| e["action"] == "delete")
        .context("no delete entry")?;
    ensure!(entry["staff_username"] == "admin", "{entry}");
    let detail: Value = serde_json::from_str(entry["detail"].as_str().unwrap_or("{}"))?;
    ensure!(
        detail["reason"] == reason["reason"] && detail["files"] == report["deleted"],
        "the reason and the files with their SHA-256: {detail}"
    );
    // The record stays: attendance, votes, the copy.
    let votes = s.get_ok(&format!("/api/sessions/{id}/votes"), &seg).await?;
    ensure!(votes.as_array().map(Vec::len) == Some(1), "{votes}");
    let attendance = s
        .get_ok(&format!("/api/sessions/{id}/attendance"), &seg)
        .await?;
    ensure!(
        attendance.as_array().is_some_and(|a| a.len() > 5),
        "{attendance}"
    );
    let rec = s
        .get_ok(&format!("/api/archive/sessions/{id}"), &seg)
        .await?;
    ensure!(
        rec["recording"]["player"] == "preservation.mp4",
        "{}",
        rec["recording"]
    );
    let again = s.api.post(&delete, Some(&seg), &reason).await?;
    expect_error(&again, 409, "nothing_to_delete", "a second deletion")?;
    s.stop().await;
    Ok(())
}
