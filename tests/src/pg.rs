//! Scratch PostgreSQL databases for the tests that run on both engines: one database
//! per scenario, made from `TEST_DATABASE_URL` (see `scripts/with-postgres`) and
//! dropped afterwards.

use anyhow::Context;
use seduta_signaling::auth::uuid_like;
use sqlx::Connection;

/// A PostgreSQL database made for one scenario.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates `<prefix>_<random>` on the server of `admin_url`.
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", &uuid_like()[..12]);
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to TEST_DATABASE_URL ({admin_url})"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating the database {name}"))?;
        conn.close().await?;
        let url = with_database(admin_url, &name)?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        })
    }

    /// Drops it (a failure is reported, not raised: the scenario's outcome matters more).
    pub async fn drop_database(self) {
        let dropped = async {
            let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await?;
            conn.close().await?;
            anyhow::Ok(())
        };
        if let Err(e) = dropped.await {
            eprintln!("could not drop the test database {}: {e:#}", self.name);
        }
    }
}

/// `url` with its database name replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let authority_start = url.find("://").context("TEST_DATABASE_URL is not a URL")? + 3;
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| i + authority_start);
    Ok(format!("{}/{name}{query}", &base[..authority_end]))
}

/// The database engine a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite in the scenario's data directory.
    Sqlite,
    /// A scratch PostgreSQL database from `TEST_DATABASE_URL`.
    Postgres,
}

/// Where a scenario's servers keep their state.
#[derive(Debug, Clone)]
pub struct Env {
    /// A fresh data directory.
    pub data_dir: std::path::PathBuf,
    /// The PostgreSQL database's URL; `None` on SQLite.
    pub database_url: Option<String>,
}

/// Runs `scenario` on `engine` (a data directory and a database named after
/// `prefix`), then removes both, whatever the outcome. Without `TEST_DATABASE_URL` the
/// PostgreSQL run fails, unless `SEDUTA_SKIP_POSTGRES=1` says to skip it knowingly.
pub async fn run_on<F, Fut>(engine: Engine, prefix: &str, scenario: F) -> anyhow::Result<()>
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures_util::FutureExt;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data_dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        &uuid_like()[..6]
    ));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let pg = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => {
                Some(PgDatabase::create(url.trim(), prefix).await?)
            }
            _ if std::env::var("SEDUTA_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!(
                    "PostgreSQL run skipped: SEDUTA_SKIP_POSTGRES=1 and no TEST_DATABASE_URL"
                );
                let _ = std::fs::remove_dir_all(&data_dir);
                return Ok(());
            }
            _ => anyhow::bail!(
                "TEST_DATABASE_URL is not set: the PostgreSQL runs of these tests need a server \
                 to create a scratch database on, e.g. \
                 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
                 (scripts/with-postgres sets it; SEDUTA_SKIP_POSTGRES=1 skips them)"
            ),
        },
    };
    let env = Env {
        data_dir: data_dir.clone(),
        database_url: pg.as_ref().map(|d| d.url.clone()),
    };
    let outcome = std::panic::AssertUnwindSafe(scenario(env))
        .catch_unwind()
        .await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
