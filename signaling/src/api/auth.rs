//! Staff login, logout, password change and accounts.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::body::Body;
use super::extract::Staff;
use crate::Shared;
use crate::auth::{hash_password, uuid_like, verify_password};
use crate::clock::now_ms;
use crate::store::{StaffAccount, StaffRole};

/// A hash checked for unknown names, so that a wrong name takes as long as a
/// wrong password (no probing for account names).
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&uuid_like()).unwrap_or_default())
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A staff account as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    /// Account id.
    pub id: String,
    /// Account name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `segretario`, `clerk` or `admin`.
    pub role: String,
    /// The municipality.
    pub ente_id: String,
}

impl From<&StaffAccount> for StaffView {
    fn from(a: &StaffAccount) -> Self {
        Self {
            id: a.id.clone(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role.as_str().to_owned(),
            ente_id: a.ente_id.clone(),
        }
    }
}

/// Login answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The staff token: send it as `Authorization: Bearer …`.
    pub token: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
    /// The account.
    pub staff: StaffView,
}

/// Logs a staff member in.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
              (status = 401, description = "invalid_credentials", body = super::error::ErrorBody),
              (status = 429, description = "too_many_attempts", body = super::error::ErrorBody)))]
pub async fn login(
    State(shared): State<Arc<Shared>>,
    Body(req): Body<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = Instant::now();
    let name = req.username.trim().to_lowercase();
    if name.is_empty() || name.len() > 128 || req.password.len() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "username or password too long or empty",
        ));
    }
    if !shared.logins.allowed(&name, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins for this account; try again in a few minutes",
        ));
    }
    let account = shared.store.staff_by_username(&name).await?;
    let hash = match &account {
        Some(a) => a.password_hash.as_str(),
        None => dummy_hash(),
    };
    let password = req.password.clone();
    let hash = hash.to_owned();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        _ => {
            shared.logins.failed(&name, now);
            tracing::info!("a staff login failed");
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "wrong username or password",
            ));
        }
    };
    shared.logins.succeeded(&name);
    let (token, claims) = shared
        .staff_tokens
        .mint(
            &account.id,
            account.role,
            &account.ente_id,
            &account.display_name,
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(LoginResponse {
        token,
        expires_at: crate::clock::rfc3339(claims.exp.saturating_mul(1000)),
        staff: StaffView::from(&account),
    }))
}

/// Logs out: the token stops working at once.
#[utoipa::path(post, path = "/api/auth/logout", security(("staff" = [])),
    responses((status = 204), (status = 401, body = super::error::ErrorBody)))]
pub async fn logout(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
) -> Result<StatusCode, ApiError> {
    let exp_ms = i64::try_from(staff.0.exp)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    shared
        .store
        .revoke_staff_token(&staff.0.jti, exp_ms)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account of the token.
#[utoipa::path(get, path = "/api/auth/me", security(("staff" = [])),
    responses((status = 200, body = StaffView), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
) -> Result<Json<StaffView>, ApiError> {
    let account = shared
        .store
        .staff(&staff.0.sub)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Json(StaffView::from(&account)))
}

/// Password change request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (at least 10 characters).
    pub new_password: String,
}

/// Changes one's password; every token issued before stops working.
#[utoipa::path(post, path = "/api/auth/password", request_body = PasswordChange, security(("staff" = [])),
    responses((status = 204), (status = 400, description = "weak_password", body = super::error::ErrorBody),
              (status = 401, body = super::error::ErrorBody)))]
pub async fn change_password(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Body(req): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let account = shared
        .store
        .staff(&staff.0.sub)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let (current, stored, new) = (
        req.current_password,
        account.password_hash.clone(),
        req.new_password,
    );
    let hashed = tokio::task::spawn_blocking(move || {
        if !verify_password(&current, &stored) {
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "the current password is wrong",
            ));
        }
        hash_password(&new).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
    })
    .await
    .map_err(|_| ApiError::internal("hashing failed"))??;
    shared
        .store
        .set_password(&account.id, &hashed, now_ms() as i64)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Account name (lower case).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `segretario`, `clerk` or `admin`.
    pub role: String,
    /// Initial password (at least 10 characters).
    pub password: String,
}

/// Creates a staff account in the caller's municipality (administrators only).
#[utoipa::path(post, path = "/api/staff", request_body = NewStaff, security(("staff" = [])),
    responses((status = 201, body = StaffView), (status = 403, body = super::error::ErrorBody),
              (status = 409, body = super::error::ErrorBody)))]
pub async fn create_staff(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Body(req): Body<NewStaff>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    staff.require(&[StaffRole::Admin])?;
    let role = StaffRole::parse(&req.role).ok_or_else(|| {
        ApiError::bad_request("invalid_request", "role must be segretario, clerk or admin")
    })?;
    let username = req.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || req.display_name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "username and display_name are required",
        ));
    }
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::internal("hashing failed"))?
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let account = StaffAccount {
        id: uuid_like(),
        ente_id: staff.0.ente.clone(),
        username,
        display_name: req.display_name.trim().to_owned(),
        role,
        password_hash: hash,
        password_changed_at_ms: 0,
        disabled: false,
    };
    shared.store.insert_staff(&account).await?;
    Ok((StatusCode::CREATED, Json(StaffView::from(&account))))
}
