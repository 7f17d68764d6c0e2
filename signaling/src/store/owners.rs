//! Leases on sessions for control-plane replicas (multi-node): one replica runs a
//! session at a time, and another takes it over once the lease has lapsed.

use super::{Store, StoreError};

/// Who runs a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOwner {
    /// The replica's id.
    pub replica: String,
    /// Where other replicas reach it (`http://10.0.0.7:8080`).
    pub url: String,
}

impl Store {
    /// Takes the lease on `session` for `replica` until `expires_at_ms`, unless another
    /// replica holds one that is still valid at `now_ms`; returns who holds it now.
    pub async fn claim_session(
        &self,
        session: &str,
        owner: &SessionOwner,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<SessionOwner, StoreError> {
        sqlx::query(
            "INSERT INTO session_owners (session_id, replica, url, expires_at_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (session_id) DO UPDATE SET replica = excluded.replica, \
             url = excluded.url, expires_at_ms = excluded.expires_at_ms \
             WHERE session_owners.expires_at_ms < $5 OR session_owners.replica = $2",
        )
        .bind(session)
        .bind(&owner.replica)
        .bind(&owner.url)
        .bind(expires_at_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        let row: (String, String) =
            sqlx::query_as("SELECT replica, url FROM session_owners WHERE session_id = $1")
                .bind(session)
                .fetch_one(&self.pool)
                .await?;
        Ok(SessionOwner {
            replica: row.0,
            url: row.1,
        })
    }

    /// Extends every lease `replica` holds on a session that is not closed to
    /// `expires_at_ms`, and gives up its leases on closed sessions and on ids that
    /// name no session (a request for a made-up id takes a lease too); returns how
    /// many it still holds.
    pub async fn renew_sessions(
        &self,
        replica: &str,
        expires_at_ms: i64,
    ) -> Result<u64, StoreError> {
        sqlx::query(
            "DELETE FROM session_owners WHERE replica = $1 AND session_id NOT IN \
             (SELECT id FROM sessions WHERE status <> 'closed')",
        )
        .bind(replica)
        .execute(&self.pool)
        .await?;
        let done = sqlx::query("UPDATE session_owners SET expires_at_ms = $2 WHERE replica = $1")
            .bind(replica)
            .bind(expires_at_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives up every lease `replica` holds (a replica that stops cleanly); returns
    /// how many.
    pub async fn release_sessions(&self, replica: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_owners WHERE replica = $1")
            .bind(replica)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
