//! The clerk's archive of closed sessions: search (`GET /api/archive/sessions`), the
//! record page (`GET /api/archive/sessions/{id}`: attendance at the opening and per
//! item, votes by name, the recording and its chapters), media with HTTP Range
//! (`GET /api/sessions/{id}/media/{file}`, by staff token or a short-lived signed
//! media URL), the access log (`GET /api/access-log`) and the retention procedure
//! (`GET`/`POST /api/sessions/{id}/retention…`). Every view of a record page, every
//! playback and every download is entered in the access log; see `docs/archive-ui.md`.

pub mod access_log;
pub mod media;
pub mod record;
pub mod retention;
pub mod search;
pub mod speakers;

use super::ApiError;
use super::extract::Staff;
use crate::Shared;
use crate::clock::now_ms;
use crate::store::{AccessAction, AccessEntry, SessionRecord, SessionStatus, StaffRole};

/// Who may open a session's record and its media: the segretario and the clerks.
/// Administrators run accounts and settings; they do not watch private sessions.
pub const READERS: &[StaffRole] = &[StaffRole::Segretario, StaffRole::Clerk];

/// How long working masters are kept after the close, by default (years).
pub const DEFAULT_RETENTION_YEARS: u32 = 1;

/// Appends an entry to the access log and returns its id; a failure to log refuses
/// the access (an access that cannot be logged is not given).
pub(crate) async fn log_access(
    shared: &Shared,
    staff: &Staff,
    session: &str,
    action: AccessAction,
    object: &str,
    detail: String,
) -> Result<i64, ApiError> {
    let entry = AccessEntry {
        id: 0,
        at_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
        ente_id: staff.0.ente.clone(),
        session_id: Some(session.to_owned()),
        staff_id: staff.0.sub.clone(),
        staff_username: staff_username(shared, staff).await,
        action,
        object: object.to_owned(),
        detail,
    };
    Ok(shared.store.record_access(&entry).await?)
}

/// The account's user name now (the token carries the display name only).
async fn staff_username(shared: &Shared, staff: &Staff) -> String {
    match shared.store.staff(&staff.0.sub).await {
        Ok(Some(account)) => account.username,
        _ => staff.0.sub.clone(),
    }
}

/// A closed session of the caller's municipality, for a caller with one of `roles`.
pub(crate) async fn closed_session(
    shared: &Shared,
    staff: &Staff,
    id: &str,
    roles: &[StaffRole],
) -> Result<SessionRecord, ApiError> {
    let session = staff.session(shared, id).await?;
    staff.require(roles)?;
    if session.status != SessionStatus::Closed {
        return Err(ApiError::conflict(
            "session_not_closed",
            "the archive holds closed sessions only",
        ));
    }
    Ok(session)
}
