//! Sessions, their agenda and their participants.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::rows::{int, opt_int, opt_text, parsed, text, u32_col};
use super::{AgendaItem, SessionParticipant, SessionRecord, SessionStatus, Store, StoreError};
use crate::auth::Role;

const COLUMNS: &str = "id, organ_id, title, scheduled_at, seat, convocation, status, \
                       created_by, created_at_ms, opened_at_ms, closed_at_ms";

impl Store {
    /// Adds a session of an existing organ; [`StoreError::Conflict`] if the id is
    /// taken or the organ does not exist.
    pub async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&s.id)
        .bind(&s.organ_id)
        .bind(&s.title)
        .bind(&s.scheduled_at)
        .bind(&s.seat)
        .bind(&s.convocation)
        .bind(s.status.as_str())
        .bind(&s.created_by)
        .bind(s.created_at_ms)
        .bind(s.opened_at_ms)
        .bind(s.closed_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session `id`, if any.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| session_from(&r))
            .transpose()
    }

    /// The sessions of an organ (or of all organs), the latest scheduled first.
    pub async fn list_sessions(
        &self,
        organ_id: Option<&str>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = match organ_id {
            Some(organ) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM sessions WHERE organ_id = $1"
                ))
                .bind(organ)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM sessions"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut sessions = rows
            .iter()
            .map(session_from)
            .collect::<Result<Vec<_>, _>>()?;
        // By instant, not by text: offsets may differ. Unparseable dates go last.
        sessions.sort_by_cached_key(|s| {
            let instant = time::OffsetDateTime::parse(
                &s.scheduled_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok();
            (
                std::cmp::Reverse(instant.map(|t| t.unix_timestamp_nanos())),
                std::cmp::Reverse(s.scheduled_at.clone()),
                s.id.clone(),
            )
        });
        Ok(sessions)
    }

    /// Moves a session to `status` at `at_ms`. The first opening sets
    /// `opened_at_ms`, closing sets `closed_at_ms`; later changes keep the first
    /// times. A closed session is final: any other status is [`StoreError::Conflict`].
    /// [`StoreError::NotFound`] if there is no such session.
    pub async fn set_session_status(
        &self,
        id: &str,
        status: SessionStatus,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let opened = (status == SessionStatus::Open).then_some(at_ms);
        let closed = (status == SessionStatus::Closed).then_some(at_ms);
        let done = sqlx::query(
            "UPDATE sessions SET status = $2, opened_at_ms = COALESCE(opened_at_ms, $3), \
             closed_at_ms = COALESCE(closed_at_ms, $4) \
             WHERE id = $1 AND (status <> 'closed' OR $2 = 'closed')",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(opened)
        .bind(closed)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return match self.session(id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Conflict(format!(
                    "session {id} is closed: it cannot become {}",
                    status.as_str()
                ))),
            };
        }
        Ok(())
    }

    /// Changes a session's title, scheduled time, seat and convocation (the other
    /// fields of `s` are ignored). Only while the session is convened, else
    /// [`StoreError::Conflict`]; [`StoreError::NotFound`] if there is no such session.
    pub async fn update_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET title = $2, scheduled_at = $3, seat = $4, convocation = $5 \
             WHERE id = $1 AND status = 'convened'",
        )
        .bind(&s.id)
        .bind(&s.title)
        .bind(&s.scheduled_at)
        .bind(&s.seat)
        .bind(&s.convocation)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(self.not_convened(&s.id).await);
        }
        Ok(())
    }

    /// Replaces a session's whole agenda, in one transaction. Only while the session
    /// is convened, else [`StoreError::Conflict`] (also for a repeated item number);
    /// [`StoreError::NotFound`] if there is no such session.
    pub async fn set_agenda(
        &self,
        session_id: &str,
        items: &[AgendaItem],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Writing the session row first takes the write lock (SQLite) or the row
        // lock (PostgreSQL): the status cannot change before the commit.
        if !lock_convened(&mut tx, session_id).await? {
            drop(tx);
            return Err(self.not_convened(session_id).await);
        }
        sqlx::query("DELETE FROM agenda_items WHERE session_id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        for item in items {
            sqlx::query(
                "INSERT INTO agenda_items (session_id, number, subject) VALUES ($1, $2, $3)",
            )
            .bind(session_id)
            .bind(i64::from(item.number))
            .bind(&item.subject)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A session's agenda, by item number.
    pub async fn agenda(&self, session_id: &str) -> Result<Vec<AgendaItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, subject FROM agenda_items WHERE session_id = $1 ORDER BY number",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgendaItem {
                    number: u32_col(r, "number")?,
                    subject: text(r, "subject")?,
                })
            })
            .collect()
    }

    /// Adds a participant to a session, or changes its name, role and member.
    /// [`StoreError::Conflict`] if the session or the member does not exist.
    pub async fn upsert_participant(&self, p: &SessionParticipant) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_participants (session_id, id, name, role, member_id) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (session_id, id) DO UPDATE SET \
             name = excluded.name, role = excluded.role, member_id = excluded.member_id",
        )
        .bind(&p.session_id)
        .bind(&p.id)
        .bind(&p.name)
        .bind(p.role.as_str())
        .bind(&p.member_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session's participants, by name.
    pub async fn participants(
        &self,
        session_id: &str,
    ) -> Result<Vec<SessionParticipant>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, id, name, role, member_id FROM session_participants \
             WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        let mut people = rows
            .iter()
            .map(participant_from)
            .collect::<Result<Vec<_>, _>>()?;
        people.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(people)
    }

    /// The participant `id` of a session, if any.
    pub async fn participant(
        &self,
        session_id: &str,
        id: &str,
    ) -> Result<Option<SessionParticipant>, StoreError> {
        sqlx::query(
            "SELECT session_id, id, name, role, member_id FROM session_participants \
             WHERE session_id = $1 AND id = $2",
        )
        .bind(session_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| participant_from(&r))
        .transpose()
    }

    /// The error for a change refused because the session is missing or not convened.
    async fn not_convened(&self, id: &str) -> StoreError {
        match self.session(id).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(s)) => StoreError::Conflict(format!(
                "session {id} is {}: it can change only while convened",
                s.status.as_str()
            )),
            Err(e) => e,
        }
    }
}

/// Locks the session row inside `tx` if the session is convened; whether it is.
async fn lock_convened(
    tx: &mut Transaction<'_, Any>,
    session_id: &str,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE sessions SET status = status WHERE id = $1 AND status = 'convened'")
            .bind(session_id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

fn session_from(r: &AnyRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: text(r, "id")?,
        organ_id: text(r, "organ_id")?,
        title: text(r, "title")?,
        scheduled_at: text(r, "scheduled_at")?,
        seat: text(r, "seat")?,
        convocation: text(r, "convocation")?,
        status: parsed(r, "status", SessionStatus::parse)?,
        created_by: text(r, "created_by")?,
        created_at_ms: int(r, "created_at_ms")?,
        opened_at_ms: opt_int(r, "opened_at_ms")?,
        closed_at_ms: opt_int(r, "closed_at_ms")?,
    })
}

fn participant_from(r: &AnyRow) -> Result<SessionParticipant, StoreError> {
    Ok(SessionParticipant {
        session_id: text(r, "session_id")?,
        id: text(r, "id")?,
        name: text(r, "name")?,
        role: parsed(r, "role", Role::parse)?,
        member_id: opt_text(r, "member_id")?,
    })
}
