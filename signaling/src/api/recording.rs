//! `GET /api/sessions/{id}/recording`: what a session's recording folder holds and how
//! far its preservation copy has come (the job's state file is kept up to date by the
//! worker twice a second, so any replica can answer).

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use seduta_recordings::preserve::{self, JobStatus};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Staff;
use crate::Shared;
use crate::preservation::session_folder;

/// A session's recording as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingReport {
    /// Whether this server records sessions at all.
    pub enabled: bool,
    /// The files of the session's folder (working masters, sidecars, chapters, the
    /// preservation copy and its register), by name.
    pub files: Vec<RecordingFile>,
    /// The preservation job, once the session closed with a recording.
    pub preservation: Option<PreservationView>,
    /// `chapters.json` as written at close (agenda items, votes, suspensions on the
    /// recording's clock).
    #[schema(value_type = Option<Object>)]
    pub chapters: Option<serde_json::Value>,
}

/// One file of a recording folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingFile {
    /// The file's name in the folder.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The preservation job's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreservationView {
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// While running: `checking_sources`, `composing`, `verifying`, `finishing`.
    pub stage: Option<String>,
    /// The share of the job done, 0 to 1.
    pub progress: f64,
    /// How many attempts were started.
    pub attempts: u32,
    /// When it was queued (UTC).
    pub created: String,
    /// When the current or last attempt started.
    pub started: Option<String>,
    /// When it ended.
    pub finished: Option<String>,
    /// Why it failed: a stable code (`preserve.no_mix`, …) and a message.
    pub error_code: Option<String>,
    /// The failure's message.
    pub error_message: Option<String>,
}

impl From<JobStatus> for PreservationView {
    fn from(s: JobStatus) -> Self {
        let name = |v: serde_json::Value| v.as_str().map(str::to_owned);
        Self {
            state: name(serde_json::json!(s.state)).unwrap_or_default(),
            stage: s.stage.and_then(|st| name(serde_json::json!(st))),
            progress: s.progress,
            attempts: s.attempts,
            created: s.created,
            started: s.started,
            finished: s.finished,
            error_code: s.error.as_ref().map(|e| e.code.clone()),
            error_message: s.error.map(|e| e.message),
        }
    }
}

/// The session's recording folder and its preservation job.
#[utoipa::path(get, path = "/api/sessions/{id}/recording", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = RecordingReport), (status = 404, body = super::error::ErrorBody)))]
pub async fn report(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<RecordingReport>, ApiError> {
    staff.session(&shared, &id).await?;
    let Some(dir) = shared
        .config
        .recordings_dir
        .as_deref()
        .and_then(|root| session_folder(root, &id))
    else {
        return Ok(Json(RecordingReport {
            enabled: shared.config.recordings_dir.is_some(),
            files: Vec::new(),
            preservation: None,
            chapters: None,
        }));
    };
    let report = tokio::task::spawn_blocking(move || read_folder(&dir))
        .await
        .map_err(|_| ApiError::internal("the recording folder could not be read"))??;
    Ok(Json(report))
}

fn read_folder(dir: &Path) -> Result<RecordingReport, ApiError> {
    let mut files = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.filter_map(|e| e.ok()) {
                let Ok(meta) = entry.metadata() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                // Scratch and state files of the job are not part of the record.
                if meta.is_file() && !name.starts_with('.') {
                    files.push(RecordingFile {
                        name,
                        size: meta.len(),
                    });
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return Err(ApiError::internal("the recording folder could not be read")),
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let preservation = preserve::status(dir)
        .map_err(|_| ApiError::internal("the preservation job's state could not be read"))?
        .map(PreservationView::from);
    let chapters = std::fs::read(dir.join("chapters.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Ok(RecordingReport {
        enabled: true,
        files,
        preservation,
        chapters,
    })
}
