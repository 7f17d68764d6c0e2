//! Results of closed votes.

use super::rows::{int, json, text, to_json, u32_col};
use super::{Store, StoreError, VoteRecord};

impl Store {
    /// Records a closed vote; [`StoreError::Conflict`] if the session already has a
    /// vote with that number or does not exist.
    pub async fn insert_vote(&self, v: &VoteRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO votes (session_id, number, item, kind, mode, opened_at_ms, \
             closed_at_ms, ballots, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&v.session_id)
        .bind(i64::from(v.number))
        .bind(i64::from(v.item))
        .bind(&v.kind)
        .bind(&v.mode)
        .bind(v.opened_at_ms)
        .bind(v.closed_at_ms)
        .bind(to_json(&v.ballots)?)
        .bind(to_json(&v.outcome)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session's votes, by number.
    pub async fn votes(&self, session_id: &str) -> Result<Vec<VoteRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, number, item, kind, mode, opened_at_ms, closed_at_ms, \
             ballots, outcome FROM votes WHERE session_id = $1 ORDER BY number",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VoteRecord {
                    session_id: text(r, "session_id")?,
                    number: u32_col(r, "number")?,
                    item: u32_col(r, "item")?,
                    kind: text(r, "kind")?,
                    mode: text(r, "mode")?,
                    opened_at_ms: int(r, "opened_at_ms")?,
                    closed_at_ms: int(r, "closed_at_ms")?,
                    ballots: json(r, "ballots")?,
                    outcome: json(r, "outcome")?,
                })
            })
            .collect()
    }
}
