use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The record to change or read does not exist.
    #[error("not found")]
    NotFound,
    /// The change conflicts with what is stored: a duplicate key, a reference to a
    /// record that does not exist, or a change the record's state does not allow.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another process holds the database's write lock (an operator's `sqlite3`
    /// shell in a transaction, a tool) for longer than the busy timeout: nothing was
    /// written. The same write succeeds once the lock is released.
    #[error("the database is locked by another process: {0}")]
    Busy(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A stored value cannot be decoded (a bad JSON document, an unknown role, a
    /// negative count): the database holds something this code never writes.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A stable code for the error, for logs and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound => "not_found",
            StoreError::Conflict(_) => "conflict",
            StoreError::Busy(_) => "busy",
            StoreError::Database(_) => "database",
            StoreError::Corrupt(_) => "corrupt",
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// Constraint violations become [`StoreError::Conflict`], a lock held elsewhere
    /// [`StoreError::Busy`]; anything else is [`StoreError::Database`].
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if is_busy(db.as_ref()) {
                return StoreError::Busy(db.message().to_owned());
            }
            if db.is_unique_violation() {
                return StoreError::Conflict(format!("already exists: {}", db.message()));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Conflict(format!(
                    "refers to a record that does not exist: {}",
                    db.message()
                ));
            }
            if db.is_check_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
        }
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(sqlx::Error::Migrate(Box::new(e)))
    }
}

/// SQLite's `SQLITE_BUSY` (its extended codes keep the primary code in the low
/// byte), or PostgreSQL's `lock_not_available`.
fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        const SQLITE_BUSY: i64 = 5;
        return code.parse::<i64>().is_ok_and(|c| c & 0xff == SQLITE_BUSY);
    }
    code == "55P03"
}
