//! Invitations: one per minted join link, so that a link can be revoked.

use sqlx::any::AnyRow;

use super::rows::{int, opt_int, text};
use super::{Invitation, Store, StoreError};

const COLUMNS: &str =
    "jti, session_id, participant_id, created_at_ms, expires_at_ms, revoked_at_ms";

impl Store {
    /// Records a minted join link; [`StoreError::Conflict`] if the `jti` is taken or
    /// the session's participant does not exist.
    pub async fn insert_invitation(&self, i: &Invitation) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO invitations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&i.jti)
        .bind(&i.session_id)
        .bind(&i.participant_id)
        .bind(i.created_at_ms)
        .bind(i.expires_at_ms)
        .bind(i.revoked_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The invitation `jti`, if any.
    pub async fn invitation(&self, jti: &str) -> Result<Option<Invitation>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM invitations WHERE jti = $1"))
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| invitation_from(&r))
            .transpose()
    }

    /// A session's invitations, the oldest first.
    pub async fn invitations(&self, session_id: &str) -> Result<Vec<Invitation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE session_id = $1 \
             ORDER BY created_at_ms, jti"
        ))
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invitation_from).collect()
    }

    /// Revokes the invitation `jti` at `at_ms` and returns it. Revoking it again
    /// keeps the first revocation time. `None` if there is no such invitation.
    pub async fn revoke_invitation(
        &self,
        jti: &str,
        at_ms: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at_ms = COALESCE(revoked_at_ms, $2) WHERE jti = $1",
        )
        .bind(jti)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.invitation(jti).await
    }
}

fn invitation_from(r: &AnyRow) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        jti: text(r, "jti")?,
        session_id: text(r, "session_id")?,
        participant_id: text(r, "participant_id")?,
        created_at_ms: int(r, "created_at_ms")?,
        expires_at_ms: int(r, "expires_at_ms")?,
        revoked_at_ms: opt_int(r, "revoked_at_ms")?,
    })
}
