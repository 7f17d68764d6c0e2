//! PostgreSQL restarted in the middle of a session: a server on its own throwaway
//! PostgreSQL (initdb into a temporary folder, a unix socket only) runs a session over
//! the REST API; the database is stopped, an action taken while it is down is refused
//! with `storage` and changes nothing, the database comes back, the session goes on
//! (the pool reconnects by itself) through a vote to the close, and the attendance log
//! read back from the database is whole and verifies sealed.
//!
//! Needs Debian's postgresql (initdb, pg_ctl; `scripts/test` installs it). Run inside a
//! network namespace (see README): `unshare -n bash -c 'ip link set lo up && cargo
//! test -p seduta-tests --test postgres_restart'`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use seduta_signaling::attendance::{read_jsonl, verify};
use seduta_tests::demo::DemoSeduta;
use serde_json::json;

/// A PostgreSQL server of the test's own, listening on a socket in its folder.
struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    as_user: Option<&'static str>,
}

impl Postgres {
    fn start(dir: &Path) -> anyhow::Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL is not installed (Debian package postgresql)")?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        // initdb refuses root: the server runs as postgres (or nobody).
        let as_user = (Command::new("id").arg("-u").output()?.stdout == b"0\n").then(|| {
            let has_postgres = Command::new("id")
                .arg("postgres")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if has_postgres { "postgres" } else { "nobody" }
        });
        std::fs::create_dir_all(dir)?;
        let pg = Self {
            bin,
            dir: dir.to_path_buf(),
            as_user,
        };
        if let Some(user) = as_user {
            run(Command::new("chown").arg(user).arg(dir))?;
        }
        let data = dir.join("data");
        pg.tool(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &display(&data)],
        )?;
        pg.ctl(&["start"])?;
        Ok(pg)
    }

    fn url(&self) -> String {
        format!(
            "postgres:///postgres?host={}&user=postgres",
            self.dir.display()
        )
    }

    fn ctl(&self, what: &[&str]) -> anyhow::Result<()> {
        let data = display(&self.dir.join("data"));
        let log = display(&self.dir.join("server.log"));
        let options = format!("-k {} -c listen_addresses=''", self.dir.display());
        let mut args = vec!["-D", &data, "-l", &log, "-o", &options, "-w", "-m", "fast"];
        args.splice(0..0, what.iter().copied());
        self.tool("pg_ctl", &args)
    }

    fn tool(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(name);
        let mut command = match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        run(command.args(args))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_survives_a_database_restart() -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("seduta-pg-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let pg = Postgres::start(&root.join("pg"))?;
    let url = pg.url();
    let s = DemoSeduta::start(&root.join("data"), |c| {
        c.database_url = Some(url.clone());
        c.preservation = false;
    })
    .await?;
    let session = s.session.clone();

    // Four of seven in the chamber: the quorum holds; the session opens on item 1.
    for who in ["sindaco", "assessore-1", "assessore-2", "assessore-3"] {
        s.act(json!({"kind": "check_in", "participant": who}))
            .await?;
    }
    s.act(json!({"kind": "open_session"})).await?;
    s.act(json!({"kind": "open_item", "item": 1})).await?;
    let before = s.server.store().log(&session).await?.len();

    // The database goes away.
    pg.ctl(&["stop"])?;
    let reply = s
        .try_act(&json!({"kind": "check_in", "participant": "assessore-4"}))
        .await?;
    let (status, body) = (reply.status, reply.json());
    eprintln!("while the database is down: {status} {body}");
    ensure!(
        status == 503 && body["code"] == "storage",
        "an action while the database was down: {status} {body}"
    );
    // It comes back; the pool reconnects on the next action.
    pg.ctl(&["start"])?;
    ensure!(
        s.server.store().log(&session).await?.len() == before,
        "the refused action left an entry in the log"
    );
    // Nothing changed in the session as everyone sees it (read once the
    // database answers again): the quorum still counts four.
    let state = s
        .api
        .get(&format!("/api/sessions/{session}/state"), Some(&s.staff))
        .await?
        .json();
    ensure!(
        state["quorum"]["counted"] == 4,
        "the refused check-in took effect: {}",
        state["quorum"]
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = s
            .try_act(&json!({"kind": "check_in", "participant": "assessore-4"}))
            .await?;
        let (status, body) = (reply.status, reply.json());
        if status == 200 {
            break;
        }
        ensure!(
            status == 503 && Instant::now() < deadline,
            "after the restart: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.act(json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-1", "favorevole"),
        ("assessore-2", "contrario"),
        ("assessore-3", "favorevole"),
        ("assessore-4", "astenuto"),
    ] {
        s.act(json!({"kind": "cast", "participant": who, "ballot": ballot}))
            .await?;
    }
    s.act(json!({"kind": "close_vote"})).await?;
    s.act(json!({"kind": "close_session"})).await?;

    // The log as the database holds it: every entry, one check-in of assessore-4, sealed.
    let log = s.server.store().log(&session).await?;
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    ensure!(log.len() > before, "{kinds:?}");
    let checkins = log
        .iter()
        .filter(|e| e.data["participant"] == "assessore-4" && e.kind.contains("check"))
        .count();
    ensure!(
        checkins == 1,
        "assessore-4 checked in {checkins} times: {kinds:?}"
    );
    for want in [
        "session_opened",
        "item_opened",
        "vote_opened",
        "vote_closed",
        "session_closed",
    ] {
        ensure!(kinds.contains(&want), "{want} missing: {kinds:?}");
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

    s.stop().await;
    drop(pg);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}
