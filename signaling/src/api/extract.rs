//! Who is calling: a staff token, or (for meeting actions) a participant's join token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::ApiError;
use crate::Shared;
use crate::auth::{Role, StaffClaims};
use crate::store::{SessionRecord, StaffRole};

/// A caller authenticated with a live staff token.
#[derive(Debug, Clone)]
pub struct Staff(pub StaffClaims);

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Checks a staff token: signature, audience, expiry, logout, password change,
/// account still enabled.
pub async fn check_staff(shared: &Shared, token: &str) -> Result<StaffClaims, ApiError> {
    let claims = shared
        .staff_tokens
        .verify(token)
        .map_err(|e| ApiError::unauthorized(e.code(), e.to_string()))?;
    if shared.store.staff_token_revoked(&claims.jti).await? {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "this token was logged out",
        ));
    }
    let account = shared
        .store
        .staff(&claims.sub)
        .await?
        .ok_or_else(|| ApiError::unauthorized("token_invalid", "unknown account"))?;
    let issued_ms = i64::try_from(claims.iat_ms).unwrap_or(i64::MAX);
    // A password change invalidates every token issued before it.
    if account.disabled || issued_ms <= account.password_changed_at_ms {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the account changed since this token was issued",
        ));
    }
    Ok(claims)
}

impl FromRequestParts<Arc<Shared>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("token_missing", "a staff token is required"))?;
        check_staff(shared, token).await.map(Staff)
    }
}

impl Staff {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[StaffRole]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "not allowed for the staff role `{}`",
                self.0.role.as_str()
            )))
        }
    }

    /// Loads a session of the caller's own municipality.
    pub async fn session(&self, shared: &Shared, id: &str) -> Result<SessionRecord, ApiError> {
        let session = shared
            .store
            .session(id)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?;
        self.organ_of_mine(shared, &session.organ_id).await?;
        Ok(session)
    }

    /// Loads a session of the caller's own municipality that is not closed yet.
    pub async fn open_session(&self, shared: &Shared, id: &str) -> Result<SessionRecord, ApiError> {
        let session = self.session(shared, id).await?;
        if session.status == crate::store::SessionStatus::Closed {
            return Err(ApiError::conflict(
                "session_closed",
                "the session is closed",
            ));
        }
        Ok(session)
    }

    /// Refuses an organ of another municipality (as not found: no probing).
    pub async fn organ_of_mine(
        &self,
        shared: &Shared,
        organ_id: &str,
    ) -> Result<crate::store::Organ, ApiError> {
        match shared.store.organ(organ_id).await? {
            Some(organ) if organ.ente_id == self.0.ente => Ok(organ),
            _ => Err(ApiError::not_found("organ")),
        }
    }
}

/// Who acts on a meeting over REST: the segretario's staff account, or a
/// participant with their join token.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Participant or staff id.
    pub id: String,
    /// Role in the session.
    pub role: Role,
}

/// Resolves the caller of a meeting action on `session`.
pub async fn actor(
    shared: &Shared,
    parts_token: Option<&str>,
    session: &str,
) -> Result<Actor, ApiError> {
    let token = parts_token
        .ok_or_else(|| ApiError::unauthorized("token_missing", "a token is required"))?;
    if let Ok(claims) = shared.staff_tokens.verify(token) {
        let claims = check_staff(shared, token).await.map(|_| claims)?;
        let staff = Staff(claims);
        staff.session(shared, session).await?;
        let role = match staff.0.role {
            StaffRole::Segretario => Role::Segretario,
            // Clerks and administrators act on nothing in a meeting.
            StaffRole::Clerk | StaffRole::Admin => Role::Guest,
        };
        return Ok(Actor {
            id: staff.0.sub,
            role,
        });
    }
    let claims = shared
        .verifier
        .verify(token, session)
        .map_err(|e| ApiError::unauthorized(e.code().as_str(), e.to_string()))?;
    crate::service::admission::admit(&shared.store, &claims)
        .await
        .map_err(|(code, reason)| ApiError::unauthorized(code.as_str(), reason))?;
    Ok(Actor {
        id: claims.sub,
        role: claims.role,
    })
}
