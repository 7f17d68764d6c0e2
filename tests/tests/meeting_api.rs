//! The meeting's control plane over the wire (REST and WebSocket) against a real
//! server with the demo Giunta, each scenario twice: on embedded SQLite and on
//! PostgreSQL (a fresh database made from `TEST_DATABASE_URL`, dropped afterwards).
//!
//! Without `TEST_DATABASE_URL` the PostgreSQL runs fail, unless
//! `SEDUTA_SKIP_POSTGRES=1` says to skip them.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use seduta::config::Config;
use seduta::demo::Demo;
use seduta::server::Server;
use seduta_signaling::attendance::{read_jsonl, verify};
use seduta_signaling::auth::{Claims, Role, TokenIssuer};
use seduta_tests::api::{Api, Reply};
use seduta_tests::pg::{Engine, Env, run_on};
use seduta_tests::process::seduta_bin;
use seduta_tests::server::SECRET;
use seduta_tests::ws::{Ending, WsClient};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Two engines: SQLite in a fresh data directory, PostgreSQL in a fresh database.

/// Runs `scenario` on `engine` in a scratch data directory and database.
async fn run<F, Fut>(engine: Engine, scenario: F) -> anyhow::Result<()>
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(engine, "seduta_api", scenario).await
}

/// One test per engine for a scenario `fn name(Env) -> anyhow::Result<()>`.
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

on_both_engines!(
    login_and_accounts,
    sessions,
    meeting_over_rest,
    bad_input_changes_nothing,
    role_action_matrix,
    lobby_over_websocket,
    restart_keeps_the_session,
);

// ---------------------------------------------------------------------------
// A server with the demo Giunta, and what the scenarios do with it.

const SEGRETARIO_ID: &str = "staff-segretario";
const MEMBERS: [&str; 7] = [
    "sindaco",
    "assessore-1",
    "assessore-2",
    "assessore-3",
    "assessore-4",
    "assessore-5",
    "assessore-6",
];

struct Seduta {
    server: Server,
    api: Api,
    demo: Demo,
}

/// The log and the state, to show that a refused input changed nothing.
#[derive(Debug, PartialEq)]
struct Record {
    log: Vec<Value>,
    state: Value,
}

impl Seduta {
    /// Starts a server on `env` with the demo on, and seeds the demo as `seduta
    /// serve` does.
    async fn start(env: &Env) -> anyhow::Result<Self> {
        let config = Config {
            http_bind: "127.0.0.1:0".parse()?,
            udp_bind: "127.0.0.1:0".parse()?,
            tcp_bind: None,
            data_dir: env.data_dir.clone(),
            database_url: env.database_url.clone(),
            jwt_secret: Some(SECRET.to_owned()),
            demo: true,
            // Bad input comes here in bursts of hundreds of calls from one address;
            // the per-address limits have their own test (client_limits.rs).
            per_ip_requests_per_second: 100_000,
            per_ip_request_burst: 100_000,
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

    /// Stops the server and closes its database connections.
    async fn stop(self) {
        let store = self.server.store().clone();
        self.server.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), store.close()).await;
    }

    fn session(&self) -> &str {
        &self.demo.session
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws/{}", self.server.http_addr, self.session())
    }

    fn password(&self, username: &str) -> anyhow::Result<String> {
        self.demo
            .staff
            .iter()
            .find(|s| s.username == username)
            .map(|s| s.password.clone())
            .with_context(|| format!("no demo password for {username}"))
    }

    async fn login_with(&self, username: &str, password: &str) -> anyhow::Result<Reply> {
        self.api
            .post(
                "/api/auth/login",
                None,
                &json!({"username": username, "password": password}),
            )
            .await
    }

    /// A staff token of a demo account.
    async fn login(&self, username: &str) -> anyhow::Result<String> {
        let reply = self.login_with(username, &self.password(username)?).await?;
        ensure!(reply.status == 200, "login of {username}: {reply}");
        token_of(&reply)
    }

    /// A meeting action on `session` with `token` (staff or join) as Bearer.
    async fn act_on(
        &self,
        session: &str,
        token: Option<&str>,
        action: &Value,
    ) -> anyhow::Result<Reply> {
        self.api
            .post(&format!("/api/sessions/{session}/actions"), token, action)
            .await
    }

    /// A meeting action on the demo session.
    async fn act(&self, token: &str, action: Value) -> anyhow::Result<Reply> {
        self.act_on(self.session(), Some(token), &action).await
    }

    /// A meeting action that must succeed; returns the new state.
    async fn act_ok(&self, token: &str, action: Value) -> anyhow::Result<Value> {
        let reply = self.act(token, action.clone()).await?;
        ensure!(reply.status == 200, "{action} was refused: {reply}");
        Ok(reply.json())
    }

    /// The demo session's state.
    async fn state(&self, staff: &str) -> anyhow::Result<Value> {
        let reply = self
            .api
            .get(
                &format!("/api/sessions/{}/state", self.session()),
                Some(staff),
            )
            .await?;
        ensure!(reply.status == 200, "state: {reply}");
        Ok(reply.json())
    }

    /// The demo session's attendance log (JSON export).
    async fn log(&self, staff: &str) -> anyhow::Result<Vec<Value>> {
        let reply = self
            .api
            .get(
                &format!("/api/sessions/{}/attendance", self.session()),
                Some(staff),
            )
            .await?;
        ensure!(reply.status == 200, "attendance: {reply}");
        reply
            .json()
            .as_array()
            .cloned()
            .with_context(|| format!("the log is not an array: {reply}"))
    }

    /// The demo session's attendance log as JSON Lines.
    async fn log_jsonl(&self, staff: &str) -> anyhow::Result<String> {
        let reply = self
            .api
            .get(
                &format!("/api/sessions/{}/attendance?format=jsonl", self.session()),
                Some(staff),
            )
            .await?;
        ensure!(reply.status == 200, "attendance jsonl: {reply}");
        Ok(reply.body)
    }

    /// The state (read through the session's task, so after whatever it was
    /// doing) and then the log.
    async fn record(&self, staff: &str) -> anyhow::Result<Record> {
        let state = self.state(staff).await?;
        Ok(Record {
            log: self.log(staff).await?,
            state,
        })
    }

    /// Mints an invitation for `participant` of `session`: `(token, jti)`.
    async fn invite_on(
        &self,
        session: &str,
        staff: &str,
        participant: &str,
    ) -> anyhow::Result<(String, String)> {
        let reply = self
            .api
            .post(
                &format!("/api/sessions/{session}/invitations"),
                Some(staff),
                &json!({"participant_id": participant}),
            )
            .await?;
        ensure!(reply.status == 201, "invitation for {participant}: {reply}");
        let link = &reply.json()[0];
        let token = link["token"].as_str().context("no token")?.to_owned();
        let jti = link["jti"].as_str().context("no jti")?.to_owned();
        Ok((token, jti))
    }

    /// A join token of `participant` of the demo session.
    async fn invite(&self, staff: &str, participant: &str) -> anyhow::Result<String> {
        Ok(self.invite_on(self.session(), staff, participant).await?.0)
    }

    /// Adds a guest to the demo session; returns its participant id.
    async fn add_guest(&self, staff: &str, name: &str) -> anyhow::Result<String> {
        let reply = self
            .api
            .post(
                &format!("/api/sessions/{}/guests", self.session()),
                Some(staff),
                &json!({"name": name}),
            )
            .await?;
        ensure!(reply.status == 201, "guest: {reply}");
        reply.json()["id"]
            .as_str()
            .map(str::to_owned)
            .context("no guest id")
    }

    /// Sends `action` with `token` and checks it is refused with `status` and
    /// `code`, leaving the log and the state as they were.
    async fn refused(
        &self,
        staff: &str,
        token: Option<&str>,
        action: Value,
        status: u16,
        code: &str,
    ) -> anyhow::Result<()> {
        let before = self.record(staff).await?;
        let reply = self.act_on(self.session(), token, &action).await?;
        expect_error(&reply, status, code, &action.to_string())?;
        let after = self.record(staff).await?;
        unchanged(&before, &after, &action.to_string())
    }

    /// Checks in `who` (the segretario's roll call in the chamber).
    async fn check_in(&self, staff: &str, who: &[&str]) -> anyhow::Result<Value> {
        let mut state = Value::Null;
        for p in who {
            state = self
                .act_ok(staff, json!({"kind": "check_in", "participant": p}))
                .await?;
        }
        Ok(state)
    }

    /// Joins the demo session over the WebSocket; returns once `joined` came.
    async fn ws_join(&self, token: &str) -> anyhow::Result<WsClient> {
        let mut c = WsClient::connect(&self.ws_url()).await?;
        c.json(json!({"type": "join", "token": token})).await?;
        c.next_of("joined").await?;
        Ok(c)
    }
}

fn token_of(reply: &Reply) -> anyhow::Result<String> {
    reply.json()["token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token in {reply}"))
}

/// The reply is the API's error document with this status and code.
fn expect_error(reply: &Reply, status: u16, code: &str, what: &str) -> anyhow::Result<()> {
    ensure!(
        reply.status == status && reply.code().as_deref() == Some(code) && reply.is_json_error(),
        "{what}: expected {status} `{code}`, got {reply}"
    );
    Ok(())
}

fn unchanged(before: &Record, after: &Record, what: &str) -> anyhow::Result<()> {
    ensure!(
        before.log.len() == after.log.len(),
        "{what} was refused, yet the log grew by {:?}",
        &after.log[before.log.len().min(after.log.len())..]
    );
    ensure!(
        before.log == after.log,
        "{what} was refused, yet the log changed"
    );
    ensure!(
        before.state == after.state,
        "{what} was refused, yet the state changed:\nbefore {}\nafter  {}",
        before.state,
        after.state
    );
    Ok(())
}

/// One person of a MeetingView.
fn person<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["people"]
        .as_array()
        .and_then(|people| people.iter().find(|p| p["id"] == id))
        .unwrap_or(&Value::Null)
}

fn kinds(log: &[Value]) -> Vec<&str> {
    log.iter().filter_map(|e| e["kind"].as_str()).collect()
}

/// Checks that could fail independently of each other: every one is tried, and
/// the scenario fails at the end listing all that did.
#[derive(Debug, Default)]
struct Findings(Vec<String>);

impl Findings {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.0.push(what.into());
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        bail!(
            "{} check(s) failed:\n- {}",
            self.0.len(),
            self.0.join("\n- ")
        )
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sleeps into the next wall-clock second (tokens carry whole seconds).
async fn next_second() {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(u64::from(1000 - ms) + 30)).await;
}

/// Reads `c` until a message satisfies `pred`, for at most `within`.
async fn wait_for(
    c: &mut WsClient,
    within: Duration,
    what: &str,
    mut pred: impl FnMut(&Value) -> bool,
) -> anyhow::Result<Value> {
    tokio::time::timeout(within, async {
        loop {
            let v = c.next().await?;
            if pred(&v) {
                return anyhow::Ok(v);
            }
        }
    })
    .await
    .with_context(|| format!("waiting for {what}"))?
    .with_context(|| format!("waiting for {what}"))
}

// ---------------------------------------------------------------------------
// 1. Login and accounts.

async fn login_and_accounts(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let api = s.api;
    let mut findings = Findings::default();

    expect_error(
        &api.get("/api/auth/me", None).await?,
        401,
        "token_missing",
        "no token",
    )?;
    expect_error(
        &api.get("/api/sessions", None).await?,
        401,
        "token_missing",
        "sessions without a token",
    )?;

    let first = s.login("segretario").await?;
    let me = api.get("/api/auth/me", Some(&first)).await?;
    ensure!(me.status == 200, "me: {me}");
    let me = me.json();
    ensure!(
        me["id"] == SEGRETARIO_ID
            && me["username"] == "segretario"
            && me["role"] == "segretario"
            && me["ente_id"] == "comune-demo",
        "me: {me}"
    );

    let wrong = s.login_with("segretario", "not-the-password").await?;
    expect_error(&wrong, 401, "invalid_credentials", "wrong password")?;
    let unknown = s.login_with("nessuno", "not-the-password").await?;
    expect_error(&unknown, 401, "invalid_credentials", "unknown account")?;

    // A join token is no staff token, and a garbage token is none either.
    let join = s.invite(&first, "assessore-1").await?;
    let as_staff = api.get("/api/auth/me", Some(&join)).await?;
    expect_error(
        &as_staff,
        401,
        "token_invalid",
        "a join token as a staff token",
    )?;
    let as_staff = api.get("/api/sessions", Some(&join)).await?;
    expect_error(
        &as_staff,
        401,
        "token_invalid",
        "a join token listing sessions",
    )?;
    let garbage = api.get("/api/auth/me", Some("not-a-token")).await?;
    expect_error(&garbage, 401, "token_invalid", "a garbage token")?;

    // Logout stops that token at once, and only that one.
    let second = s.login("segretario").await?;
    let out = api
        .send("POST", "/api/auth/logout", Some(&second), None)
        .await?;
    ensure!(out.status == 204, "logout: {out}");
    let after = api.get("/api/auth/me", Some(&second)).await?;
    expect_error(&after, 401, "token_revoked", "a logged-out token")?;
    let still = api.get("/api/auth/me", Some(&first)).await?;
    ensure!(still.status == 200, "another token after a logout: {still}");

    // Password change: weak or wrong refused, then every earlier token stops.
    let old_password = s.password("segretario")?;
    let new_password = "una-password-nuova-2026";
    let weak = api
        .post(
            "/api/auth/password",
            Some(&first),
            &json!({"current_password": old_password, "new_password": "corta"}),
        )
        .await?;
    expect_error(&weak, 400, "weak_password", "a weak new password")?;
    let bad_current = api
        .post(
            "/api/auth/password",
            Some(&first),
            &json!({"current_password": "sbagliata-123", "new_password": new_password}),
        )
        .await?;
    expect_error(
        &bad_current,
        401,
        "invalid_credentials",
        "a wrong current password",
    )?;
    ensure!(
        s.login_with("segretario", new_password).await?.status == 401,
        "the refused changes changed nothing"
    );

    // `first` is from an earlier second than the change; `recent` from the same
    // second (tokens carry whole seconds): both were issued before the change.
    next_second().await;
    let recent = s.login("segretario").await?;
    let changed = api
        .post(
            "/api/auth/password",
            Some(&recent),
            &json!({"current_password": old_password, "new_password": new_password}),
        )
        .await?;
    ensure!(changed.status == 204, "password change: {changed}");
    let refused_first = api.get("/api/auth/me", Some(&first)).await?;
    expect_error(
        &refused_first,
        401,
        "token_revoked",
        "a token issued before the password change",
    )?;
    let refused_recent = api.get("/api/auth/me", Some(&recent)).await?;
    findings.check(
        refused_recent.status == 401 && refused_recent.code().as_deref() == Some("token_revoked"),
        format!(
            "a token issued in the same second as, but before, the password change must stop \
             working (401 token_revoked); got {refused_recent}"
        ),
    );
    let old = s.login_with("segretario", &old_password).await?;
    expect_error(&old, 401, "invalid_credentials", "the old password")?;
    next_second().await;
    let new = s.login_with("segretario", new_password).await?;
    ensure!(new.status == 200, "the new password: {new}");
    let new_token = token_of(&new)?;
    let me = api.get("/api/auth/me", Some(&new_token)).await?;
    ensure!(me.status == 200, "me with the new password's token: {me}");

    // Five failures lock the account name, even for the right password; other
    // accounts are not affected.
    for i in 1..=5 {
        let wrong = s
            .login_with("admin", &format!("wrong-password-{i}"))
            .await?;
        expect_error(&wrong, 401, "invalid_credentials", &format!("failure {i}"))?;
    }
    let locked = s.login_with("admin", &s.password("admin")?).await?;
    expect_error(
        &locked,
        429,
        "too_many_attempts",
        "the right password after 5 failures",
    )?;
    s.login("segreteria")
        .await
        .context("another account after admin's lock")?;

    s.stop().await;
    findings.finish()
}

// ---------------------------------------------------------------------------
// 2. Sessions, agenda and invitations.

async fn sessions(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let api = s.api;
    let mut findings = Findings::default();
    let seg = s.login("segretario").await?;
    let clerk = s.login("segreteria").await?;

    let new_session = |patch: Value| {
        let mut body = json!({
            "organ_id": "giunta-demo",
            "title": "Giunta comunale — seduta del 12 marzo 2026",
            "scheduled_at": "2026-03-12T09:00:00+01:00",
            "seat": "Sala della Giunta, Palazzo comunale",
            "convocation": "prima",
            "agenda": [
                {"number": 1, "subject": "Variazione di bilancio"},
                {"number": 2, "subject": "Contributo alla protezione civile"},
            ],
        });
        if let (Some(body), Some(patch)) = (body.as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                if v.is_null() {
                    body.remove(k);
                } else {
                    body.insert(k.clone(), v.clone());
                }
            }
        }
        body
    };

    let created = api
        .post("/api/sessions", Some(&seg), &new_session(json!({})))
        .await?;
    ensure!(created.status == 201, "create: {created}");
    let detail = created.json();
    let id = detail["session"]["id"]
        .as_str()
        .context("no id")?
        .to_owned();
    ensure!(detail["session"]["status"] == "convened", "{detail}");
    ensure!(
        detail["agenda"].as_array().map(Vec::len) == Some(2),
        "agenda: {detail}"
    );
    let mut people: Vec<(String, String)> = detail["participants"]
        .as_array()
        .context("participants")?
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_owned(),
                p["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    people.sort();
    let mut expected: Vec<(String, String)> = MEMBERS
        .iter()
        .map(|m| {
            let role = if *m == "sindaco" {
                "presiding"
            } else {
                "member"
            };
            (m.to_string(), role.to_owned())
        })
        .chain([(SEGRETARIO_ID.to_owned(), "segretario".to_owned())])
        .collect();
    expected.sort();
    ensure!(
        people == expected,
        "participants are the 7 members in office and the segretario: {people:?}"
    );

    // Bad input: a stable code and nothing convened.
    let count = |reply: Reply| reply.json().as_array().map_or(0, Vec::len);
    let sessions_before = count(api.get("/api/sessions", Some(&seg)).await?);
    ensure!(sessions_before == 2, "the demo session and the new one");
    for (patch, code) in [
        (json!({"scheduled_at": "12/03/2026 alle 9"}), "invalid_date"),
        (
            json!({"scheduled_at": "2026-02-30T09:00:00Z"}),
            "invalid_date",
        ),
        (
            json!({"agenda": [{"number": 1, "subject": "a"}, {"number": 1, "subject": "b"}]}),
            "invalid_agenda",
        ),
        (
            json!({"agenda": [{"number": 0, "subject": "a"}]}),
            "invalid_agenda",
        ),
        (json!({"title": "   "}), "invalid_request"),
        (json!({"seat": ""}), "invalid_request"),
        (json!({"convocation": "terza"}), "invalid_request"),
    ] {
        let reply = api
            .post("/api/sessions", Some(&seg), &new_session(patch.clone()))
            .await?;
        expect_error(&reply, 400, code, &format!("a session with {patch}"))?;
    }
    for patch in [json!({"title": null}), json!({"surprise": true})] {
        let reply = api
            .post("/api/sessions", Some(&seg), &new_session(patch.clone()))
            .await?;
        findings.check(
            (reply.status == 400 || reply.status == 422) && reply.is_json_error(),
            format!(
                "a session with {patch} (missing or unknown field) must be refused as bad input \
                 (400/422) with the API's JSON error body {{code, message}}; got {reply}"
            ),
        );
    }
    let unknown_organ = api
        .post(
            "/api/sessions",
            Some(&seg),
            &new_session(json!({"organ_id": "giunta-altrove"})),
        )
        .await?;
    expect_error(&unknown_organ, 404, "not_found", "an unknown organ")?;
    let sessions_after = count(api.get("/api/sessions", Some(&seg)).await?);
    ensure!(
        sessions_after == sessions_before,
        "a refused session was convened"
    );

    // The clerks' office reads but does not convene or edit.
    let listed = api.get("/api/sessions", Some(&clerk)).await?;
    ensure!(listed.status == 200, "clerk list: {listed}");
    let listed_json = listed.json();
    let ids: Vec<&str> = listed_json
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        ids.contains(&id.as_str()) && ids.contains(&s.session()),
        "clerk sees both sessions: {ids:?}"
    );
    ensure!(ids.len() == 2, "only the two sessions: {ids:?}");
    let detail_clerk = api
        .get(&format!("/api/sessions/{id}"), Some(&clerk))
        .await?;
    ensure!(detail_clerk.status == 200, "clerk detail: {detail_clerk}");
    expect_error(
        &api.post("/api/sessions", Some(&clerk), &new_session(json!({})))
            .await?,
        403,
        "forbidden",
        "a clerk convening",
    )?;
    expect_error(
        &api.put(
            &format!("/api/sessions/{id}/agenda"),
            Some(&clerk),
            &json!([]),
        )
        .await?,
        403,
        "forbidden",
        "a clerk editing the agenda",
    )?;
    let admin = s.login("admin").await?;
    expect_error(
        &api.post("/api/sessions", Some(&admin), &new_session(json!({})))
            .await?,
        403,
        "forbidden",
        "an administrator convening",
    )?;

    // The agenda may be replaced while convened.
    let agenda3 = json!([
        {"number": 1, "subject": "Variazione di bilancio"},
        {"number": 2, "subject": "Contributo alla protezione civile"},
        {"number": 3, "subject": "Varie ed eventuali"},
    ]);
    let replaced = api
        .put(&format!("/api/sessions/{id}/agenda"), Some(&seg), &agenda3)
        .await?;
    ensure!(replaced.status == 200, "agenda: {replaced}");
    ensure!(replaced.json()["agenda"] == agenda3, "agenda: {replaced}");
    let bad_agenda = api
        .put(
            &format!("/api/sessions/{id}/agenda"),
            Some(&seg),
            &json!([{"number": 2, "subject": "x"}, {"number": 2, "subject": "y"}]),
        )
        .await?;
    expect_error(&bad_agenda, 400, "invalid_agenda", "a repeated item number")?;

    // Invitations: everyone but the segretario, one person, listed, revoked.
    let minted = api
        .post(
            &format!("/api/sessions/{id}/invitations"),
            Some(&seg),
            &json!({}),
        )
        .await?;
    ensure!(minted.status == 201, "invitations: {minted}");
    let links = minted.json().as_array().cloned().unwrap_or_default();
    let mut invited: Vec<&str> = links
        .iter()
        .filter_map(|l| l["participant_id"].as_str())
        .collect();
    invited.sort();
    let mut members = MEMBERS.to_vec();
    members.sort();
    ensure!(invited == members, "links for the 7 members: {invited:?}");
    for l in &links {
        let (Some(link), Some(token)) = (l["link"].as_str(), l["token"].as_str()) else {
            bail!("a link without token: {l}");
        };
        ensure!(link.ends_with(&format!("/#token={token}")), "{link}");
    }
    let one = api
        .post(
            &format!("/api/sessions/{id}/invitations"),
            Some(&seg),
            &json!({"participant_id": "assessore-1", "ttl_hours": 2}),
        )
        .await?;
    ensure!(one.status == 201, "one invitation: {one}");
    ensure!(one.json().as_array().map(Vec::len) == Some(1), "{one}");
    expect_error(
        &api.post(
            &format!("/api/sessions/{id}/invitations"),
            Some(&seg),
            &json!({"participant_id": "nessuno"}),
        )
        .await?,
        404,
        "not_found",
        "an invitation for nobody",
    )?;
    expect_error(
        &api.post(
            &format!("/api/sessions/{id}/invitations"),
            Some(&seg),
            &json!({"ttl_hours": 0}),
        )
        .await?,
        400,
        "invalid_request",
        "an invitation valid for 0 hours",
    )?;
    expect_error(
        &api.post(
            &format!("/api/sessions/{id}/invitations"),
            Some(&clerk),
            &json!({}),
        )
        .await?,
        403,
        "forbidden",
        "a clerk minting",
    )?;
    let list = api
        .get(&format!("/api/sessions/{id}/invitations"), Some(&seg))
        .await?;
    ensure!(list.status == 200, "list: {list}");
    let list = list.json().as_array().cloned().unwrap_or_default();
    ensure!(list.len() == 8, "7 + 1 invitations: {}", list.len());
    ensure!(
        list.iter().all(|i| i["revoked_at_ms"].is_null()),
        "none revoked yet"
    );

    let a2 = links
        .iter()
        .find(|l| l["participant_id"] == "assessore-2")
        .context("a link for assessore-2")?;
    let (a2_jti, a2_token) = (
        a2["jti"].as_str().context("jti")?.to_owned(),
        a2["token"].as_str().context("token")?.to_owned(),
    );
    let a3_token = links
        .iter()
        .find(|l| l["participant_id"] == "assessore-3")
        .and_then(|l| l["token"].as_str())
        .context("a link for assessore-3")?
        .to_owned();
    // A live link authenticates: the refusal comes from the rules, not the token.
    let away = s
        .act_on(&id, Some(&a2_token), &json!({"kind": "away"}))
        .await?;
    expect_error(
        &away,
        409,
        "wrong_presence_state",
        "away while absent, live link",
    )?;
    expect_error(
        &api.delete(&format!("/api/invitations/{a2_jti}"), Some(&clerk))
            .await?,
        403,
        "forbidden",
        "a clerk revoking",
    )?;
    let revoked = api
        .delete(&format!("/api/invitations/{a2_jti}"), Some(&seg))
        .await?;
    ensure!(revoked.status == 200, "revoke: {revoked}");
    ensure!(
        revoked.json()["revoked_at_ms"].is_i64(),
        "revoked: {revoked}"
    );
    expect_error(
        &api.delete("/api/invitations/nessuna", Some(&seg)).await?,
        404,
        "not_found",
        "revoking an unknown invitation",
    )?;
    let list = api
        .get(&format!("/api/sessions/{id}/invitations"), Some(&seg))
        .await?;
    let list = list.json().as_array().cloned().unwrap_or_default();
    for i in &list {
        let is_revoked = !i["revoked_at_ms"].is_null();
        ensure!(
            is_revoked == (i["jti"] == a2_jti.as_str()),
            "only that one is revoked: {i}"
        );
    }
    let away = s
        .act_on(&id, Some(&a2_token), &json!({"kind": "away"}))
        .await?;
    expect_error(&away, 401, "token_revoked", "a revoked link")?;
    let away = s
        .act_on(&id, Some(&a3_token), &json!({"kind": "away"}))
        .await?;
    expect_error(
        &away,
        409,
        "wrong_presence_state",
        "another member's live link",
    )?;

    // Once open, the agenda is fixed.
    for who in ["sindaco", "assessore-1", "assessore-2", "assessore-3"] {
        let r = s
            .act_on(
                &id,
                Some(&seg),
                &json!({"kind": "check_in", "participant": who}),
            )
            .await?;
        ensure!(r.status == 200, "check in {who}: {r}");
    }
    let opened = s
        .act_on(&id, Some(&seg), &json!({"kind": "open_session"}))
        .await?;
    ensure!(
        opened.status == 200 && opened.json()["phase"] == "open",
        "open: {opened}"
    );
    let late = api
        .put(
            &format!("/api/sessions/{id}/agenda"),
            Some(&seg),
            &json!([{"number": 1, "subject": "Un altro ordine del giorno"}]),
        )
        .await?;
    ensure!(
        late.status == 409 && late.is_json_error(),
        "the agenda of an open session must be refused with 409: {late}"
    );
    let detail = api.get(&format!("/api/sessions/{id}"), Some(&seg)).await?;
    ensure!(detail.json()["agenda"] == agenda3, "agenda kept: {detail}");
    ensure!(
        detail.json()["session"]["status"] == "open",
        "stored status: {detail}"
    );

    s.stop().await;
    findings.finish()
}

// ---------------------------------------------------------------------------
// 3. A whole meeting over REST, and its log verified.

async fn meeting_over_rest(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let seg = s.login("segretario").await?;

    let state = s.state(&seg).await?;
    ensure!(state["phase"] == "convened", "{state}");
    ensure!(
        state["quorum"] == json!({"in_office": 7, "counted": 0, "required": 4, "reached": false}),
        "quorum: {}",
        state["quorum"]
    );
    let state = s
        .check_in(&seg, &["sindaco", "assessore-1", "assessore-2"])
        .await?;
    ensure!(
        state["quorum"]["counted"] == 3 && state["quorum"]["reached"] == false,
        "{}",
        state["quorum"]
    );
    let state = s.check_in(&seg, &["assessore-3"]).await?;
    ensure!(
        state["quorum"] == json!({"in_office": 7, "counted": 4, "required": 4, "reached": true}),
        "quorum with 4 of 7: {}",
        state["quorum"]
    );
    ensure!(
        person(&state, "sindaco")["presence"] == json!({"state": "present", "mode": "in_person"}),
        "{state}"
    );
    let state = s.act_ok(&seg, json!({"kind": "open_session"})).await?;
    ensure!(state["phase"] == "open", "{state}");
    let state = s
        .act_ok(&seg, json!({"kind": "open_item", "item": 1}))
        .await?;
    ensure!(state["current_item"] == 1, "{state}");

    // The proposal: 3 in favour, 1 against.
    let state = s
        .act_ok(&seg, json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    let mut entitled: Vec<&str> = state["vote"]["entitled"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    entitled.sort();
    ensure!(
        entitled == ["assessore-1", "assessore-2", "assessore-3", "sindaco"],
        "presence frozen at opening: {entitled:?}"
    );
    let a1 = s.invite(&seg, "assessore-1").await?;
    let own = s
        .act_ok(&a1, json!({"kind": "cast", "ballot": "favorevole"}))
        .await?;
    ensure!(
        own["vote"]["ballots"]["assessore-1"] == "favorevole",
        "{own}"
    );
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-2", "favorevole"),
        ("assessore-3", "contrario"),
    ] {
        s.act_ok(
            &seg,
            json!({"kind": "cast", "ballot": ballot, "participant": who}),
        )
        .await?;
    }
    let state = s.act_ok(&seg, json!({"kind": "close_vote"})).await?;
    ensure!(state["vote"].is_null(), "{state}");
    let first = &state["results"][0];
    ensure!(
        first["outcome"]["approved"] == true
            && first["outcome"]["count"]
                == json!({"favorevoli": 3, "contrari": 1, "astenuti": 0, "presenti": 4}),
        "the proposal is approved 3 to 1: {first}"
    );

    // Immediate executability: 3 in favour of a membership of 7 is not enough (4 needed).
    s.act_ok(
        &seg,
        json!({"kind": "open_vote", "vote": "immediate_executability"}),
    )
    .await?;
    s.act_ok(
        &a1,
        json!({"kind": "cast", "ballot": "favorevole", "participant": "assessore-1"}),
    )
    .await?;
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-2", "favorevole"),
        ("assessore-3", "astenuto"),
    ] {
        s.act_ok(
            &seg,
            json!({"kind": "cast", "ballot": ballot, "participant": who}),
        )
        .await?;
    }
    let state = s.act_ok(&seg, json!({"kind": "close_vote"})).await?;
    let second = &state["results"][1];
    ensure!(
        second["vote"] == "immediate_executability"
            && second["outcome"]["approved"] == false
            && second["outcome"]["count"]["favorevoli"] == 3,
        "immediate executability fails with 3 of 7: {second}"
    );

    let votes = s
        .api
        .get(&format!("/api/sessions/{}/votes", s.session()), Some(&seg))
        .await?;
    ensure!(votes.status == 200, "votes: {votes}");
    let votes = votes.json();
    ensure!(
        votes.as_array().map(Vec::len) == Some(2),
        "two votes: {votes}"
    );
    ensure!(
        votes[0]["number"] == 1
            && votes[0]["item"] == 1
            && votes[0]["kind"] == "deliberation"
            && votes[0]["outcome"]["approved"] == true
            && votes[0]["ballots"]
                == json!({"sindaco": "favorevole", "assessore-1": "favorevole",
                          "assessore-2": "favorevole", "assessore-3": "contrario"}),
        "first vote: {}",
        votes[0]
    );
    ensure!(
        votes[1]["number"] == 2
            && votes[1]["kind"] == "immediate_executability"
            && votes[1]["outcome"]["approved"] == false
            && votes[1]["ballots"]["assessore-3"] == "astenuto",
        "second vote: {}",
        votes[1]
    );
    let clerk = s.login("segreteria").await?;
    let by_clerk = s
        .api
        .get(
            &format!("/api/sessions/{}/votes", s.session()),
            Some(&clerk),
        )
        .await?;
    ensure!(
        by_clerk.status == 200 && by_clerk.json() == votes,
        "the clerk reads the votes: {by_clerk}"
    );

    let state = s.act_ok(&seg, json!({"kind": "close_session"})).await?;
    ensure!(state["phase"] == "closed", "{state}");
    let after = s.state(&seg).await?;
    ensure!(after["phase"] == "closed", "closed, as stored: {after}");

    // The log: every step, recorded by whom, chained and sealed.
    let log = s.log(&seg).await?;
    let k = kinds(&log);
    for kind in [
        "checked_in",
        "session_opened",
        "item_opened",
        "vote_opened",
        "vote_cast",
        "vote_closed",
        "session_closed",
    ] {
        ensure!(k.contains(&kind), "the log has {kind}: {k:?}");
    }
    ensure!(k.last() == Some(&"sealed"), "sealed last: {k:?}");
    ensure!(
        k.iter().filter(|k| **k == "vote_cast").count() == 8,
        "8 ballots: {k:?}"
    );
    for e in &log {
        let by = &e["data"]["by"];
        match e["kind"].as_str() {
            Some(
                "checked_in" | "session_opened" | "item_opened" | "vote_opened" | "vote_closed",
            ) => {
                ensure!(by == SEGRETARIO_ID, "taken by the segretario: {e}")
            }
            Some("vote_cast") if e["data"]["recorded_by"].is_null() => {
                ensure!(*by == e["data"]["member"], "cast by the member: {e}")
            }
            Some("vote_cast") => ensure!(by == SEGRETARIO_ID, "called by the segretario: {e}"),
            _ => {}
        }
    }
    let recorded: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "vote_cast" && e["data"]["recorded_by"] == SEGRETARIO_ID)
        .collect();
    ensure!(
        recorded.len() == 6,
        "6 ballots called by the segretario: {recorded:?}"
    );
    ensure!(
        log.iter().any(|e| e["kind"] == "vote_cast"
            && e["data"]["member"] == "assessore-1"
            && e["data"]["recorded_by"].is_null()),
        "assessore-1 voted in person"
    );

    let text = s.log_jsonl(&seg).await?;
    let entries = read_jsonl(&text).map_err(|b| anyhow::anyhow!("{b}"))?;
    ensure!(entries.len() == log.len(), "jsonl and json agree");
    let verified = verify(&entries).map_err(|b| anyhow::anyhow!("the exported log: {b}"))?;
    ensure!(verified.sealed, "the closed session's log is sealed");
    ensure!(verified.entries == log.len() as u64, "{verified:?}");

    // One byte of entry N changed: verification fails at N, in-process and in `seduta verify`.
    let lines: Vec<&str> = text.lines().collect();
    let n = lines
        .iter()
        .position(|l| l.contains("\"vote_cast\"") && l.contains("\"contrario\""))
        .context("the contrario ballot in the export")?
        + 1;
    let mut bytes = text.clone().into_bytes();
    let line_start: usize = lines[..n - 1].iter().map(|l| l.len() + 1).sum();
    let at = line_start + lines[n - 1].find("contrario").context("contrario")? + 7;
    ensure!(bytes[at] == b'i', "the byte to alter");
    bytes[at] = b'x'; // "contrario" becomes "contrarxo"
    let altered = String::from_utf8(bytes)?;
    let entries = read_jsonl(&altered).map_err(|b| anyhow::anyhow!("{b}"))?;
    let broken = match verify(&entries) {
        Ok(v) => bail!("an altered log verified: {v:?}"),
        Err(b) => b,
    };
    ensure!(
        broken.line == n as u64,
        "broken at entry {n}, not {}",
        broken.line
    );

    let dir = env.data_dir.join("export");
    std::fs::create_dir_all(&dir)?;
    let intact = dir.join("intact.jsonl");
    let tampered = dir.join("altered.jsonl");
    std::fs::write(&intact, &text)?;
    std::fs::write(&tampered, &altered)?;
    let bin = seduta_bin()?;
    let ok = std::process::Command::new(&bin)
        .arg("verify")
        .arg(&intact)
        .output()?;
    ensure!(
        ok.status.success(),
        "seduta verify on the intact export: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    ensure!(
        String::from_utf8_lossy(&ok.stdout).contains(&format!("{} eventi", log.len())),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = std::process::Command::new(&bin)
        .arg("verify")
        .arg(&tampered)
        .output()?;
    let stderr = String::from_utf8_lossy(&bad.stderr);
    ensure!(
        !bad.status.success(),
        "seduta verify accepted an altered log"
    );
    ensure!(
        stderr.contains(&format!("entry {n}:")),
        "names entry {n}: {stderr}"
    );

    s.stop().await;
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. Bad input: stable codes, nothing changed.

fn join_claims(sub: &str, session: &str, exp: u64, jti: Option<&str>) -> Claims {
    let now = unix_now();
    Claims {
        sub: sub.into(),
        session: session.into(),
        role: Role::Member,
        name: sub.into(),
        exp,
        nbf: now.saturating_sub(7200),
        aud: "seduta".into(),
        jti: jti.map(str::to_owned),
    }
}

async fn bad_input_changes_nothing(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let mut findings = Findings::default();
    let seg = s.login("segretario").await?;
    let seg = seg.as_str();
    let clerk = s.login("segreteria").await?;
    let guest_id = s.add_guest(seg, "Dott.ssa Rossi, dirigente").await?;
    let guest = s.invite(seg, &guest_id).await?;
    let a1 = s.invite(seg, "assessore-1").await?;
    let (a5, _) = s.invite_on(s.session(), seg, "assessore-5").await?;

    // Tokens that do not belong.
    s.refused(
        seg,
        None,
        json!({"kind": "check_quorum"}),
        401,
        "token_missing",
    )
    .await?;
    let issuer = TokenIssuer::hs256(SECRET.as_bytes(), "seduta");
    let expired = issuer.mint_claims(&join_claims(
        "assessore-1",
        s.session(),
        unix_now() - 3600,
        None,
    ))?;
    s.refused(
        seg,
        Some(&expired),
        json!({"kind": "away"}),
        401,
        "token_expired",
    )
    .await?;
    // A live invitation of another session, used on this one.
    let other = s
        .api
        .post(
            "/api/sessions",
            Some(seg),
            &json!({"organ_id": "giunta-demo", "title": "Altra seduta",
                    "scheduled_at": "2026-04-01T09:00:00Z", "seat": "Sala della Giunta"}),
        )
        .await?;
    ensure!(other.status == 201, "another session: {other}");
    let other_id = other.json()["session"]["id"]
        .as_str()
        .context("id")?
        .to_owned();
    let (foreign, _) = s.invite_on(&other_id, seg, "assessore-1").await?;
    s.refused(
        seg,
        Some(&foreign),
        json!({"kind": "away"}),
        401,
        "token_wrong_session",
    )
    .await?;
    // A token of this session without an invitation behind it.
    let unbound = issuer.mint_claims(&join_claims(
        "assessore-1",
        s.session(),
        unix_now() + 600,
        None,
    ))?;
    s.refused(
        seg,
        Some(&unbound),
        json!({"kind": "away"}),
        401,
        "token_revoked",
    )
    .await?;

    // Not allowed for the role, or not yet possible.
    for (token, what) in [(a1.as_str(), "a member"), (clerk.as_str(), "the clerk")] {
        for action in [
            json!({"kind": "identify", "participant": "assessore-5", "camera_on": true}),
            json!({"kind": "check_in", "participant": "assessore-5"}),
            json!({"kind": "open_session"}),
        ] {
            s.refused(seg, Some(token), action.clone(), 403, "forbidden")
                .await
                .with_context(|| format!("{what}: {action}"))?;
        }
    }
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "open_session"}),
        409,
        "no_quorum",
    )
    .await?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "check_in", "participant": "nessuno"}),
        422,
        "unknown_participant",
    )
    .await?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "open_item", "item": 1}),
        409,
        "wrong_phase",
    )
    .await?;
    s.refused(
        seg,
        Some(&a1),
        json!({"kind": "cast", "ballot": "favorevole"}),
        409,
        "no_vote_open",
    )
    .await?;

    // Malformed actions: refused as bad input (400, or 422 for well-formed JSON
    // that is not an action) with the API's JSON error body, and nothing done.
    for (body, what) in [
        (r#"{"kind":"teleport"}"#, "an unknown kind"),
        (
            r#"{"kind":"check_quorum","extra":true}"#,
            "an extra field on a unit kind",
        ),
        (
            r#"{"kind":"open_item","item":1,"extra":true}"#,
            "an extra field",
        ),
        (r#"{"kind":"check_in"}"#, "a missing field"),
        (r#"{"kind":"cast","ballot":"forse"}"#, "an unknown ballot"),
        ("{not json", "broken JSON"),
        ("[]", "not an object"),
    ] {
        let before = s.record(seg).await?;
        let reply = s
            .api
            .send(
                "POST",
                &format!("/api/sessions/{}/actions", s.session()),
                Some(seg),
                Some(("application/json", body.as_bytes())),
            )
            .await?;
        findings.check(
            reply.status == 400 || reply.status == 422,
            format!("{what} ({body}) must be refused as bad input (400/422); got {reply}"),
        );
        findings.check(
            reply.is_json_error(),
            format!(
                "{what} ({body}) must be answered with the API's JSON error body \
                 {{code, message}}; got {reply}"
            ),
        );
        if let Err(e) = unchanged(&before, &s.record(seg).await?, &format!("{what} ({body})")) {
            findings.check(false, format!("{e:#}"));
        }
    }
    let before = s.record(seg).await?;
    let huge = format!(
        r#"{{"kind":"check_quorum","pad":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let reply = s
        .api
        .send(
            "POST",
            &format!("/api/sessions/{}/actions", s.session()),
            Some(seg),
            Some(("application/json", huge.as_bytes())),
        )
        .await?;
    ensure!(reply.status == 413, "a body over 256 KiB: {reply}");
    unchanged(&before, &s.record(seg).await?, "a huge body")?;

    // An open session with an open vote.
    s.check_in(
        seg,
        &["sindaco", "assessore-1", "assessore-2", "assessore-3"],
    )
    .await?;
    let mut lobby = s.ws_join(&a5).await?;
    lobby.next_of("your_presence").await?;
    // Over the WebSocket an unknown field is `invalid_message` (docs/protocol.md),
    // whatever the action's kind.
    let before = s.record(seg).await?;
    lobby
        .json(json!({"type": "action", "id": 7,
                     "action": {"kind": "check_quorum", "extra": true}}))
        .await?;
    let answer = wait_for(
        &mut lobby,
        Duration::from_secs(5),
        "an answer to an action with an extra field",
        |v| v["type"] == "error" || v["type"] == "action_result",
    )
    .await?;
    findings.check(
        answer["type"] == "error" && answer["code"] == "invalid_message",
        format!(
            "an action with an unknown field over the WebSocket must be refused with \
             `invalid_message`; got {answer}"
        ),
    );
    unchanged(
        &before,
        &s.record(seg).await?,
        "an action with an extra field (WebSocket)",
    )?;
    s.act_ok(seg, json!({"kind": "open_session"})).await?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "open_item", "item": 99}),
        409,
        "unknown_item",
    )
    .await?;
    s.act_ok(seg, json!({"kind": "open_item", "item": 1}))
        .await?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "cast", "ballot": "favorevole", "participant": "assessore-2"}),
        409,
        "no_vote_open",
    )
    .await?;
    s.act_ok(seg, json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    s.act_ok(&a1, json!({"kind": "cast", "ballot": "favorevole"}))
        .await?;

    let cast = |ballot: &str, participant: Option<&str>| match participant {
        Some(p) => json!({"kind": "cast", "ballot": ballot, "participant": p}),
        None => json!({"kind": "cast", "ballot": ballot}),
    };
    s.refused(
        seg,
        Some(&a1),
        cast("contrario", None),
        409,
        "already_voted",
    )
    .await?;
    s.refused(
        seg,
        Some(seg),
        cast("contrario", Some("assessore-1")),
        409,
        "already_voted",
    )
    .await?;
    s.refused(
        seg,
        Some(&a5),
        cast("favorevole", None),
        409,
        "not_entitled_to_vote",
    )
    .await
    .context("a member in the lobby")?;
    s.refused(
        seg,
        Some(seg),
        cast("favorevole", Some("assessore-6")),
        409,
        "not_entitled_to_vote",
    )
    .await
    .context("an absent member")?;
    s.refused(
        seg,
        Some(seg),
        cast("favorevole", Some(&guest_id)),
        409,
        "not_entitled_to_vote",
    )
    .await
    .context("a guest called by the segretario")?;
    s.refused(
        seg,
        Some(&guest),
        cast("favorevole", None),
        403,
        "forbidden",
    )
    .await
    .context("a guest voting")?;
    s.refused(
        seg,
        Some(&a1),
        cast("favorevole", Some("assessore-2")),
        403,
        "forbidden",
    )
    .await
    .context("a member voting for another")?;
    s.refused(
        seg,
        Some(seg),
        cast("favorevole", Some("nessuno")),
        422,
        "unknown_participant",
    )
    .await?;
    for (token, what) in [(a1.as_str(), "a member"), (clerk.as_str(), "the clerk")] {
        s.refused(
            seg,
            Some(token),
            json!({"kind": "identify", "participant": "assessore-5", "camera_on": true}),
            403,
            "forbidden",
        )
        .await
        .with_context(|| format!("{what} identifying"))?;
        s.refused(
            seg,
            Some(token),
            json!({"kind": "close_vote"}),
            403,
            "forbidden",
        )
        .await
        .with_context(|| format!("{what} closing the vote"))?;
    }
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "open_item", "item": 2}),
        409,
        "vote_open",
    )
    .await?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "close_session"}),
        409,
        "vote_open",
    )
    .await?;

    s.act_ok(seg, json!({"kind": "close_vote"})).await?;
    s.refused(
        seg,
        Some(seg),
        cast("favorevole", Some("assessore-2")),
        409,
        "no_vote_open",
    )
    .await
    .context("a ballot after the close")?;
    s.refused(
        seg,
        Some(seg),
        json!({"kind": "close_vote"}),
        409,
        "no_vote_open",
    )
    .await?;

    drop(lobby);
    s.stop().await;
    findings.finish()
}

// ---------------------------------------------------------------------------
// 5. The role × action matrix over REST and over the WebSocket.

/// Every action kind, aimed at `target` where it names someone.
fn every_action(target: &str) -> Vec<Value> {
    vec![
        json!({"kind": "identify", "participant": target, "camera_on": true}),
        json!({"kind": "refuse", "participant": target}),
        json!({"kind": "check_in", "participant": target}),
        json!({"kind": "check_out", "participant": target}),
        json!({"kind": "away", "participant": target}),
        json!({"kind": "back", "participant": target}),
        json!({"kind": "check_quorum"}),
        json!({"kind": "open_session"}),
        json!({"kind": "open_item", "item": 2}),
        json!({"kind": "abstain", "participant": target}),
        json!({"kind": "open_vote", "vote": "immediate_executability", "mode": "open"}),
        json!({"kind": "cast", "ballot": "favorevole", "participant": target}),
        json!({"kind": "close_vote"}),
        json!({"kind": "suspend"}),
        json!({"kind": "resume"}),
        json!({"kind": "close_session"}),
        json!({"kind": "remove", "participant": target}),
    ]
}

/// What `role` (acting as `me`) may not do, per `signaling/src/meeting/permissions.rs`.
fn forbidden_for(role: Role, me: &str) -> Vec<Value> {
    let mut actions = every_action("assessore-2");
    match role {
        Role::Presiding | Role::Member => {
            actions.extend([
                json!({"kind": "identify", "participant": me, "camera_on": true}),
                json!({"kind": "refuse", "participant": me}),
                json!({"kind": "check_in", "participant": me}),
                json!({"kind": "check_out", "participant": me}),
                json!({"kind": "remove", "participant": me}),
            ]);
        }
        Role::Guest | Role::Room => {
            actions.extend(every_action(me));
            actions.extend([
                json!({"kind": "away"}),
                json!({"kind": "back"}),
                json!({"kind": "abstain"}),
                json!({"kind": "cast", "ballot": "favorevole"}),
            ]);
        }
        Role::Segretario => actions.clear(),
    }
    actions
}

async fn role_action_matrix(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let seg = s.login("segretario").await?;
    let seg = seg.as_str();
    let guest_id = s
        .add_guest(seg, "Ing. Bianchi, dirigente dell'area tecnica")
        .await?;

    // A state where most actions would be possible: open, item 1, a vote open.
    s.check_in(
        seg,
        &["sindaco", "assessore-1", "assessore-2", "assessore-3"],
    )
    .await?;
    s.act_ok(seg, json!({"kind": "open_session"})).await?;
    s.act_ok(seg, json!({"kind": "open_item", "item": 1}))
        .await?;
    s.act_ok(seg, json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;

    let roles = [
        (Role::Presiding, "sindaco".to_owned()),
        (Role::Member, "assessore-1".to_owned()),
        (Role::Guest, guest_id.clone()),
        (Role::Room, "aula".to_owned()),
    ];
    let mut tokens = Vec::new();
    for (role, me) in &roles {
        tokens.push((*role, me.clone(), s.invite(seg, me).await?));
    }

    // Over REST: one refusal per role and action, nothing changed.
    let before = s.record(seg).await?;
    for (role, me, token) in &tokens {
        for action in forbidden_for(*role, me) {
            let reply = s.act(token, action.clone()).await?;
            expect_error(&reply, 403, "forbidden", &format!("{role} ({me}) {action}"))?;
        }
    }
    unchanged(
        &before,
        &s.record(seg).await?,
        "the forbidden actions over REST",
    )?;

    // What members may do passes the matrix (the rules then decide).
    let a1 = &tokens[1].2;
    let cast = s
        .act_ok(
            a1,
            json!({"kind": "cast", "ballot": "astenuto", "participant": "assessore-1"}),
        )
        .await?;
    ensure!(
        cast["vote"]["ballots"]["assessore-1"] == "astenuto",
        "{cast}"
    );
    let sindaco = &tokens[0].2;
    let away = s.act(sindaco, json!({"kind": "abstain"})).await?;
    expect_error(
        &away,
        409,
        "vote_open",
        "the presiding member abstaining during a vote",
    )?;

    // Over the WebSocket: the same refusals as `action_result`s. Connections stay
    // open until the end, so that none changes the state while another role is checked.
    let mut connections = Vec::new();
    for (role, me, token) in &tokens {
        let mut c = s.ws_join(token).await?;
        if matches!(role, Role::Guest) {
            c.next_of("your_presence").await?;
        }
        let before = s.record(seg).await?;
        for (i, action) in forbidden_for(*role, me).into_iter().enumerate() {
            let id = i as u64 + 1;
            c.json(json!({"type": "action", "id": id, "action": action}))
                .await?;
            let result = c.next_of("action_result").await?;
            ensure!(
                result["id"] == id && result["ok"] == false && result["code"] == "forbidden",
                "{role} ({me}) over the WebSocket, {action}: {result}"
            );
            // Stay well below the message rate limit (20/s).
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        unchanged(
            &before,
            &s.record(seg).await?,
            &format!("{role}'s actions over the WebSocket"),
        )?;
        connections.push(c);
    }
    drop(connections);

    s.stop().await;
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. The lobby, revocation and disconnection over the WebSocket.

async fn lobby_over_websocket(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let admin = s.login("admin").await?;
    let settings = s
        .api
        .put(
            "/api/organs/giunta-demo/settings",
            Some(&admin),
            &json!({"presence": {"audio_only_allowed": false, "grace_ms": 500,
                                  "reidentify_after_disconnection": false}}),
        )
        .await?;
    ensure!(settings.status == 204, "settings: {settings}");
    let seg = s.login("segretario").await?;
    let seg = seg.as_str();

    // A member joins: joined, the meeting, and their place in the lobby.
    let a1 = s.invite(seg, "assessore-1").await?;
    let mut m1 = WsClient::connect(&s.ws_url()).await?;
    m1.json(json!({"type": "join", "token": a1})).await?;
    let mut seen = Vec::new();
    let (meeting, presence) = loop {
        let v = m1.next().await?;
        let kind = v["type"].as_str().unwrap_or_default().to_owned();
        ensure!(kind != "error", "joining: {v}");
        seen.push(kind.clone());
        if kind == "your_presence" {
            break (seen.iter().position(|k| k == "meeting"), v);
        }
    };
    ensure!(
        seen.first().map(String::as_str) == Some("joined"),
        "joined first: {seen:?}"
    );
    ensure!(
        meeting.is_some(),
        "a meeting message before your_presence: {seen:?}"
    );
    ensure!(
        presence["presence"] == json!({"state": "lobby"}),
        "{presence}"
    );
    let state = s.state(seg).await?;
    ensure!(
        person(&state, "assessore-1")["presence"] == json!({"state": "lobby"}),
        "{state}"
    );
    ensure!(person(&state, "assessore-1")["link"] == "online", "{state}");

    // The segretario identifies them on video.
    s.act_ok(
        seg,
        json!({"kind": "identify", "participant": "assessore-1", "camera_on": true}),
    )
    .await?;
    let admitted = m1.next_of("your_presence").await?;
    ensure!(
        admitted["presence"] == json!({"state": "present", "mode": "remote"}),
        "{admitted}"
    );

    // A revoked invitation: its holder is closed at once and cannot come back.
    let (a5, a5_jti) = s.invite_on(s.session(), seg, "assessore-5").await?;
    let mut m5 = s.ws_join(&a5).await?;
    m5.next_of("your_presence").await?;
    let revoked = s
        .api
        .delete(&format!("/api/invitations/{a5_jti}"), Some(seg))
        .await?;
    ensure!(revoked.status == 200, "revoke: {revoked}");
    let (fatal, ending) = tokio::time::timeout(Duration::from_secs(3), async {
        let fatal = m5.expect_error("token_revoked").await?;
        anyhow::Ok((fatal, m5.ending().await?))
    })
    .await
    .context("the holder of a revoked invitation was not closed within 3 s")??;
    ensure!(fatal && ending == Ending::Close(4001), "{fatal} {ending:?}");
    let mut again = WsClient::connect(&s.ws_url()).await?;
    again.json(json!({"type": "join", "token": a5})).await?;
    ensure!(again.expect_error("token_revoked").await?, "fatal");
    ensure!(again.ending().await? == Ending::Close(4001), "closed");
    let state = s.state(seg).await?;
    ensure!(
        person(&state, "assessore-5")["presence"] == json!({"state": "absent"}),
        "{state}"
    );
    ensure!(
        person(&state, "assessore-5")["link"] == "offline",
        "{state}"
    );
    let rest = s.act(&a5, json!({"kind": "away"})).await?;
    expect_error(&rest, 401, "token_revoked", "the revoked token over REST")?;

    // The segretario's console on the WebSocket follows a present remote member's
    // disconnection: disconnected, then absent after the grace period.
    let console = s
        .api
        .send(
            "POST",
            &format!("/api/sessions/{}/console", s.session()),
            Some(seg),
            None,
        )
        .await?;
    ensure!(console.status == 201, "console: {console}");
    let mut desk = s.ws_join(&token_of(&console)?).await?;
    s.check_in(seg, &["sindaco", "assessore-2", "assessore-3"])
        .await?;
    let state = s.act_ok(seg, json!({"kind": "open_session"})).await?;
    ensure!(
        state["quorum"]["counted"] == 4 && state["quorum"]["reached"] == true,
        "{}",
        state["quorum"]
    );
    ensure!(
        state["alerts"] == json!([]),
        "nothing lost: {}",
        state["alerts"]
    );
    let a1_state = |v: &Value| {
        v["type"] == "meeting"
            && person(&v["state"], "assessore-1")["presence"]["state"].is_string()
    };
    drop(m1); // the connection drops, without a goodbye
    let gone = wait_for(
        &mut desk,
        Duration::from_secs(5),
        "assessore-1 disconnected",
        |v| {
            a1_state(v) && person(&v["state"], "assessore-1")["presence"]["state"] == "disconnected"
        },
    )
    .await?;
    ensure!(
        gone["state"]["quorum"]["counted"] == 3,
        "a disconnected member counts as absent at once: {}",
        gone["state"]["quorum"]
    );
    let absent = wait_for(
        &mut desk,
        Duration::from_secs(5),
        "assessore-1 absent",
        |v| a1_state(v) && person(&v["state"], "assessore-1")["presence"]["state"] == "absent",
    )
    .await?;
    ensure!(
        absent["state"]["quorum"]
            == json!({"in_office": 7, "counted": 3, "required": 4, "reached": false}),
        "the quorum recomputed: {}",
        absent["state"]["quorum"]
    );
    let alerts = absent["state"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(
        alerts.contains(&json!("quorum")),
        "the quorum is lost: {alerts:?}"
    );
    let log = s.log(seg).await?;
    let about_a1: Vec<&str> = log
        .iter()
        .filter(|e| e["data"]["participant"] == "assessore-1")
        .filter_map(|e| e["kind"].as_str())
        .collect();
    ensure!(
        about_a1.ends_with(&["disconnected", "absent_after_disconnection"]),
        "assessore-1 in the log: {about_a1:?}"
    );
    let state = s.state(seg).await?;
    ensure!(
        person(&state, "assessore-1")["presence"] == json!({"state": "absent"}),
        "{state}"
    );
    ensure!(state["quorum"]["reached"] == false, "{state}");

    drop(desk);
    s.stop().await;
    Ok(())
}

// ---------------------------------------------------------------------------
// 7. A restart in the middle of a session.

/// After a restart the log is the same, followed by one `service_restarted` entry
/// chained to it (no one was remote here, so no one was disconnected by it).
fn survived_with_restart_entry(before: &[Value], after: &[Value]) -> anyhow::Result<()> {
    let n = before.len();
    // A session being recorded is recorded again after the restart (logged next).
    let resumed = after
        .get(n + 1)
        .is_some_and(|e| e["kind"] == "recording_resumed" && e["prev"] == after[n]["hash"]);
    ensure!(
        after.len() == n + 1 + usize::from(resumed) && after[..n] == before[..],
        "the log survives a restart: {:?}",
        kinds(&after[n.min(after.len())..])
    );
    ensure!(
        after[n]["kind"] == "service_restarted" && after[n]["prev"] == before[n - 1]["hash"],
        "the restart is in the log: {}",
        after[n]
    );
    Ok(())
}

async fn restart_keeps_the_session(env: Env) -> anyhow::Result<()> {
    let s = Seduta::start(&env).await?;
    let seg = s.login("segretario").await?;
    s.check_in(
        &seg,
        &[
            "sindaco",
            "assessore-1",
            "assessore-2",
            "assessore-3",
            "assessore-4",
        ],
    )
    .await?;
    s.act_ok(&seg, json!({"kind": "open_session"})).await?;
    s.act_ok(&seg, json!({"kind": "open_item", "item": 1}))
        .await?;
    s.act_ok(&seg, json!({"kind": "away", "participant": "assessore-4"}))
        .await?;
    s.act_ok(&seg, json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-1", "favorevole"),
        ("assessore-2", "contrario"),
        ("assessore-3", "favorevole"),
    ] {
        s.act_ok(
            &seg,
            json!({"kind": "cast", "ballot": ballot, "participant": who}),
        )
        .await?;
    }
    s.act_ok(&seg, json!({"kind": "close_vote"})).await?;
    let state_before = s.state(&seg).await?;
    let log_before = s.log(&seg).await?;
    let votes_path = format!("/api/sessions/{}/votes", s.session());
    let votes_before = s.api.get(&votes_path, Some(&seg)).await?.json();
    let session = s.session().to_owned();
    s.stop().await;

    let s = Seduta::start(&env).await?;
    ensure!(
        s.session() == session,
        "the same session after the restart: {}",
        s.session()
    );
    let seg = s.login("segretario").await?;
    let state_after = s.state(&seg).await?;
    ensure!(
        state_after == state_before,
        "the state survives a restart:\nbefore {state_before}\nafter  {state_after}"
    );
    ensure!(
        state_after["phase"] == "open" && state_after["current_item"] == 1,
        "{state_after}"
    );
    ensure!(
        person(&state_after, "assessore-4")["presence"]
            == json!({"state": "away", "mode": "in_person"}),
        "{state_after}"
    );
    ensure!(
        state_after["results"][0]["outcome"]["approved"] == true,
        "{state_after}"
    );
    let log_after = s.log(&seg).await?;
    survived_with_restart_entry(&log_before, &log_after)?;
    let votes_after = s.api.get(&votes_path, Some(&seg)).await?.json();
    ensure!(votes_after == votes_before, "the votes survive a restart");

    // The chain goes on: entry N+1 links to entry N, and the whole log verifies.
    let n = log_after.len();
    s.act_ok(&seg, json!({"kind": "open_item", "item": 2}))
        .await?;
    let log = s.log(&seg).await?;
    ensure!(
        log.len() == n + 1,
        "one new entry: {:?}",
        kinds(&log[n.min(log.len())..])
    );
    let next = &log[n];
    ensure!(
        next["seq"] == (n as u64 + 1)
            && next["kind"] == "item_opened"
            && next["prev"] == log[n - 1]["hash"],
        "entry {} continues the chain: {next}",
        n + 1
    );
    let entries = read_jsonl(&s.log_jsonl(&seg).await?).map_err(|b| anyhow::anyhow!("{b}"))?;
    let verified = verify(&entries).map_err(|b| anyhow::anyhow!("after the restart: {b}"))?;
    ensure!(
        verified.entries == n as u64 + 1 && !verified.sealed,
        "{verified:?}"
    );

    // A second restart with a vote open: the ballots cast so far are kept and the
    // vote goes on.
    s.act_ok(&seg, json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    let a1 = s.invite(&seg, "assessore-1").await?;
    s.act_ok(&a1, json!({"kind": "cast", "ballot": "favorevole"}))
        .await?;
    s.act_ok(
        &seg,
        json!({"kind": "cast", "ballot": "favorevole", "participant": "sindaco"}),
    )
    .await?;
    let state_before = s.state(&seg).await?;
    let log_before = s.log(&seg).await?;
    s.stop().await;

    let s = Seduta::start(&env).await?;
    let seg = s.login("segretario").await?;
    let state_after = s.state(&seg).await?;
    ensure!(
        state_after == state_before,
        "an open vote survives a restart:\nbefore {state_before}\nafter  {state_after}"
    );
    ensure!(
        state_after["vote"]["ballots"]
            == json!({"assessore-1": "favorevole", "sindaco": "favorevole"}),
        "{state_after}"
    );
    survived_with_restart_entry(&log_before, &s.log(&seg).await?)?;
    let again = s
        .act(&a1, json!({"kind": "cast", "ballot": "contrario"}))
        .await?;
    expect_error(
        &again,
        409,
        "already_voted",
        "a second ballot after the restart",
    )?;
    for who in ["assessore-2", "assessore-3"] {
        s.act_ok(
            &seg,
            json!({"kind": "cast", "ballot": "favorevole", "participant": who}),
        )
        .await?;
    }
    let state = s.act_ok(&seg, json!({"kind": "close_vote"})).await?;
    ensure!(
        state["results"][1]["outcome"]["approved"] == true
            && state["results"][1]["outcome"]["count"]["favorevoli"] == 4,
        "the vote across the restart: {}",
        state["results"][1]
    );
    let votes = s.api.get(&votes_path, Some(&seg)).await?.json();
    ensure!(
        votes.as_array().map(Vec::len) == Some(2) && votes[1]["item"] == 2,
        "votes: {votes}"
    );

    // And it closes and seals as usual.
    s.act_ok(&seg, json!({"kind": "close_session"})).await?;
    let entries = read_jsonl(&s.log_jsonl(&seg).await?).map_err(|b| anyhow::anyhow!("{b}"))?;
    let verified = verify(&entries).map_err(|b| anyhow::anyhow!("after the close: {b}"))?;
    ensure!(verified.sealed, "{verified:?}");

    s.stop().await;
    Ok(())
}
