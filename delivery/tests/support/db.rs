//! A fresh database per test, on SQLite or PostgreSQL, with the control plane's
//! migrations applied (the same files the server runs at startup).
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (`scripts/with-postgres`); without it
//! the PostgreSQL half fails, unless `SEDUTA_SKIP_POSTGRES=1` says to skip knowingly.

use std::future::Future;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Executor};

use super::TempDir;

/// A database for one test.
pub struct Db {
    /// The URL, to open more pools (another "server process").
    pub url: String,
    /// The first pool.
    pub pool: AnyPool,
}

impl Db {
    /// Another pool on the same database, as a second server process would have.
    pub async fn another_pool(&self) -> AnyPool {
        connect(&self.url).await
    }
}

async fn connect(url: &str) -> AnyPool {
    let is_sqlite = url.starts_with("sqlite:");
    AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if is_sqlite {
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .expect("connect")
}

/// Runs `test` on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    sqlx::any::install_default_drivers();
    let dir = TempDir::new("db");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("seduta.db").display()
    );
    let pool = connect(&url).await;
    sqlx::migrate!("../signaling/migrations")
        .run(&pool)
        .await
        .expect("migrations");
    let result = tokio::spawn(test(Db {
        url,
        pool: pool.clone(),
    }))
    .await;
    pool.close().await;
    drop(dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `test` on a fresh PostgreSQL database, dropped afterwards.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        if std::env::var("SEDUTA_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("PostgreSQL half skipped (SEDUTA_SKIP_POSTGRES=1)");
            return;
        }
        panic!("TEST_DATABASE_URL is not set: run under scripts/with-postgres");
    };
    sqlx::any::install_default_drivers();
    let name = format!("seduta_d_{:016x}", rand::random::<u64>());
    admin(&base, &format!("CREATE DATABASE {name}")).await;
    let url = with_database(&base, &name);
    let pool = connect(&url).await;
    sqlx::migrate!("../signaling/migrations")
        .run(&pool)
        .await
        .expect("migrations");
    let result = tokio::spawn(test(Db {
        url,
        pool: pool.clone(),
    }))
    .await;
    pool.close().await;
    admin(&base, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn admin(base: &str, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .expect("connect to TEST_DATABASE_URL");
    conn.execute(sql).await.expect(sql);
    let _ = conn.close().await;
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = head[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..path_start]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Runs a scenario on both engines: `<name>_sqlite` and `<name>_postgres`.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::db::on_sqlite(super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::db::on_postgres(super::$name).await;
            }
        }
    };
}
