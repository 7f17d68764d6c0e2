//! Typed errors: [`DeliveryError`] for the outbox's callers, [`SinkError`] for one
//! failed attempt.

use std::time::Duration;

use thiserror::Error;

/// Why an outbox operation failed. Each has a stable [`code`](DeliveryError::code).
#[derive(Debug, Error)]
pub enum DeliveryError {
    /// The delivery configuration is not usable; the message names the setting.
    #[error("delivery configuration: {0}")]
    Config(String),
    /// The package to enqueue is not acceptable (a bad id or version).
    #[error("bad package: {0}")]
    BadPackage(String),
    /// The package file could not be read.
    #[error("package file {path}: {source}")]
    PackageIo {
        /// The file.
        path: String,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The request conflicts with what is stored (the same package version enqueued
    /// with other content, a retry of a delivery that is not dead).
    #[error("conflict: {0}")]
    Conflict(String),
    /// No such delivery.
    #[error("no such delivery")]
    NotFound,
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value cannot be decoded: the table holds something this code never
    /// writes.
    #[error("corrupt stored delivery: {0}")]
    Corrupt(String),
}

impl DeliveryError {
    /// A stable code, for logs and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            DeliveryError::Config(_) => "delivery_config",
            DeliveryError::BadPackage(_) => "bad_package",
            DeliveryError::PackageIo { .. } => "package_io",
            DeliveryError::Conflict(_) => "conflict",
            DeliveryError::NotFound => "not_found",
            DeliveryError::Database(_) => "database",
            DeliveryError::Corrupt(_) => "corrupt",
        }
    }
}

/// Whether a failed attempt is worth repeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A passing fault (receiver down, 5xx, timeout): try again later.
    Retry,
    /// Repeating cannot help (receiver refused the package, file gone): dead now.
    Permanent,
}

/// One failed delivery attempt.
#[derive(Debug, Clone, Error)]
#[error("{code}: {message}")]
pub struct SinkError {
    /// Retry or give up.
    pub disposition: Disposition,
    /// A stable code (`connect`, `timeout`, `http_5xx`, `http_4xx`, `conflict`, …).
    pub code: &'static str,
    /// What happened, with the receiver's own message where it gave one.
    pub message: String,
    /// The receiver asked to wait at least this long (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SinkError {
    /// A passing fault.
    pub fn retry(code: &'static str, message: impl Into<String>) -> Self {
        SinkError {
            disposition: Disposition::Retry,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A fault that repeating cannot fix.
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        SinkError {
            disposition: Disposition::Permanent,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}
