//! What the clerk's archive reads in bulk: the agenda subjects and the participants'
//! names of every session of an ente (for the search), and how far a session's
//! package got in the delivery outbox (for the retention procedure).

use super::rows::{int, opt_int, text, u32_col};
use super::{Store, StoreError};

/// One agenda item of one session, for the search index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedItem {
    /// The session.
    pub session_id: String,
    /// The item's number.
    pub number: u32,
    /// Its subject.
    pub subject: String,
}

/// One participant of one session, for the search index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPerson {
    /// The session.
    pub session_id: String,
    /// The participant's full name.
    pub name: String,
}

/// Where a session's package stands in the delivery outbox (`deliveries`, migration
/// 0003): the newest package version that has deliveries, and whether every sink
/// acknowledged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryState {
    /// The newest package version with a delivery row.
    pub version: Option<i64>,
    /// Rows (sinks) of that version.
    pub sinks: u32,
    /// Of those, delivered.
    pub delivered: u32,
    /// When the last of them was delivered (ms since the Unix epoch).
    pub delivered_at_ms: Option<i64>,
}

impl DeliveryState {
    /// Whether the newest version reached every sink it was sent to.
    pub fn complete(&self) -> bool {
        self.sinks > 0 && self.delivered == self.sinks
    }
}

impl Store {
    /// The agenda items of every session of the ente's organs.
    pub async fn archive_agenda(&self, ente_id: &str) -> Result<Vec<IndexedItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.session_id AS session_id, a.number AS number, a.subject AS subject \
             FROM agenda_items a JOIN sessions s ON s.id = a.session_id \
             JOIN organs o ON o.id = s.organ_id WHERE o.ente_id = $1",
        )
        .bind(ente_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IndexedItem {
                    session_id: text(r, "session_id")?,
                    number: u32_col(r, "number")?,
                    subject: text(r, "subject")?,
                })
            })
            .collect()
    }

    /// The participants of every session of the ente's organs.
    pub async fn archive_people(&self, ente_id: &str) -> Result<Vec<IndexedPerson>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.session_id AS session_id, p.name AS name \
             FROM session_participants p JOIN sessions s ON s.id = p.session_id \
             JOIN organs o ON o.id = s.organ_id WHERE o.ente_id = $1",
        )
        .bind(ente_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IndexedPerson {
                    session_id: text(r, "session_id")?,
                    name: text(r, "name")?,
                })
            })
            .collect()
    }

    /// How far `session_id`'s package got in the delivery outbox.
    pub async fn delivery_state(&self, session_id: &str) -> Result<DeliveryState, StoreError> {
        let Some(version) =
            sqlx::query("SELECT MAX(package_version) AS v FROM deliveries WHERE session_id = $1")
                .bind(session_id)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from)
                .and_then(|r| opt_int(&r, "v"))?
        else {
            return Ok(DeliveryState::default());
        };
        let row = sqlx::query(
            "SELECT COUNT(*) AS sinks, \
             SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS delivered, \
             MAX(delivered_at_ms) AS delivered_at \
             FROM deliveries WHERE session_id = $1 AND package_version = $2",
        )
        .bind(session_id)
        .bind(version)
        .fetch_one(&self.pool)
        .await?;
        let count = |col: &str| -> Result<u32, StoreError> {
            let n = opt_int(&row, col)?.unwrap_or(0);
            u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{col} = {n}")))
        };
        let sinks = u32::try_from(int(&row, "sinks")?)
            .map_err(|_| StoreError::Corrupt("delivery count".into()))?;
        Ok(DeliveryState {
            version: Some(version),
            sinks,
            delivered: count("delivered")?,
            delivered_at_ms: opt_int(&row, "delivered_at")?,
        })
    }
}
