//! The attendance log and the meeting's state, written together.

use super::rows::{int, json, text, to_json};
use super::{SessionStatus, Store, StoreError, VoteRecord};
use crate::attendance::{Entry, GENESIS};

/// What is written with a batch of log entries, in the same transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWrite<'a> {
    /// The meeting's new state.
    pub snapshot: Option<&'a str>,
    /// The session's new status and when it changed (ms): as
    /// [`Store::set_session_status`], except that a closed session stays closed
    /// without failing the write.
    pub status: Option<(SessionStatus, i64)>,
    /// A vote the entries close, for the votes table (kept if already there).
    pub vote: Option<&'a VoteRecord>,
}

impl Store {
    /// Appends `entries` to a session's attendance log and, if `snapshot` is given,
    /// replaces the session's meeting state with it — all in one transaction, so the
    /// log and the state never disagree.
    ///
    /// The entries must continue the stored chain: the next sequence number and the
    /// previous entry's hash, and belong to `session_id`. Otherwise (a sequence
    /// number already stored, a gap, another chain) it is [`StoreError::Conflict`]
    /// and nothing is written. [`StoreError::NotFound`] if there is no such session.
    pub async fn append_log(
        &self,
        session_id: &str,
        entries: &[Entry],
        snapshot: Option<&str>,
    ) -> Result<(), StoreError> {
        let write = LogWrite {
            snapshot,
            ..LogWrite::default()
        };
        self.append_log_with(session_id, entries, &write).await
    }

    /// Like [`Store::append_log`], writing also what `write` holds (the session's
    /// status, a closed vote) in the same transaction: all of it or nothing.
    pub async fn append_log_with(
        &self,
        session_id: &str,
        entries: &[Entry],
        write: &LogWrite<'_>,
    ) -> Result<(), StoreError> {
        let snapshot = write.snapshot;
        if let Some(e) = entries.iter().find(|e| e.session != session_id) {
            return Err(StoreError::Conflict(format!(
                "entry {} belongs to session {}, not {session_id}",
                e.seq, e.session
            )));
        }
        let mut tx = self.pool.begin().await?;
        // The session row is written first: on SQLite this takes the write lock, on
        // PostgreSQL the row lock, so concurrent appends to one log are serialized.
        let done = sqlx::query(
            "UPDATE sessions SET meeting_state = COALESCE($2, meeting_state) WHERE id = $1",
        )
        .bind(session_id)
        .bind(snapshot)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let last = sqlx::query(
            "SELECT seq, hash FROM attendance_log WHERE session_id = $1 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (mut next, mut prev) = match last {
            Some(r) => (int(&r, "seq")? + 1, text(&r, "hash")?),
            None => (1, GENESIS.to_owned()),
        };
        for e in entries {
            let seq = i64::try_from(e.seq).map_err(|_| {
                StoreError::Conflict(format!("sequence number {} too large", e.seq))
            })?;
            if seq < next {
                return Err(StoreError::Conflict(format!(
                    "entry {seq} of session {session_id} is already stored"
                )));
            }
            if seq != next || e.prev != prev {
                return Err(StoreError::Conflict(format!(
                    "entry {seq} does not continue the log of session {session_id} \
                     (entry {next} chained to the last stored hash expected)"
                )));
            }
            sqlx::query(
                "INSERT INTO attendance_log (session_id, seq, at, kind, data, prev, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(session_id)
            .bind(seq)
            .bind(&e.at)
            .bind(&e.kind)
            .bind(to_json(&e.data)?)
            .bind(&e.prev)
            .bind(&e.hash)
            .execute(&mut *tx)
            .await?;
            next = seq + 1;
            prev.clone_from(&e.hash);
        }
        if let Some((status, at_ms)) = write.status {
            let opened = (status == SessionStatus::Open).then_some(at_ms);
            let closed = (status == SessionStatus::Closed).then_some(at_ms);
            sqlx::query(
                "UPDATE sessions SET status = $2, opened_at_ms = COALESCE(opened_at_ms, $3), \
                 closed_at_ms = COALESCE(closed_at_ms, $4) \
                 WHERE id = $1 AND (status <> 'closed' OR $2 = 'closed')",
            )
            .bind(session_id)
            .bind(status.as_str())
            .bind(opened)
            .bind(closed)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(v) = write.vote {
            if v.session_id != session_id {
                return Err(StoreError::Conflict(format!(
                    "vote {} belongs to session {}, not {session_id}",
                    v.number, v.session_id
                )));
            }
            sqlx::query(
                "INSERT INTO votes (session_id, number, item, kind, mode, opened_at_ms, \
                 closed_at_ms, ballots, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (session_id, number) DO NOTHING",
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
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A session's attendance log, by sequence number, exactly as appended.
    pub async fn log(&self, session_id: &str) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, data, prev, hash FROM attendance_log \
             WHERE session_id = $1 ORDER BY seq",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq = int(r, "seq")?;
                Ok(Entry {
                    seq: u64::try_from(seq)
                        .map_err(|_| StoreError::Corrupt(format!("seq = {seq} is negative")))?,
                    at: text(r, "at")?,
                    session: session_id.to_owned(),
                    kind: text(r, "kind")?,
                    data: json(r, "data")?,
                    prev: text(r, "prev")?,
                    hash: text(r, "hash")?,
                })
            })
            .collect()
    }

    /// The session's last saved meeting state; `None` if none was saved yet.
    /// [`StoreError::NotFound`] if there is no such session.
    pub async fn meeting_snapshot(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT meeting_state FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        super::rows::opt_text(&row, "meeting_state")
    }
}
