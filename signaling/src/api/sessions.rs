//! Sessions: convening one (date, seat, convocation, agenda), its participants,
//! and changes allowed until it opens.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::body::Body;
use super::extract::Staff;
use crate::Shared;
use crate::auth::{Role, uuid_like};
use crate::clock::{now_ms, parse_rfc3339};
use crate::store::{AgendaItem, SessionParticipant, SessionRecord, SessionStatus, StaffRole};

/// Longest title, seat or agenda subject accepted.
const MAX_TEXT: usize = 2000;
/// Most agenda items in one session.
const MAX_ITEMS: usize = 200;

/// Sessions of the caller's municipality, newest first.
#[utoipa::path(get, path = "/api/sessions", security(("staff" = [])),
    responses((status = 200, body = Vec<SessionRecord>), (status = 401, body = super::error::ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
) -> Result<Json<Vec<SessionRecord>>, ApiError> {
    let mut all = Vec::new();
    for organ in shared.store.list_organs(&staff.0.ente).await? {
        all.extend(shared.store.list_sessions(Some(&organ.id)).await?);
    }
    all.sort_by(|a, b| b.scheduled_at.cmp(&a.scheduled_at));
    Ok(Json(all))
}

/// A session to convene.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// The organ (Giunta).
    pub organ_id: String,
    /// Title, e.g. "Giunta comunale — seduta del 12 marzo 2026".
    pub title: String,
    /// Date and time, RFC 3339.
    pub scheduled_at: String,
    /// Seat (sede): a place, or "dove si trova il Sindaco".
    pub seat: String,
    /// `prima` or `seconda` convocation.
    #[serde(default = "first_convocation")]
    pub convocation: String,
    /// The agenda.
    #[serde(default)]
    pub agenda: Vec<AgendaItem>,
}

fn first_convocation() -> String {
    "prima".to_owned()
}

/// A session with its agenda and participants.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetail {
    /// The record.
    pub session: SessionRecord,
    /// The agenda.
    pub agenda: Vec<AgendaItem>,
    /// Everyone invited.
    pub participants: Vec<SessionParticipant>,
}

/// Convenes a session: its participants are the members in office on its date and
/// the segretario who convenes it.
#[utoipa::path(post, path = "/api/sessions", request_body = NewSession, security(("staff" = [])),
    responses((status = 201, body = SessionDetail), (status = 400, body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)))]
pub async fn create(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Body(req): Body<NewSession>,
) -> Result<(StatusCode, Json<SessionDetail>), ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    staff.organ_of_mine(&shared, &req.organ_id).await?;
    let record = convene(&shared.store, &req, &staff.0.sub, &staff.0.name).await?;
    detail_of(&shared, record)
        .await
        .map(|d| (StatusCode::CREATED, d))
}

/// Convenes a session in `store` (API and command line alike): validates it, and
/// invites the members in office on its date and the segretario.
pub async fn convene(
    store: &crate::store::Store,
    req: &NewSession,
    segretario_id: &str,
    segretario_name: &str,
) -> Result<SessionRecord, ApiError> {
    let organ = store
        .organ(&req.organ_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organ"))?;
    let (title, seat) = (req.title.trim(), req.seat.trim());
    check_text("title", title)?;
    check_text("seat", seat)?;
    check_convocation(&req.convocation)?;
    check_agenda(&req.agenda)?;
    parse_rfc3339(&req.scheduled_at).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_date",
            "scheduled_at must be an RFC 3339 date and time",
        )
    })?;
    let date = req.scheduled_at.get(..10).unwrap_or_default().to_owned();
    let members = store.members_in_office(&organ.id, &date).await?;
    if !members.iter().any(|m| m.presiding) {
        return Err(ApiError::conflict(
            "no_presiding_member",
            "the organ has no presiding member in office on that date",
        ));
    }
    let id = format!("{}-{}-{}", organ.id, date, &uuid_like()[..6]);
    let record = SessionRecord {
        id: id.clone(),
        organ_id: organ.id.clone(),
        title: title.to_owned(),
        scheduled_at: req.scheduled_at.clone(),
        seat: seat.to_owned(),
        convocation: req.convocation.clone(),
        status: SessionStatus::Convened,
        created_by: segretario_id.to_owned(),
        created_at_ms: now_ms() as i64,
        opened_at_ms: None,
        closed_at_ms: None,
    };
    store.insert_session(&record).await?;
    store.set_agenda(&id, &req.agenda).await?;
    for m in &members {
        let role = if m.presiding {
            Role::Presiding
        } else {
            Role::Member
        };
        store
            .upsert_participant(&SessionParticipant {
                session_id: id.clone(),
                id: m.id.clone(),
                name: m.name.clone(),
                role,
                member_id: Some(m.id.clone()),
            })
            .await?;
    }
    store
        .upsert_participant(&SessionParticipant {
            session_id: id.clone(),
            id: segretario_id.to_owned(),
            name: segretario_name.to_owned(),
            role: Role::Segretario,
            member_id: None,
        })
        .await?;
    Ok(record)
}

/// One session with its agenda and participants.
#[utoipa::path(get, path = "/api/sessions/{id}", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = SessionDetail), (status = 404, body = super::error::ErrorBody)))]
pub async fn detail(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    let record = staff.session(&shared, &id).await?;
    detail_of(&shared, record).await
}

async fn detail_of(
    shared: &Shared,
    session: SessionRecord,
) -> Result<Json<SessionDetail>, ApiError> {
    let agenda = shared.store.agenda(&session.id).await?;
    let participants = shared.store.participants(&session.id).await?;
    Ok(Json(SessionDetail {
        session,
        agenda,
        participants,
    }))
}

/// Changes to a convened session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionChanges {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New date and time, RFC 3339.
    #[serde(default)]
    pub scheduled_at: Option<String>,
    /// New seat.
    #[serde(default)]
    pub seat: Option<String>,
    /// New convocation.
    #[serde(default)]
    pub convocation: Option<String>,
}

/// Changes title, date, seat or convocation while the session is convened.
#[utoipa::path(patch, path = "/api/sessions/{id}", request_body = SessionChanges, security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = SessionDetail), (status = 409, body = super::error::ErrorBody)))]
pub async fn update(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(req): Body<SessionChanges>,
) -> Result<Json<SessionDetail>, ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    let mut record = staff.session(&shared, &id).await?;
    if let Some(title) = req.title {
        check_text("title", title.trim())?;
        record.title = title.trim().to_owned();
    }
    if let Some(seat) = req.seat {
        check_text("seat", seat.trim())?;
        record.seat = seat.trim().to_owned();
    }
    if let Some(when) = req.scheduled_at {
        parse_rfc3339(&when).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_date",
                "scheduled_at must be an RFC 3339 date and time",
            )
        })?;
        record.scheduled_at = when;
    }
    if let Some(c) = req.convocation {
        check_convocation(&c)?;
        record.convocation = c;
    }
    shared.store.update_session(&record).await?;
    reload(&shared, &id);
    detail_of(&shared, record).await
}

/// Replaces the agenda while the session is convened.
#[utoipa::path(put, path = "/api/sessions/{id}/agenda", request_body = Vec<AgendaItem>, security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = SessionDetail), (status = 409, body = super::error::ErrorBody)))]
pub async fn set_agenda(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(items): Body<Vec<AgendaItem>>,
) -> Result<Json<SessionDetail>, ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    let record = staff.session(&shared, &id).await?;
    check_agenda(&items)?;
    shared.store.set_agenda(&id, &items).await?;
    reload(&shared, &id);
    detail_of(&shared, record).await
}

/// A person to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    /// Display name (for the chamber: e.g. "Sala della Giunta").
    pub name: String,
}

/// Invites a non-member (a dirigente, an official): attends, never counts or votes.
#[utoipa::path(post, path = "/api/sessions/{id}/guests", request_body = NewPerson, security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 201, body = SessionParticipant), (status = 409, body = super::error::ErrorBody)))]
pub async fn add_guest(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(req): Body<NewPerson>,
) -> Result<(StatusCode, Json<SessionParticipant>), ApiError> {
    let pid = format!("ospite-{}", &uuid_like()[..8]);
    add_person(&shared, &staff, &id, pid, &req.name, Role::Guest).await
}

/// Adds the chamber as one endpoint (its own invitation; web client in room mode
/// or a WHIP encoder). One per session.
#[utoipa::path(post, path = "/api/sessions/{id}/room", request_body = NewPerson, security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 201, body = SessionParticipant), (status = 409, body = super::error::ErrorBody)))]
pub async fn add_room(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Path(id): Path<String>,
    Body(req): Body<NewPerson>,
) -> Result<(StatusCode, Json<SessionParticipant>), ApiError> {
    add_person(
        &shared,
        &staff,
        &id,
        "aula".to_owned(),
        &req.name,
        Role::Room,
    )
    .await
}

async fn add_person(
    shared: &Arc<Shared>,
    staff: &Staff,
    session: &str,
    pid: String,
    name: &str,
    role: Role,
) -> Result<(StatusCode, Json<SessionParticipant>), ApiError> {
    staff.require(&[StaffRole::Segretario])?;
    staff.open_session(shared, session).await?;
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "a name (at most 200 characters) is required",
        ));
    }
    let person = SessionParticipant {
        session_id: session.to_owned(),
        id: pid,
        name: name.to_owned(),
        role,
        member_id: None,
    };
    shared.store.upsert_participant(&person).await?;
    reload(shared, session);
    Ok((StatusCode::CREATED, Json(person)))
}

fn reload(shared: &Arc<Shared>, session: &str) {
    crate::cluster::notify::send(shared, session, crate::cluster::notify::Notice::Reload);
}

fn check_text(field: &'static str, text: &str) -> Result<(), ApiError> {
    if text.is_empty() || text.len() > MAX_TEXT {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("{field} is required and may not exceed {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

fn check_convocation(c: &str) -> Result<(), ApiError> {
    if c == "prima" || c == "seconda" {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_request",
            "convocation must be prima or seconda",
        ))
    }
}

fn check_agenda(items: &[AgendaItem]) -> Result<(), ApiError> {
    if items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(
            "invalid_agenda",
            "too many agenda items",
        ));
    }
    let mut numbers = BTreeSet::new();
    for item in items {
        if item.number == 0 || !numbers.insert(item.number) {
            return Err(ApiError::bad_request(
                "invalid_agenda",
                "item numbers must be positive and unique",
            ));
        }
        check_text("subject", item.subject.trim())?;
    }
    Ok(())
}
