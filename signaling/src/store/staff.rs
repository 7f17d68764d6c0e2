//! Staff accounts and revoked staff tokens.

use sqlx::any::AnyRow;

use super::rows::{bool_int, flag, int, parsed, text};
use super::{StaffAccount, StaffRole, Store, StoreError};

const COLUMNS: &str = "id, ente_id, username, display_name, role, password_hash, \
                       password_changed_at_ms, disabled";

impl Store {
    /// Adds a staff account; [`StoreError::Conflict`] if the id or the username is
    /// taken, or the ente does not exist.
    pub async fn insert_staff(&self, s: &StaffAccount) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO staff_accounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&s.id)
        .bind(&s.ente_id)
        .bind(&s.username)
        .bind(&s.display_name)
        .bind(s.role.as_str())
        .bind(&s.password_hash)
        .bind(s.password_changed_at_ms)
        .bind(bool_int(s.disabled))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account signing in as `username` (exact match), if any.
    pub async fn staff_by_username(
        &self,
        username: &str,
    ) -> Result<Option<StaffAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff_accounts WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| staff_from(&r))
        .transpose()
    }

    /// The account `id`, if any.
    pub async fn staff(&self, id: &str) -> Result<Option<StaffAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff_accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| staff_from(&r))
        .transpose()
    }

    /// Sets an account's password hash and when it changed;
    /// [`StoreError::NotFound`] if there is no such account.
    pub async fn set_password(
        &self,
        staff_id: &str,
        password_hash: &str,
        changed_at_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE staff_accounts SET password_hash = $2, password_changed_at_ms = $3 \
             WHERE id = $1",
        )
        .bind(staff_id)
        .bind(password_hash)
        .bind(changed_at_ms)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Revokes the staff token `jti` (sign-out) until it would have expired anyway.
    /// Revoking it again changes nothing.
    pub async fn revoke_staff_token(
        &self,
        jti: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO revoked_staff_tokens (jti, expires_at_ms) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the staff token `jti` was revoked.
    pub async fn staff_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT jti FROM revoked_staff_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

fn staff_from(r: &AnyRow) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        id: text(r, "id")?,
        ente_id: text(r, "ente_id")?,
        username: text(r, "username")?,
        display_name: text(r, "display_name")?,
        role: parsed(r, "role", StaffRole::parse)?,
        password_hash: text(r, "password_hash")?,
        password_changed_at_ms: int(r, "password_changed_at_ms")?,
        disabled: flag(r, "disabled")?,
    })
}
