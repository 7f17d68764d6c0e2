//! The access log of session records: who viewed, played, downloaded, signed or
//! deleted what, and when. Append-only: nothing here updates or deletes a row.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rows::{int, opt_text, text};
use super::{Store, StoreError};

/// What was done with a session's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    /// The record's page (attendance, votes, outcomes) was viewed.
    View,
    /// A recording was played (each range request of a new playback).
    Play,
    /// A file or the package was downloaded.
    Download,
    /// A signature was uploaded (accepted or refused: see `detail`).
    Sign,
    /// Files were deleted under the retention procedure.
    Delete,
}

impl AccessAction {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessAction::View => "view",
            AccessAction::Play => "play",
            AccessAction::Download => "download",
            AccessAction::Sign => "sign",
            AccessAction::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "view" => AccessAction::View,
            "play" => AccessAction::Play,
            "download" => AccessAction::Download,
            "sign" => AccessAction::Sign,
            "delete" => AccessAction::Delete,
            _ => return None,
        })
    }
}

/// One entry of the access log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessEntry {
    /// Position in the log, from 1 (assigned when stored).
    pub id: i64,
    /// When (ms since the Unix epoch, UTC).
    pub at_ms: i64,
    /// The ente whose record it is.
    pub ente_id: String,
    /// The session, if the access concerns one.
    pub session_id: Option<String>,
    /// The staff account.
    pub staff_id: String,
    /// Its user name at the time.
    pub staff_username: String,
    /// What was done.
    pub action: AccessAction,
    /// What it was done to: `record`, a file name (`preservation.mp4`), `package-v2.zip`…
    pub object: String,
    /// Anything else worth keeping (a byte range, a refusal's code, a reason).
    pub detail: String,
}

impl Store {
    /// Appends `entry` (its `id` is ignored and assigned here); returns the id.
    pub async fn record_access(&self, entry: &AccessEntry) -> Result<i64, StoreError> {
        // The next id is taken in the insert itself; two writers racing on
        // PostgreSQL collide on the key and the loser tries again.
        let mut last = None;
        for _ in 0..8 {
            let result = sqlx::query(
                "INSERT INTO access_log (id, at_ms, ente_id, session_id, staff_id, \
                 staff_username, action, object, detail) \
                 SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8 \
                 FROM access_log RETURNING id",
            )
            .bind(entry.at_ms)
            .bind(&entry.ente_id)
            .bind(&entry.session_id)
            .bind(&entry.staff_id)
            .bind(&entry.staff_username)
            .bind(entry.action.as_str())
            .bind(&entry.object)
            .bind(&entry.detail)
            .fetch_one(&self.pool)
            .await;
            match result.map_err(StoreError::from) {
                Ok(row) => return int(&row, "id"),
                Err(StoreError::Conflict(e)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(last.unwrap_or_default()))
    }

    /// The ente's access log, newest first, optionally of one session, at most
    /// `limit` entries before `before` (an id; `None`: from the newest).
    pub async fn access_log(
        &self,
        ente_id: &str,
        session_id: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AccessEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, ente_id, session_id, staff_id, staff_username, action, \
             object, detail FROM access_log \
             WHERE ente_id = $1 AND ($2 = '' OR session_id = $2) AND id < $3 \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(ente_id)
        .bind(session_id.unwrap_or(""))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let action = text(r, "action")?;
                Ok(AccessEntry {
                    id: int(r, "id")?,
                    at_ms: int(r, "at_ms")?,
                    ente_id: text(r, "ente_id")?,
                    session_id: opt_text(r, "session_id")?,
                    staff_id: text(r, "staff_id")?,
                    staff_username: text(r, "staff_username")?,
                    action: AccessAction::parse(&action)
                        .ok_or_else(|| StoreError::Corrupt(format!("access action {action}")))?,
                    object: text(r, "object")?,
                    detail: text(r, "detail")?,
                })
            })
            .collect()
    }
}
