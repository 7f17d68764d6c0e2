//! The worker's side of the table: claiming due deliveries under a lease, renewing
//! the lease, and recording each attempt's outcome, fenced by the lease token so a
//! worker that lost its lease cannot overwrite another's result.

use crate::error::{DeliveryError, Disposition, SinkError};
use crate::event::DeliveryEvent;
use crate::record::{COLUMNS, Delivery, DeliveryState};

use super::Outbox;

/// Which rows are due: pending and due, or in flight with an expired lease (their
/// worker died or hung).
const DUE: &str = "((state = 'pending' AND next_attempt_at_ms <= $4) \
                   OR (state = 'in_flight' AND lease_until_ms <= $4))";

impl Outbox {
    /// Claims up to `limit` due deliveries for the configured sinks, in one
    /// statement: each row moves to `in_flight` under a lease for `owner` with
    /// `token`, and its attempt count goes up. On PostgreSQL `FOR UPDATE SKIP LOCKED`
    /// keeps two processes from claiming the same row; SQLite runs the statement
    /// under its single write lock.
    pub(crate) async fn claim(
        &self,
        owner: &str,
        token: &str,
        limit: u32,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        if self.inner.sinks.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.inner.clock.now_ms();
        let lease_until = now.saturating_add(self.lease_ms());
        let sinks: Vec<String> = (0..self.inner.sinks.len())
            .map(|i| format!("${}", i + 6))
            .collect();
        let set = "SET state = 'in_flight', attempts = attempts + 1, lease_owner = $1, \
                   lease_token = $2, lease_until_ms = $3, updated_at_ms = $4";
        let pick = format!(
            "SELECT id FROM deliveries WHERE {DUE} AND sink IN ({}) \
             ORDER BY next_attempt_at_ms, id LIMIT $5",
            sinks.join(", ")
        );
        let sql = if self.inner.postgres {
            // The locking CTE runs once, so the statement claims at most `limit`
            // rows, none of them locked by another claim. (`id IN (SELECT … SKIP
            // LOCKED)` may be re-scanned by the planner and claim more.)
            format!(
                "WITH picked AS ({pick} FOR UPDATE SKIP LOCKED) \
                 UPDATE deliveries {set} FROM picked WHERE deliveries.id = picked.id \
                 RETURNING {}",
                qualified(COLUMNS)
            )
        } else {
            // SQLite runs the whole statement under its single write lock.
            format!("UPDATE deliveries {set} WHERE id IN ({pick}) RETURNING {COLUMNS}")
        };
        let mut q = sqlx::query(&sql)
            .bind(owner)
            .bind(token)
            .bind(lease_until)
            .bind(now)
            .bind(i64::from(limit));
        for sink in self.inner.sinks.keys() {
            q = q.bind(sink);
        }
        let rows = q.fetch_all(&self.inner.pool).await?;
        rows.iter().map(Delivery::from_row).collect()
    }

    /// Extends a held lease. `false` if the lease is no longer ours (it expired and
    /// another worker took the delivery): the attempt must stop.
    pub(crate) async fn renew(&self, id: &str, token: &str) -> Result<bool, DeliveryError> {
        let now = self.inner.clock.now_ms();
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until_ms = $3, updated_at_ms = $4 \
             WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
        )
        .bind(id)
        .bind(token)
        .bind(now.saturating_add(self.lease_ms()))
        .bind(now)
        .execute(&self.inner.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a successful attempt. `false` if the lease was lost meanwhile (the
    /// new holder delivers again; the receiver sees the same idempotency key).
    pub(crate) async fn record_delivered(
        &self,
        job: &Delivery,
        token: &str,
        receipt: &str,
    ) -> Result<bool, DeliveryError> {
        let now = self.inner.clock.now_ms();
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'delivered', delivered_at_ms = $3, receipt = $4, \
             lease_owner = NULL, lease_token = NULL, lease_until_ms = NULL, updated_at_ms = $3 \
             WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
        )
        .bind(&job.id)
        .bind(token)
        .bind(now)
        .bind(receipt)
        .execute(&self.inner.pool)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let _ = self.inner.events.send(DeliveryEvent::Delivered {
            id: job.id.clone(),
            package: job.package.to_string(),
            sink: job.sink.clone(),
            attempts: job.attempts,
        });
        Ok(true)
    }

    /// Records a failed attempt: another try after the backoff, or dead (refused,
    /// or past the deadline) with an alert. Returns the new state, `None` if the
    /// lease was lost meanwhile.
    pub(crate) async fn record_failure(
        &self,
        job: &Delivery,
        token: &str,
        error: &SinkError,
    ) -> Result<Option<DeliveryState>, DeliveryError> {
        let now = self.inner.clock.now_ms();
        let message = truncate(&error.message, 2000);
        let dead = error.disposition == Disposition::Permanent || now >= job.deadline_at_ms;
        if dead {
            let done = sqlx::query(
                "UPDATE deliveries SET state = 'dead', dead_at_ms = $3, last_error_code = $4, \
                 last_error = $5, lease_owner = NULL, lease_token = NULL, \
                 lease_until_ms = NULL, updated_at_ms = $3 \
                 WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
            )
            .bind(&job.id)
            .bind(token)
            .bind(now)
            .bind(error.code)
            .bind(&message)
            .execute(&self.inner.pool)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(None);
            }
            tracing::warn!(
                delivery = %job.id,
                session = %job.package.session_id,
                version = job.package.version,
                sink = %job.sink,
                code = error.code,
                attempts = job.attempts,
                "delivery dead: needs attention"
            );
            let _ = self.inner.events.send(DeliveryEvent::DeadLetter {
                id: job.id.clone(),
                package: job.package.to_string(),
                sink: job.sink.clone(),
                code: error.code.to_owned(),
                message,
            });
            return Ok(Some(DeliveryState::Dead));
        }
        let mut wait = self.inner.retry.backoff_ms(job.attempts, &mut rand::rng());
        if let Some(after) = error.retry_after {
            wait = wait.max(i64::try_from(after.as_millis()).unwrap_or(i64::MAX));
        }
        // The last attempt happens at the deadline, not after it.
        let next = now.saturating_add(wait).min(job.deadline_at_ms);
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_attempt_at_ms = $3, \
             last_error_code = $4, last_error = $5, lease_owner = NULL, lease_token = NULL, \
             lease_until_ms = NULL, updated_at_ms = $6 \
             WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
        )
        .bind(&job.id)
        .bind(token)
        .bind(next)
        .bind(error.code)
        .bind(&message)
        .bind(now)
        .execute(&self.inner.pool)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        tracing::info!(
            delivery = %job.id,
            sink = %job.sink,
            code = error.code,
            attempts = job.attempts,
            "delivery attempt failed; will retry"
        );
        let _ = self.inner.events.send(DeliveryEvent::Retrying {
            id: job.id.clone(),
            sink: job.sink.clone(),
            code: error.code.to_owned(),
            next_attempt_at_ms: next,
        });
        Ok(Some(DeliveryState::Pending))
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.inner.worker.lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// `a, b` as `deliveries.a, deliveries.b`.
fn qualified(columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("deliveries.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
