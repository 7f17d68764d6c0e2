//! A delivery as stored: one package to one sink.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::DeliveryError;
use crate::package::PackageId;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker, which holds a lease on it.
    InFlight,
    /// The sink acknowledged the package. Final.
    Delivered,
    /// Given up: refused by the sink, or failing past the configured time. An alert
    /// was raised; only [`Outbox::retry_dead`](crate::Outbox::retry_dead) revives it.
    Dead,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::InFlight => "in_flight",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "in_flight" => DeliveryState::InFlight,
            "delivered" => DeliveryState::Delivered,
            "dead" => DeliveryState::Dead,
            _ => return None,
        })
    }
}

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery's id (a UUID).
    pub id: String,
    /// The package.
    pub package: PackageId,
    /// The sink's configured name.
    pub sink: String,
    /// The package file.
    pub package_path: String,
    /// SHA-256 of the package file at enqueueing, lowercase hex.
    pub package_sha256: String,
    /// Size of the package file in bytes.
    pub package_size: u64,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts started so far (a claim counts, even if its worker died).
    pub attempts: u32,
    /// When the next attempt is due (ms since the epoch).
    pub next_attempt_at_ms: i64,
    /// When a still-failing delivery becomes dead.
    pub deadline_at_ms: i64,
    /// The worker holding the lease, while in flight.
    pub lease_owner: Option<String>,
    /// When the lease ends, while in flight.
    pub lease_until_ms: Option<i64>,
    /// The stable code of the last failure.
    pub last_error_code: Option<String>,
    /// The last failure, with the receiver's message.
    pub last_error: Option<String>,
    /// What the sink answered on success (HTTP status, object key, file path).
    pub receipt: Option<String>,
    /// Sent with every attempt so that the receiver can drop repeats.
    pub idempotency_key: String,
    /// Enqueued at.
    pub created_at_ms: i64,
    /// Last changed at.
    pub updated_at_ms: i64,
    /// Delivered at.
    pub delivered_at_ms: Option<i64>,
    /// Became dead at.
    pub dead_at_ms: Option<i64>,
}

/// The columns [`Delivery::from_row`] reads, for SELECT and RETURNING lists.
pub(crate) const COLUMNS: &str = "id, session_id, package_version, sink, package_path, \
    package_sha256, package_size, state, attempts, next_attempt_at_ms, deadline_at_ms, \
    lease_owner, lease_until_ms, last_error_code, last_error, receipt, idempotency_key, \
    created_at_ms, updated_at_ms, delivered_at_ms, dead_at_ms";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, DeliveryError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get::<T, _>(col).map_err(|e| match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            DeliveryError::Corrupt(format!("{col}: {e}"))
        }
        other => DeliveryError::Database(other),
    })
}

fn non_negative<T: TryFrom<i64>>(row: &AnyRow, col: &str) -> Result<T, DeliveryError> {
    let v: i64 = get(row, col)?;
    T::try_from(v).map_err(|_| DeliveryError::Corrupt(format!("{col} = {v} is out of range")))
}

impl Delivery {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Delivery, DeliveryError> {
        let state: String = get(row, "state")?;
        Ok(Delivery {
            id: get(row, "id")?,
            package: PackageId {
                session_id: get(row, "session_id")?,
                version: non_negative(row, "package_version")?,
            },
            sink: get(row, "sink")?,
            package_path: get(row, "package_path")?,
            package_sha256: get(row, "package_sha256")?,
            package_size: non_negative(row, "package_size")?,
            state: DeliveryState::parse(&state)
                .ok_or_else(|| DeliveryError::Corrupt(format!("state = {state:?}")))?,
            attempts: non_negative(row, "attempts")?,
            next_attempt_at_ms: get(row, "next_attempt_at_ms")?,
            deadline_at_ms: get(row, "deadline_at_ms")?,
            lease_owner: get(row, "lease_owner")?,
            lease_until_ms: get(row, "lease_until_ms")?,
            last_error_code: get(row, "last_error_code")?,
            last_error: get(row, "last_error")?,
            receipt: get(row, "receipt")?,
            idempotency_key: get(row, "idempotency_key")?,
            created_at_ms: get(row, "created_at_ms")?,
            updated_at_ms: get(row, "updated_at_ms")?,
            delivered_at_ms: get(row, "delivered_at_ms")?,
            dead_at_ms: get(row, "dead_at_ms")?,
        })
    }
}
