//! Retention of the working masters: `GET /api/sessions/{id}/retention` says what the
//! procedure would delete and whether it may; `POST /api/sessions/{id}/retention/delete`
//! with a stated reason deletes it (segretario or administrator).
//!
//! The preservation package is permanent: the procedure deletes only the working
//! masters of the recording folder (the per-track WebM/MKV files and their sidecars,
//! the live mix in Opus and FLAC and its sidecar), and only once (1) the session's
//! package has been delivered to every sink of its newest version, (2) the retention
//! period (`retention_years` after the close) has passed, and (3) the preservation copy
//! exists (its audio is the mix's FLAC, sample for sample). It keeps
//! `preservation.mp4`, `chapters.json`, `chapters.ttml` and `register.json`, and every
//! row of the database (attendance log, votes, package and delivery records). The
//! access log gets a `delete` entry with the reason and each file's name, size and
//! SHA-256 *before* anything is deleted; a failure on the way is logged too.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::super::ApiError;
use super::super::body::Body as JsonBody;
use super::super::extract::Staff;
use super::log_access;
use super::media::known_file_name;
use crate::Shared;
use crate::clock::now_ms;
use crate::preservation::session_folder;
use crate::store::{AccessAction, SessionRecord, SessionStatus, StaffRole};

/// Files the procedure never deletes.
const KEPT: &[&str] = &[
    "preservation.mp4",
    "chapters.json",
    "chapters.ttml",
    "register.json",
];

/// Shortest accepted reason, in characters.
const MIN_REASON: usize = 10;
/// Longest accepted reason.
const MAX_REASON: usize = 2000;

/// One deletion at a time on this server.
static DELETING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where a session stands for the retention procedure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionStatus {
    /// The setting: years after the close.
    pub retention_years: u32,
    /// When the session closed (ms since the Unix epoch, UTC).
    pub closed_at_ms: Option<i64>,
    /// When the retention period ends.
    pub period_ends_at_ms: Option<i64>,
    /// The newest package version sent to the delivery outbox.
    pub package_version: Option<i64>,
    /// Its sinks, and how many acknowledged it.
    pub sinks: u32,
    /// Delivered sinks.
    pub delivered: u32,
    /// When the last sink acknowledged it.
    pub delivered_at_ms: Option<i64>,
    /// Whether the deletion would be accepted now.
    pub deletable: bool,
    /// Why not: `session_not_closed`, `package_not_delivered`,
    /// `retention_period_running`, `preservation_copy_missing`, `nothing_to_delete`.
    pub refusal: Option<String>,
    /// The working masters the procedure would delete.
    pub working_masters: Vec<String>,
    /// The files it keeps.
    pub kept: Vec<String>,
}

/// A deletion request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionRequest {
    /// Why (10 to 2000 characters), kept in the access log.
    pub reason: String,
}

/// One deleted file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletedFile {
    /// Its name in the recording folder.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// What the procedure did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletionReport {
    /// The files deleted.
    pub deleted: Vec<DeletedFile>,
    /// The files kept.
    pub kept: Vec<String>,
    /// The access log entry's id.
    pub access_log_id: i64,
}

/// What the retention procedure would do with a session's recording (any staff role).
#[utoipa::path(get, path = "/api/sessions/{id}/retention", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = RetentionStatus), (status = 404, body = super::super::error::ErrorBody)))]
pub async fn status(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<RetentionStatus>, ApiError> {
    let session = staff.session(&shared, &id).await?;
    Ok(Json(assess(&shared, &session).await?.0))
}

/// Deletes the working masters of a session's recording, with a stated reason
/// (segretario or administrator); refused with a stable code before the delivery or
/// before the retention period ends.
#[utoipa::path(post, path = "/api/sessions/{id}/retention/delete", request_body = DeletionRequest,
    security(("staff" = [])), params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = DeletionReport), (status = 400, body = super::super::error::ErrorBody),
              (status = 403, body = super::super::error::ErrorBody), (status = 404, body = super::super::error::ErrorBody),
              (status = 409, body = super::super::error::ErrorBody)))]
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
    JsonBody(req): JsonBody<DeletionRequest>,
) -> Result<Json<DeletionReport>, ApiError> {
    let session = staff.session(&shared, &id).await?;
    staff.require(&[StaffRole::Segretario, StaffRole::Admin])?;
    let reason = req.reason.trim().to_owned();
    let chars = reason.chars().count();
    if !(MIN_REASON..=MAX_REASON).contains(&chars) {
        return Err(ApiError::bad_request(
            "reason_required",
            format!("state the reason for the deletion ({MIN_REASON} to {MAX_REASON} characters)"),
        ));
    }
    let _one_at_a_time = DELETING.lock().await;
    let (status, folder) = assess(&shared, &session).await?;
    if let Some(code) = status.refusal.as_deref() {
        return Err(refusal(code));
    }
    let Some(folder) = folder else {
        return Err(refusal("nothing_to_delete"));
    };
    let names = status.working_masters.clone();
    let hashed = {
        let folder = folder.clone();
        tokio::task::spawn_blocking(move || hash_all(&folder, &names))
            .await
            .map_err(|_| ApiError::internal("the files could not be read"))??
    };
    let detail = json!({
        "reason": reason,
        "retention_years": status.retention_years,
        "package_version": status.package_version,
        "delivered_at_ms": status.delivered_at_ms,
        "files": hashed,
        "kept": status.kept,
    });
    let access_log_id = log_access(
        &shared,
        &staff,
        &session.id,
        AccessAction::Delete,
        "working_masters",
        detail.to_string(),
    )
    .await?;
    let mut failed = Vec::new();
    for f in &hashed {
        match tokio::fs::remove_file(folder.join(&f.name)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => failed.push(f.name.clone()),
        }
    }
    if !failed.is_empty() {
        log_access(
            &shared,
            &staff,
            &session.id,
            AccessAction::Delete,
            "working_masters",
            json!({ "failed": failed, "of_entry": access_log_id }).to_string(),
        )
        .await?;
        return Err(ApiError::internal(format!(
            "{} file(s) could not be deleted; the access log says which",
            failed.len()
        )));
    }
    tracing::info!(session = %session.id, files = hashed.len(), "working masters deleted under the retention procedure");
    Ok(Json(DeletionReport {
        deleted: hashed,
        kept: status.kept,
        access_log_id,
    }))
}

fn refusal(code: &str) -> ApiError {
    let (code, message): (&'static str, &str) = match code {
        "session_not_closed" => ("session_not_closed", "the session is not closed"),
        "package_not_delivered" => (
            "package_not_delivered",
            "the session's package has not been delivered to every sink yet",
        ),
        "retention_period_running" => (
            "retention_period_running",
            "the retention period of the working masters has not ended",
        ),
        "preservation_copy_missing" => (
            "preservation_copy_missing",
            "the preservation copy is missing: the working masters are the only recording",
        ),
        _ => (
            "nothing_to_delete",
            "there are no working masters to delete",
        ),
    };
    ApiError::conflict(code, message)
}

/// The status, and the folder when there is one.
async fn assess(
    shared: &Shared,
    session: &SessionRecord,
) -> Result<(RetentionStatus, Option<PathBuf>), ApiError> {
    let years = shared.config.retention_years;
    let delivery = shared.store.delivery_state(&session.id).await?;
    let period_ms = i64::from(years) * 31_557_600_000;
    let period_ends_at_ms = session.closed_at_ms.map(|c| c.saturating_add(period_ms));
    let folder = shared
        .config
        .recordings_dir
        .as_deref()
        .and_then(|root| session_folder(root, &session.id));
    let (working_masters, kept) = match &folder {
        Some(dir) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || classify(&dir))
                .await
                .map_err(|_| ApiError::internal("the recording folder could not be read"))?
        }
        None => (Vec::new(), Vec::new()),
    };
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let refusal = if session.status != SessionStatus::Closed {
        Some("session_not_closed")
    } else if !delivery.complete() {
        Some("package_not_delivered")
    } else if period_ends_at_ms.is_none_or(|end| now < end) {
        Some("retention_period_running")
    } else if working_masters.is_empty() {
        Some("nothing_to_delete")
    } else if !kept.iter().any(|k| k == "preservation.mp4") {
        Some("preservation_copy_missing")
    } else {
        None
    };
    Ok((
        RetentionStatus {
            retention_years: years,
            closed_at_ms: session.closed_at_ms,
            period_ends_at_ms,
            package_version: delivery.version,
            sinks: delivery.sinks,
            delivered: delivery.delivered,
            delivered_at_ms: delivery.delivered_at_ms,
            deletable: refusal.is_none(),
            refusal: refusal.map(str::to_owned),
            working_masters,
            kept,
        },
        folder,
    ))
}

/// The folder's working masters and the files kept, by name. Working masters are
/// named positively: the tracks and the mix (`.webm`, `.mkv`, `.flac`) and the
/// sidecar `X.json` of such a file `X.*`; everything else (the copy, chapters, the
/// register, the preservation job's state and lock, files of other tools) is kept.
fn classify(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let regular = std::fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_file());
        if regular && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    let media = |n: &str| {
        known_file_name(n)
            && !KEPT.contains(&n)
            && [".webm", ".mkv", ".flac"].iter().any(|e| n.ends_with(e))
    };
    let stems: Vec<&str> = names
        .iter()
        .filter(|n| media(n))
        .filter_map(|n| n.rsplit_once('.').map(|(stem, _)| stem))
        .collect();
    let (masters, kept): (Vec<String>, Vec<String>) = names.iter().cloned().partition(|n| {
        media(n)
            || (!KEPT.contains(&n.as_str())
                && n.strip_suffix(".json")
                    .is_some_and(|stem| stems.contains(&stem)))
    });
    (masters, kept)
}

fn hash_all(dir: &Path, names: &[String]) -> Result<Vec<DeletedFile>, ApiError> {
    names
        .iter()
        .map(|name| {
            let unreadable = || ApiError::internal(format!("{name} could not be read"));
            let mut file = std::fs::File::open(dir.join(name)).map_err(|_| unreadable())?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf).map_err(|_| unreadable())?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                hasher.update(&buf[..n]);
            }
            Ok(DeletedFile {
                name: name.clone(),
                size,
                sha256: hex::encode(hasher.finalize()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_working_masters_are_deleted() {
        let dir = std::env::temp_dir().join(format!(
            "seduta-retention-{}-{}",
            std::process::id(),
            crate::auth::uuid_like()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let all = [
            "preservation.mp4",
            "chapters.json",
            "chapters.ttml",
            "register.json",
            "preservation.job.json",
            "preservation.job.lock",
            "notes.json",
            "mix.webm",
            "mix.json",
            "mix.flac",
            "mix-2.flac",
            "mix-2.json",
            "p1-microphone.webm",
            "p1-microphone.json",
            "p1-camera-2.mkv",
            "p1-camera-2.json",
            ".speakers.json",
        ];
        for name in all {
            std::fs::write(dir.join(name), name).expect("write");
        }
        let (masters, kept) = classify(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            masters,
            [
                "mix-2.flac",
                "mix-2.json",
                "mix.flac",
                "mix.json",
                "mix.webm",
                "p1-camera-2.json",
                "p1-camera-2.mkv",
                "p1-microphone.json",
                "p1-microphone.webm",
            ]
        );
        assert_eq!(
            kept,
            [
                "chapters.json",
                "chapters.ttml",
                "notes.json",
                "preservation.job.json",
                "preservation.job.lock",
                "preservation.mp4",
                "register.json",
            ]
        );
    }
}
