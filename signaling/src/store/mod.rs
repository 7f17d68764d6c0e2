//! Persistence of the meeting model: entes, organs and their members, staff
//! accounts, sessions with their agenda and participants, invitations, the
//! attendance log with the meeting's state, and vote results.
//!
//! One [`Store`] works on embedded SQLite (the default, a file in the data
//! directory) or on PostgreSQL (by URL), through `sqlx`'s `Any` driver and one set
//! of migrations (`signaling/migrations/`) written in SQL both engines accept.
//! Timestamps are milliseconds since the Unix epoch (UTC), dates `YYYY-MM-DD` text,
//! JSON documents text.
//!
//! ```no_run
//! # async fn run() -> Result<(), seduta_signaling::store::StoreError> {
//! use seduta_signaling::store::{Ente, Store};
//! let store = Store::open_sqlite_file(std::path::Path::new("seduta-data/seduta.db")).await?;
//! store
//!     .insert_ente(&Ente { id: "comune".into(), name: "Comune di Roccasecca".into(), codice_istat: None })
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod access;
mod archive;
mod attendance;
mod error;
mod invitations;
mod model;
mod organs;
mod owners;
mod rows;
mod sessions;
mod staff;
mod votes;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

/// The organ settings stored with each [`Organ`] (re-exported from [`crate::meeting`]).
pub use crate::meeting::OrganSettings;
pub use access::{AccessAction, AccessEntry};
pub use archive::{DeliveryState, IndexedItem, IndexedPerson};
pub use attendance::LogWrite;
pub use error::StoreError;
pub use model::{
    AgendaItem, Ente, Invitation, Member, Organ, SessionParticipant, SessionRecord, SessionStatus,
    StaffAccount, StaffRole, VoteRecord,
};
pub use owners::SessionOwner;

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite (`sqlite://…`).
    Sqlite,
    /// PostgreSQL (`postgres://…`, `postgresql://…`).
    Postgres,
}

impl Backend {
    /// The engine a database URL names, if it is one the store supports.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// How the store connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// SQLite: how long a write waits for a lock another process holds (an
    /// operator's `sqlite3` shell in a transaction) before it fails with
    /// [`StoreError::Busy`]. Every write made meanwhile waits too.
    pub sqlite_busy_timeout: Duration,
}

/// The default SQLite busy timeout.
pub const DEFAULT_SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_busy_timeout: DEFAULT_SQLITE_BUSY_TIMEOUT,
        }
    }
}

/// The storage of the control plane. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    options: StoreOptions,
}

impl Store {
    /// Connects to the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://<path>?mode=rwc` (the file is created if missing),
    /// `sqlite::memory:` (one private in-memory database, for tests), or
    /// `postgres://user@host:port/db` (through a unix socket:
    /// `postgres:///db?host=/run/postgresql&user=postgres`).
    /// Every SQLite connection runs in WAL mode with `synchronous=FULL` (an
    /// attendance event is on disk before it is acknowledged), foreign keys on and a
    /// busy timeout of 5 s ([`Store::open_with`] sets another).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, StoreOptions::default()).await
    }

    /// Like [`Store::open`], with `options`.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let store_options = options;
        let busy_ms = sqlite_millis(options.sqlite_busy_timeout);
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL `{}`: use sqlite://… or postgres://…",
                    redact(url)
                )
                .into(),
            ))
        })?;
        let options: AnyConnectOptions = url.parse()?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            if is_sqlite_memory(url) {
                // Each connection to `:memory:` would be its own empty database: keep
                // exactly one connection, forever.
                pool = pool
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            pool = pool.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    // busy_timeout first, so that switching to WAL waits for other
                    // connections instead of failing.
                    conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                        .await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            options: store_options,
        })
    }

    /// Opens (creating it if missing) the SQLite database file at `path`.
    pub async fn open_sqlite_file(path: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite_file_with(path, StoreOptions::default()).await
    }

    /// Like [`Store::open_sqlite_file`], with `options`.
    pub async fn open_sqlite_file_with(
        path: &Path,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let path = path.to_str().ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                format!("the database path {} is not UTF-8", path.display()).into(),
            ))
        })?;
        // The URL's path is percent-decoded: escape what would end or alter it.
        let escaped = path
            .replace('%', "%25")
            .replace('?', "%3F")
            .replace('#', "%23");
        Store::open_with(&format!("sqlite://{escaped}?mode=rwc"), options).await
    }

    /// The database engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (the readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Whether the database would take a write now (the readiness probe). On SQLite
    /// the write lock is taken and given back at once (`BEGIN IMMEDIATE`, nothing
    /// written), waiting at most `wait` for a lock another process holds:
    /// [`StoreError::Busy`] if it is not released by then. `SELECT 1` on PostgreSQL,
    /// whose locks are per row.
    pub async fn check_writable(&self, wait: Duration) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return self.ping().await;
        }
        let mut conn = self.pool.acquire().await?;
        let wait = wait.min(self.options.sqlite_busy_timeout);
        conn.execute(format!("PRAGMA busy_timeout = {}", sqlite_millis(wait)).as_str())
            .await?;
        let taken = match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx.rollback().await,
            Err(e) => Err(e),
        };
        let restore = format!(
            "PRAGMA busy_timeout = {}",
            sqlite_millis(self.options.sqlite_busy_timeout)
        );
        if conn.execute(restore.as_str()).await.is_err() {
            // Never give the pool a connection that would give up too early.
            conn.close_on_drop();
        }
        taken?;
        Ok(())
    }

    /// Closes every connection of the pool (all clones of this store), waiting for
    /// those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The connection pool, for checks the methods do not cover (tests,
    /// diagnostics). Write through the methods: they keep the invariants.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// A duration as SQLite's `busy_timeout` takes it (milliseconds, an `int`).
fn sqlite_millis(d: Duration) -> u128 {
    d.as_millis().min(i32::MAX as u128)
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://x.db?mode=rwc"),
            Some(Backend::Sqlite)
        );
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/db"), None);
        assert_eq!(Backend::from_url("nothing"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
