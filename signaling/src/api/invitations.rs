//! Invitation links: one signed token per participant, for one session only,
//! expiring and revocable (a revoked link stops working at once and its holder is
//! removed from the session).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::extract::Staff;
use crate::Shared;
use crate::auth::{Role, uuid_like};
use crate::clock::now_ms;
use crate::store::{Invitation, SessionParticipant, StaffRole};

/// Default validity of an invitation link.
const DEFAULT_TTL_HOURS: u32 = 48;
/// Longest validity allowed.
const MAX_TTL_HOURS: u32 = 24 * 31;

/// What to mint.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// One participant; absent means everyone but the segretario.
    #[serde(default)]
    pub participant_id: Option<String>,
    /// Validity in hours (default 48, at most 744).
    #[serde(default)]
    pub ttl_hours: Option<u32>,
}

/// A minted link.
#[derive(Debug, Serialize, ToSchema)]
pub struct MintedLink {
    /// For whom.
    pub participant_id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// The invitation id (revoke with it).
    pub jti: String,
    /// The join token.
    pub token: String,
    /// The link to send (the token is in the fragment, never in server logs).
    pub link: String,
    /// Expiry, ms since the epoch.
    pub expires_at_ms: i64,
}

/// Mints invitation links for a session's participants.
#[utoipa::path(post, path = "/api/sessions/{id}/invitations", request_body = MintRequest, security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 201, body = Vec<MintedLink>), (status = 409, body = super::error::ErrorBody)))]
pub async fn mint(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Vec<MintedLink>>), ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    staff.open_session(&shared, &id).await?;
    let req: MintRequest = super::body::optional(&body)?.unwrap_or_default();
    let hours = req.ttl_hours.unwrap_or(DEFAULT_TTL_HOURS);
    if hours == 0 || hours > MAX_TTL_HOURS {
        return Err(ApiError::bad_request(
            "invalid_request",
            "ttl_hours must be between 1 and 744",
        ));
    }
    let people = shared.store.participants(&id).await?;
    let targets: Vec<&SessionParticipant> = match &req.participant_id {
        Some(pid) => vec![
            people
                .iter()
                .find(|p| &p.id == pid)
                .ok_or_else(|| ApiError::not_found("participant"))?,
        ],
        None => people
            .iter()
            .filter(|p| p.role != Role::Segretario)
            .collect(),
    };
    let mut links = Vec::new();
    let ttl = Duration::from_secs(u64::from(hours) * 3600);
    for p in targets {
        links.push(
            mint_link(
                &shared.store,
                shared.issuer.as_ref(),
                &shared.public_url,
                &id,
                p,
                ttl,
            )
            .await?,
        );
    }
    Ok((StatusCode::CREATED, Json(links)))
}

async fn mint_one(
    shared: &Shared,
    session: &str,
    p: &SessionParticipant,
    ttl: Duration,
) -> Result<MintedLink, ApiError> {
    mint_link(
        &shared.store,
        shared.issuer.as_ref(),
        &shared.public_url,
        session,
        p,
        ttl,
    )
    .await
}

/// Mints one invitation (stored, revocable) and its link (API and command line alike).
pub async fn mint_link(
    store: &crate::store::Store,
    issuer: Option<&crate::auth::TokenIssuer>,
    public_url: &str,
    session: &str,
    p: &SessionParticipant,
    ttl: Duration,
) -> Result<MintedLink, ApiError> {
    let issuer = issuer.ok_or_else(|| {
        ApiError::conflict(
            "external_issuer",
            "this server verifies tokens with a public key; invitations are minted by the external issuer",
        )
    })?;
    let jti = uuid_like();
    let now = now_ms() as i64;
    let expires_at_ms = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let token = issuer
        .mint_invitation(&p.id, session, p.role, &p.name, ttl, Some(&jti))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    store
        .insert_invitation(&Invitation {
            jti: jti.clone(),
            session_id: session.to_owned(),
            participant_id: p.id.clone(),
            created_at_ms: now,
            expires_at_ms,
            revoked_at_ms: None,
        })
        .await?;
    let link = format!("{}/#token={token}", public_url.trim_end_matches('/'));
    Ok(MintedLink {
        participant_id: p.id.clone(),
        name: p.name.clone(),
        role: p.role.as_str().to_owned(),
        jti,
        token,
        link,
        expires_at_ms,
    })
}

/// The session's invitations, revoked ones included.
#[utoipa::path(get, path = "/api/sessions/{id}/invitations", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = Vec<Invitation>), (status = 404, body = super::error::ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    staff.require(&[StaffRole::Segretario, StaffRole::Admin])?;
    staff.session(&shared, &id).await?;
    Ok(Json(shared.store.invitations(&id).await?))
}

/// Revokes an invitation: its link stops working and a connected holder is removed.
#[utoipa::path(delete, path = "/api/invitations/{jti}", security(("staff" = [])),
    params(("jti" = String, Path, description = "invitation id")),
    responses((status = 200, body = Invitation), (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(jti): Path<String>,
) -> Result<Json<Invitation>, ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    let invitation = shared
        .store
        .invitation(&jti)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))?;
    staff.session(&shared, &invitation.session_id).await?;
    let revoked = shared
        .store
        .revoke_invitation(&jti, now_ms() as i64)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))?;
    crate::cluster::notify::send(
        &shared,
        &revoked.session_id,
        crate::cluster::notify::Notice::Revoke { jti },
    );
    Ok(Json(revoked))
}

/// The segretario's own join link for the session console.
#[utoipa::path(post, path = "/api/sessions/{id}/console", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 201, body = MintedLink), (status = 403, body = super::error::ErrorBody)))]
pub async fn console(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<MintedLink>), ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    staff.open_session(&shared, &id).await?;
    let me = shared
        .store
        .participant(&id, &staff.0.sub)
        .await?
        .filter(|p| p.role == Role::Segretario)
        .ok_or_else(|| ApiError::forbidden("you are not the segretario of this session"))?;
    let link = mint_one(&shared, &id, &me, Duration::from_secs(12 * 3600)).await?;
    Ok((StatusCode::CREATED, Json(link)))
}
