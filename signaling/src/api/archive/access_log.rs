//! `GET /api/access-log`: who viewed, played, downloaded, signed or deleted what,
//! newest first, for the segretario and the administrator of the municipality.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::ApiError;
use super::super::extract::Staff;
use crate::Shared;
use crate::store::{AccessEntry, StaffRole};

/// Most entries one page returns.
const MAX_LIMIT: u32 = 500;

/// Which entries.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// One session's entries only.
    pub session: Option<String>,
    /// Entries before this id (the next page).
    pub before: Option<i64>,
    /// How many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// The access log of one's municipality (segretario and admin).
#[utoipa::path(get, path = "/api/access-log", security(("staff" = [])), params(AccessLogQuery),
    responses((status = 200, body = Vec<AccessEntry>), (status = 403, body = super::super::error::ErrorBody),
              (status = 404, body = super::super::error::ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Query(query): Query<AccessLogQuery>,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    staff.require(&[StaffRole::Segretario, StaffRole::Admin])?;
    let session = query.session.as_deref().filter(|s| !s.is_empty());
    if let Some(id) = session {
        // Another municipality's session is not found (no probing); a session
        // deleted entirely would still have its entries, so only refuse one that
        // exists elsewhere.
        if let Some(record) = shared.store.session(id).await? {
            staff.organ_of_mine(&shared, &record.organ_id).await?;
        }
    }
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let entries = shared
        .store
        .access_log(&staff.0.ente, session, query.before, limit)
        .await?;
    Ok(Json(entries))
}
