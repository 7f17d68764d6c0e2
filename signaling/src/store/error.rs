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
            StoreError::Database(_) => "database",
            StoreError::Corrupt(_) => "corrupt",
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// Constraint violations become [`StoreError::Conflict`]; anything else is
    /// [`StoreError::Database`].
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
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
