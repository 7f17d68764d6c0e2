//! The running meeting over REST: its state, actions (the same as over the
//! WebSocket), the attendance log and the votes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::oneshot;
use utoipa::IntoParams;

use super::ApiError;
use super::body::Body;
use super::extract::{Staff, actor, bearer};
use crate::Shared;
use crate::attendance::Entry;
use crate::protocol::{MeetingAction, MeetingView};
use crate::service::{ActionError, HubCommand};
use crate::store::VoteRecord;

fn hub_gone() -> ApiError {
    ApiError::from(ActionError {
        code: "internal",
        message: "the session service is not available".into(),
    })
}

/// The session's state as the participants see it.
#[utoipa::path(get, path = "/api/sessions/{id}/state", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = MeetingView), (status = 404, body = super::error::ErrorBody)))]
pub async fn state(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    staff.session(&shared, &id).await?;
    let (reply, answer) = oneshot::channel();
    shared
        .hub
        .send(HubCommand::View { session: id, reply })
        .map_err(|_| hub_gone())?;
    answer
        .await
        .map_err(|_| hub_gone())??
        .map(Json)
        .ok_or_else(|| ApiError::not_found("session"))
}

/// Takes a meeting action. The segretario authenticates with a staff token; a
/// member may act for themselves with their join token.
#[utoipa::path(post, path = "/api/sessions/{id}/actions", request_body = MeetingAction,
    security(("staff" = []), ("join" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = MeetingView),
              (status = 403, description = "forbidden", body = super::error::ErrorBody),
              (status = 409, description = "refused by the rules: no_quorum, already_voted, wrong_phase, …", body = super::error::ErrorBody)))]
pub async fn act(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(action): Body<MeetingAction>,
) -> Result<Json<MeetingView>, ApiError> {
    let who = actor(&shared, bearer(&headers), &id).await?;
    let (reply, answer) = oneshot::channel();
    shared
        .hub
        .send(HubCommand::Action {
            session: id,
            actor: who.id,
            role: who.role,
            action,
            reply,
        })
        .map_err(|_| hub_gone())?;
    Ok(Json(answer.await.map_err(|_| hub_gone())??))
}

/// Export format of the attendance log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogFormat {
    /// `json` (default) or `jsonl` (JSON Lines, the format `seduta verify` reads).
    #[serde(default)]
    pub format: Option<String>,
}

/// The hash-chained attendance log.
#[utoipa::path(get, path = "/api/sessions/{id}/attendance", security(("staff" = [])),
    params(("id" = String, Path, description = "session id"), LogFormat),
    responses((status = 200, body = Vec<Object>), (status = 404, body = super::error::ErrorBody)))]
pub async fn attendance(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(format): Query<LogFormat>,
) -> Result<Response, ApiError> {
    staff.session(&shared, &id).await?;
    let entries: Vec<Entry> = shared.store.log(&id).await?;
    match format.format.as_deref() {
        None | Some("json") => Ok(Json(entries).into_response()),
        Some("jsonl") => {
            let body: String = entries
                .iter()
                .filter_map(|e| serde_json::to_string(e).ok())
                .map(|l| l + "\n")
                .collect();
            Ok(([(CONTENT_TYPE, "application/jsonl")], body).into_response())
        }
        Some(_) => Err(ApiError::bad_request(
            "invalid_request",
            "format must be json or jsonl",
        )),
    }
}

/// The closed votes with their ballots and outcomes.
#[utoipa::path(get, path = "/api/sessions/{id}/votes", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = Vec<VoteRecord>), (status = 404, body = super::error::ErrorBody)))]
pub async fn votes(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<VoteRecord>>, ApiError> {
    staff.session(&shared, &id).await?;
    Ok(Json(shared.store.votes(&id).await?))
}
