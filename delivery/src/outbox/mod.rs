//! The outbox: enqueueing packages and reading where their deliveries stand. The
//! table is the only state; any process sharing the database sees the same outbox.

mod claim;

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Notify, broadcast};

use crate::clock::Clock;
use crate::config::{DeliveryConfig, RetryPolicy, WorkerConfig};
use crate::error::DeliveryError;
use crate::event::DeliveryEvent;
use crate::package::{Package, PackageId, file_digest, package_io};
use crate::record::{COLUMNS, Delivery, DeliveryState};
use crate::sink::Sink;
use crate::worker::Worker;

/// Events kept for a slow subscriber before it starts missing some.
const EVENT_BUFFER: usize = 256;

/// The delivery outbox over the control plane's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pool: AnyPool,
    pub(crate) postgres: bool,
    pub(crate) sinks: BTreeMap<String, Sink>,
    pub(crate) retry: RetryPolicy,
    pub(crate) worker: WorkerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: broadcast::Sender<DeliveryEvent>,
    pub(crate) wake: Notify,
}

/// How many deliveries are in each state, and how long the oldest one still to be
/// delivered has waited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Waiting for an attempt.
    pub pending: u64,
    /// Being attempted.
    pub in_flight: u64,
    /// Done.
    pub delivered: u64,
    /// Given up, waiting for someone to act.
    pub dead: u64,
    /// Milliseconds since the oldest pending or in-flight delivery was enqueued, on the
    /// outbox's clock (`None`: nothing waits). A dead letter sent again keeps its
    /// enqueueing time.
    pub oldest_waiting_ms: Option<u64>,
}

impl Outbox {
    /// An outbox over `pool`, a database whose schema the control plane's migrations
    /// brought up to date (`signaling/migrations/0003_delivery.sql`), delivering to
    /// the configured sinks on `clock`'s time.
    ///
    /// The configuration is checked first ([`DeliveryConfig::validate`]) and every
    /// sink is built (a webhook's secret read, an S3 client made): a bad setting is a
    /// [`DeliveryError::Config`] now, not a failed delivery later.
    pub fn new(
        pool: AnyPool,
        config: &DeliveryConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Outbox, DeliveryError> {
        config.validate()?;
        let postgres = matches!(
            pool.connect_options().database_url.scheme(),
            "postgres" | "postgresql"
        );
        let mut sinks = BTreeMap::new();
        for sink in &config.sinks {
            sinks.insert(sink.name.clone(), Sink::new(sink)?);
        }
        Ok(Outbox {
            inner: Arc::new(Inner {
                pool,
                postgres,
                sinks,
                retry: config.retry.clone(),
                worker: config.worker.clone(),
                clock,
                events: broadcast::channel(EVENT_BUFFER).0,
                wake: Notify::new(),
            }),
        })
    }

    /// The configured sinks' names.
    pub fn sink_names(&self) -> impl Iterator<Item = &str> {
        self.inner.sinks.keys().map(String::as_str)
    }

    /// Enqueues `package` for every configured sink, in one transaction: either
    /// every sink gets its delivery or none does. Returns the deliveries.
    ///
    /// The file's SHA-256 and size are taken now; the file must stay unchanged until
    /// every delivery is done (an attempt that finds other content is dead with
    /// `package_changed`). Enqueueing the same package again changes nothing and
    /// returns the existing deliveries; the same id with other content is
    /// [`DeliveryError::Conflict`].
    pub async fn enqueue(&self, package: &Package) -> Result<Vec<Delivery>, DeliveryError> {
        package.id.validate()?;
        let path =
            std::path::absolute(&package.zip_path).map_err(|e| package_io(&package.zip_path, e))?;
        let path_text = path
            .to_str()
            .ok_or_else(|| DeliveryError::BadPackage(format!("{} is not UTF-8", path.display())))?
            .to_owned();
        let (sha256, size) = file_digest(&path).await.map_err(|e| package_io(&path, e))?;
        let size = i64::try_from(size)
            .map_err(|_| DeliveryError::BadPackage("the package is too large".into()))?;
        let now = self.inner.clock.now_ms();
        let deadline = now.saturating_add(
            i64::try_from(self.inner.retry.give_up_after().as_millis()).unwrap_or(i64::MAX),
        );
        let version = i64::from(package.id.version);

        let mut tx = self.inner.pool.begin().await?;
        for sink in self.inner.sinks.keys() {
            sqlx::query(
                "INSERT INTO deliveries (id, session_id, package_version, sink, package_path, \
                 package_sha256, package_size, state, attempts, next_attempt_at_ms, \
                 deadline_at_ms, idempotency_key, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $10, $8, $8) \
                 ON CONFLICT (session_id, package_version, sink) DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&package.id.session_id)
            .bind(version)
            .bind(sink)
            .bind(&path_text)
            .bind(&sha256)
            .bind(size)
            .bind(now)
            .bind(deadline)
            .bind(package.id.idempotency_key(sink))
            .execute(&mut *tx)
            .await?;
        }
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE session_id = $1 AND package_version = $2 \
             ORDER BY sink"
        ))
        .bind(&package.id.session_id)
        .bind(version)
        .fetch_all(&mut *tx)
        .await?;
        let deliveries = rows
            .iter()
            .map(Delivery::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(other) = deliveries.iter().find(|d| d.package_sha256 != sha256) {
            return Err(DeliveryError::Conflict(format!(
                "package {} was enqueued (for sink {:?}) with other content",
                package.id, other.sink
            )));
        }
        tx.commit().await?;
        self.inner.wake.notify_waiters();
        Ok(deliveries)
    }

    /// One delivery by id.
    pub async fn get(&self, id: &str) -> Result<Delivery, DeliveryError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await?
            .ok_or(DeliveryError::NotFound)?;
        Delivery::from_row(&row)
    }

    /// Every delivery of a session's packages, by version then sink.
    pub async fn for_session(&self, session_id: &str) -> Result<Vec<Delivery>, DeliveryError> {
        self.select(
            "WHERE session_id = $1 ORDER BY package_version, sink",
            Some(session_id),
        )
        .await
    }

    /// The dead letters, oldest first: the alerts still standing.
    pub async fn dead_letters(&self) -> Result<Vec<Delivery>, DeliveryError> {
        self.select("WHERE state = 'dead' ORDER BY dead_at_ms, id", None)
            .await
    }

    /// How many deliveries are in each state and the age of the oldest one waiting
    /// (for metrics and the console): one aggregate statement, at most one row per
    /// state.
    pub async fn backlog(&self) -> Result<Backlog, DeliveryError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, MIN(created_at_ms) AS oldest FROM deliveries \
             GROUP BY state",
        )
        .fetch_all(&self.inner.pool)
        .await?;
        let mut backlog = Backlog::default();
        let mut oldest: Option<i64> = None;
        for row in &rows {
            use sqlx::Row;
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            let n = u64::try_from(n).unwrap_or(0);
            let first: Option<i64> = row.try_get("oldest")?;
            match state.as_str() {
                "pending" => backlog.pending = n,
                "in_flight" => backlog.in_flight = n,
                "delivered" => backlog.delivered = n,
                "dead" => backlog.dead = n,
                other => return Err(DeliveryError::Corrupt(format!("state = {other:?}"))),
            }
            if matches!(state.as_str(), "pending" | "in_flight")
                && let Some(first) = first
            {
                oldest = Some(oldest.map_or(first, |o| o.min(first)));
            }
        }
        let now = self.inner.clock.now_ms();
        backlog.oldest_waiting_ms =
            oldest.map(|first| u64::try_from(now.saturating_sub(first)).unwrap_or(0));
        Ok(backlog)
    }

    /// Sends a dead letter again (after someone fixed the receiver): pending now,
    /// with a new full time allowance and the same idempotency key.
    /// [`DeliveryError::Conflict`] if it is not dead.
    pub async fn retry_dead(&self, id: &str) -> Result<Delivery, DeliveryError> {
        let now = self.inner.clock.now_ms();
        let deadline = now.saturating_add(
            i64::try_from(self.inner.retry.give_up_after().as_millis()).unwrap_or(i64::MAX),
        );
        let row = sqlx::query(&format!(
            "UPDATE deliveries SET state = 'pending', next_attempt_at_ms = $2, \
             deadline_at_ms = $3, dead_at_ms = NULL, updated_at_ms = $2 \
             WHERE id = $1 AND state = 'dead' RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(now)
        .bind(deadline)
        .fetch_optional(&self.inner.pool)
        .await?;
        match row {
            Some(row) => {
                self.inner.wake.notify_waiters();
                Delivery::from_row(&row)
            }
            None => {
                let current = self.get(id).await?;
                Err(DeliveryError::Conflict(format!(
                    "delivery {id} is {}, not dead",
                    current.state.as_str()
                )))
            }
        }
    }

    /// The live feed of outcomes (see [`DeliveryEvent`]).
    pub fn subscribe(&self) -> broadcast::Receiver<DeliveryEvent> {
        self.inner.events.subscribe()
    }

    /// A worker of this process, named `worker_id` in the leases it takes (make it
    /// unique per process, e.g. host name and process id).
    pub fn worker(&self, worker_id: impl Into<String>) -> Worker {
        Worker::new(self.clone(), worker_id.into())
    }

    async fn select(&self, tail: &str, arg: Option<&str>) -> Result<Vec<Delivery>, DeliveryError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries {tail}");
        let mut q = sqlx::query(&sql);
        if let Some(arg) = arg {
            q = q.bind(arg);
        }
        let rows = q.fetch_all(&self.inner.pool).await?;
        rows.iter().map(Delivery::from_row).collect()
    }
}

impl DeliveryState {
    /// Whether nothing more will happen without someone acting.
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryState::Delivered | DeliveryState::Dead)
    }
}

/// The package id of a stored delivery (for callers holding only rows).
impl From<&Delivery> for PackageId {
    fn from(d: &Delivery) -> PackageId {
        d.package.clone()
    }
}
