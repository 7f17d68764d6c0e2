//! The organ (Giunta) of the caller's municipality, its members with their terms
//! of office, and its settings.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::body::Body;
use super::extract::Staff;
use crate::Shared;
use crate::auth::uuid_like;
use crate::meeting::OrganSettings;
use crate::store::{Member, Organ, StaffRole};

/// The organs of the caller's municipality.
#[utoipa::path(get, path = "/api/organs", security(("staff" = [])),
    responses((status = 200, body = Vec<Organ>), (status = 401, body = super::error::ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
) -> Result<Json<Vec<Organ>>, ApiError> {
    Ok(Json(shared.store.list_organs(&staff.0.ente).await?))
}

/// Every member the organ has had, with their terms.
#[utoipa::path(get, path = "/api/organs/{id}/members", security(("staff" = [])),
    params(("id" = String, Path, description = "organ id")),
    responses((status = 200, body = Vec<Member>), (status = 404, body = super::error::ErrorBody)))]
pub async fn members(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    staff.organ_of_mine(&shared, &id).await?;
    Ok(Json(shared.store.members(&id).await?))
}

/// A new member (an assessore appointed, or the Sindaco).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Full name.
    pub name: String,
    /// Office (e.g. "Assessore al bilancio").
    pub office: String,
    /// Whether they preside (the Sindaco).
    #[serde(default)]
    pub presiding: bool,
    /// First day in office, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day in office, `YYYY-MM-DD`, if known.
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// Adds a member to the organ (administrator or segretario).
#[utoipa::path(post, path = "/api/organs/{id}/members", request_body = NewMember, security(("staff" = [])),
    params(("id" = String, Path, description = "organ id")),
    responses((status = 201, body = Member), (status = 400, body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)))]
pub async fn add_member(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(req): Body<NewMember>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    staff.require(&[StaffRole::Admin, StaffRole::Segretario])?;
    staff.organ_of_mine(&shared, &id).await?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 200 || req.office.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "a name (at most 200 characters) is required",
        ));
    }
    check_date(&req.valid_from)?;
    if let Some(to) = &req.valid_to {
        check_date(to)?;
        if to.as_str() < req.valid_from.as_str() {
            return Err(ApiError::bad_request(
                "invalid_request",
                "valid_to is before valid_from",
            ));
        }
    }
    let member = Member {
        id: uuid_like(),
        organ_id: id,
        name: name.to_owned(),
        office: req.office.trim().to_owned(),
        presiding: req.presiding,
        valid_from: req.valid_from,
        valid_to: req.valid_to,
    };
    shared.store.insert_member(&member).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// The end of a term of office.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndMembership {
    /// Last day in office, `YYYY-MM-DD`.
    pub valid_to: String,
}

/// Ends a member's term (resignation, revocation).
#[utoipa::path(post, path = "/api/members/{id}/end", request_body = EndMembership, security(("staff" = [])),
    params(("id" = String, Path, description = "member id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn end_membership(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(req): Body<EndMembership>,
) -> Result<StatusCode, ApiError> {
    staff.require(&[StaffRole::Admin, StaffRole::Segretario])?;
    check_date(&req.valid_to)?;
    let mut mine = false;
    for organ in shared.store.list_organs(&staff.0.ente).await? {
        mine |= shared
            .store
            .members(&organ.id)
            .await?
            .iter()
            .any(|m| m.id == id);
    }
    if !mine {
        return Err(ApiError::not_found("member"));
    }
    shared.store.end_membership(&id, &req.valid_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the organ's settings (administrators only).
#[utoipa::path(put, path = "/api/organs/{id}/settings", security(("staff" = [])),
    request_body(content = Object, description = "OrganSettings: rules, presence, camera_required_to_vote, …"),
    params(("id" = String, Path, description = "organ id")),
    responses((status = 204), (status = 403, body = super::error::ErrorBody)))]
pub async fn set_settings(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(settings): Body<OrganSettings>,
) -> Result<StatusCode, ApiError> {
    staff.require(&[StaffRole::Admin])?;
    staff.organ_of_mine(&shared, &id).await?;
    shared.store.update_organ_settings(&id, &settings).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses anything but a real `YYYY-MM-DD` date.
pub fn check_date(text: &str) -> Result<(), ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).map(|_| ()).map_err(|_| {
        ApiError::bad_request("invalid_date", format!("not a YYYY-MM-DD date: {text:?}"))
    })
}
