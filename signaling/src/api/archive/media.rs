//! The recording folder's files over HTTP, with byte ranges: `GET
//! /api/sessions/{id}/media/{file}`, for the segretario and the clerks.
//!
//! A `<video>` element cannot send an `Authorization` header, so the player first asks
//! `POST /api/sessions/{id}/media-token` for a short-lived signed URL bound to one
//! staff account, one session, one file and one purpose (`play` or `download`). The
//! access log gets one `play` (or `download`) entry for that call, not one per range
//! request of the playback. A request with the staff token itself (`Authorization:
//! Bearer`, for scripts) is logged on every request, with its range.
//!
//! Ranges (RFC 9110): one `bytes=a-b`, `bytes=a-` or `bytes=-n` range → 206 with
//! `Content-Range`; no `Range` (or another unit) → 200 with the whole file; a range
//! past the end, a malformed one or several ranges at once → 416 with
//! `Content-Range: bytes */<size>` and the code `range_not_satisfiable`.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use utoipa::{IntoParams, ToSchema};

use super::super::ApiError;
use super::super::body::Body as JsonBody;
use super::super::extract::{Staff, bearer, check_staff};
use super::{READERS, closed_session, log_access};
use crate::Shared;
use crate::clock::{now_ms, rfc3339};
use crate::preservation::session_folder;
use crate::store::{AccessAction, SessionStatus};

/// The `aud` of media URL tokens (never accepted as a staff token, nor the reverse).
pub const MEDIA_AUDIENCE: &str = "seduta-media";
/// How long a download URL works.
const DOWNLOAD_TTL_SECS: u64 = 20 * 60;
/// A playback URL works this long plus the recording's length (capped below), so
/// that one viewing does not outlive its URL.
const PLAY_MARGIN_SECS: u64 = 20 * 60;
/// The longest a playback URL works.
const PLAY_MAX_SECS: u64 = 12 * 3600;
/// The length assumed when the chapters do not say it.
const PLAY_UNKNOWN_LENGTH_SECS: u64 = 3 * 3600;
/// Bytes read from the file per chunk of the answer.
const CHUNK: usize = 64 * 1024;

/// What a media URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaPurpose {
    /// Played in the page (`Content-Disposition: inline`); logged as `play`.
    Play,
    /// Saved (`attachment`); logged as `download`.
    Download,
}

/// A request for a media URL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaTokenRequest {
    /// A file of the session's recording folder (`preservation.mp4`, `mix.flac`, …).
    pub file: String,
    /// `play` or `download`.
    pub purpose: MediaPurpose,
}

/// A signed media URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaLink {
    /// The path to request (`/api/sessions/{id}/media/{file}?token=…`), relative to
    /// the server.
    pub url: String,
    /// The token alone.
    pub token: String,
    /// When it stops working (RFC 3339 UTC).
    pub expires_at: String,
}

/// The claims of a media URL token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MediaClaims {
    /// The staff account.
    sub: String,
    /// Its municipality.
    ente: String,
    /// The session.
    session: String,
    /// The file.
    file: String,
    /// What for.
    purpose: MediaPurpose,
    /// The staff token it was minted with (a logout stops the URL too).
    sjti: String,
    /// That token's issue time in ms (a password change stops the URL too).
    siat_ms: u64,
    /// Issued at, seconds.
    iat: u64,
    /// Expiry, seconds.
    exp: u64,
    /// Always [`MEDIA_AUDIENCE`].
    aud: String,
}

/// The `?token=` of a media request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// A media URL token from `POST /api/sessions/{id}/media-token`.
    pub token: Option<String>,
}

/// Mints a signed URL for one file (segretario and clerks); the access log gets a
/// `play` or `download` entry now.
#[utoipa::path(post, path = "/api/sessions/{id}/media-token", request_body = MediaTokenRequest,
    security(("staff" = [])), params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = MediaLink), (status = 400, body = super::super::error::ErrorBody),
              (status = 403, body = super::super::error::ErrorBody), (status = 404, body = super::super::error::ErrorBody),
              (status = 409, body = super::super::error::ErrorBody)))]
pub async fn mint(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
    JsonBody(req): JsonBody<MediaTokenRequest>,
) -> Result<Json<MediaLink>, ApiError> {
    closed_session(&shared, &staff, &id, READERS).await?;
    let (path, _size) = locate(&shared, &id, &req.file).await?;
    let now = now_ms() / 1000;
    let ttl = match req.purpose {
        MediaPurpose::Download => DOWNLOAD_TTL_SECS,
        MediaPurpose::Play => {
            let length = recording_seconds(path.parent()).await;
            (PLAY_MARGIN_SECS + length.unwrap_or(PLAY_UNKNOWN_LENGTH_SECS)).min(PLAY_MAX_SECS)
        }
    };
    let claims = MediaClaims {
        sub: staff.0.sub.clone(),
        ente: staff.0.ente.clone(),
        session: id.clone(),
        file: req.file.clone(),
        purpose: req.purpose,
        sjti: staff.0.jti.clone(),
        siat_ms: staff.0.iat_ms,
        iat: now,
        exp: now + ttl,
        aud: MEDIA_AUDIENCE.to_owned(),
    };
    let token = shared
        .staff_tokens
        .sign_claims(&claims)
        .map_err(|_| ApiError::internal("the media URL could not be signed"))?;
    let action = match req.purpose {
        MediaPurpose::Play => AccessAction::Play,
        MediaPurpose::Download => AccessAction::Download,
    };
    log_access(&shared, &staff, &id, action, &req.file, String::new()).await?;
    Ok(Json(MediaLink {
        url: format!("/api/sessions/{}/media/{}?token={token}", id, req.file),
        expires_at: rfc3339((now + ttl) * 1000),
        token,
    }))
}

/// The length of the recording from `chapters.json`, in whole seconds.
async fn recording_seconds(folder: Option<&std::path::Path>) -> Option<u64> {
    let bytes = tokio::fs::read(folder?.join("chapters.json")).await.ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("duration_ms")?.as_u64().map(|ms| ms.div_ceil(1000))
}

/// One file of a closed session's recording, whole or a byte range.
#[utoipa::path(get, path = "/api/sessions/{id}/media/{file}", security(("staff" = [])),
    params(("id" = String, Path, description = "session id"), ("file" = String, Path, description = "file name"), MediaQuery,
           ("Range" = Option<String>, Header, description = "one byte range, `bytes=a-b`")),
    responses((status = 200, description = "the whole file"), (status = 206, description = "the range"),
              (status = 400, body = super::super::error::ErrorBody), (status = 401, body = super::super::error::ErrorBody),
              (status = 403, body = super::super::error::ErrorBody), (status = 404, body = super::super::error::ErrorBody),
              (status = 416, body = super::super::error::ErrorBody)))]
pub async fn serve(
    State(shared): State<Arc<Shared>>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    Query(query): Query<MediaQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = headers.get(RANGE).and_then(|v| v.to_str().ok());
    let purpose = if let Some(token) = bearer(&headers) {
        let staff = Staff(check_staff(&shared, token).await?);
        closed_session(&shared, &staff, &id, READERS).await?;
        let (_, size) = locate(&shared, &id, &file).await?;
        let detail = match range {
            Some(r) => format!("{r} of {size} (staff token)"),
            None => format!("whole file, {size} bytes (staff token)"),
        };
        log_access(&shared, &staff, &id, AccessAction::Download, &file, detail).await?;
        MediaPurpose::Download
    } else if let Some(token) = query.token.as_deref() {
        check_media_token(&shared, token, &id, &file).await?
    } else {
        return Err(ApiError::unauthorized(
            "token_missing",
            "a staff token or a media URL token is required",
        ));
    };
    let (path, size) = locate(&shared, &id, &file).await?;
    let (status, start, len) = match parse_range(range, size) {
        RangeRequest::Whole => (StatusCode::OK, 0, size),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("one byte range within the file's {size} bytes is served"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(CONTENT_RANGE, v);
            }
            response
                .headers_mut()
                .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Ok(response);
        }
    };
    let mut handle = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("file"))?;
    if start > 0 {
        handle
            .seek(SeekFrom::Start(start))
            .await
            .map_err(|_| ApiError::internal("the file could not be read"))?;
    }
    let stream = futures_util::stream::unfold((handle, len), |(mut f, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let mut buf = vec![0u8; want];
        match f.read(&mut buf).await {
            Ok(0) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than it was",
                )),
                (f, 0),
            )),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (f, left - n as u64)))
            }
            Err(e) => Some((Err(e), (f, 0))),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(CONTENT_RANGE, v);
    }
    let disposition = match purpose {
        MediaPurpose::Play => "inline".to_owned(),
        // The name was checked: ASCII letters, digits, '-', '_', '.'.
        MediaPurpose::Download => format!("attachment; filename=\"{id}-{file}\""),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Checks a media URL token for this session and file, and that the account that
/// minted it may still read it (not logged out, password unchanged, still enabled,
/// still a segretario or clerk of the session's municipality).
async fn check_media_token(
    shared: &Shared,
    token: &str,
    session: &str,
    file: &str,
) -> Result<MediaPurpose, ApiError> {
    let claims: MediaClaims = shared
        .staff_tokens
        .verify_claims(token, MEDIA_AUDIENCE)
        .map_err(|e| ApiError::unauthorized(e.code(), "the media URL is not valid"))?;
    if claims.session != session || claims.file != file {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "media_token_mismatch",
            "this media URL was made for another file",
        ));
    }
    if shared.store.staff_token_revoked(&claims.sjti).await? {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the login this media URL was made with has ended",
        ));
    }
    let account = shared
        .store
        .staff(&claims.sub)
        .await?
        .ok_or_else(|| ApiError::unauthorized("token_invalid", "unknown account"))?;
    let issued = i64::try_from(claims.siat_ms).unwrap_or(i64::MAX);
    if account.disabled || issued <= account.password_changed_at_ms {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the account changed since this media URL was made",
        ));
    }
    if account.ente_id != claims.ente || !READERS.contains(&account.role) {
        return Err(ApiError::forbidden(
            "the account may no longer read recordings",
        ));
    }
    let record = shared
        .store
        .session(session)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    match shared.store.organ(&record.organ_id).await? {
        Some(organ) if organ.ente_id == claims.ente => {}
        _ => return Err(ApiError::not_found("session")),
    }
    if record.status != SessionStatus::Closed {
        return Err(ApiError::conflict(
            "session_not_closed",
            "the archive holds closed sessions only",
        ));
    }
    Ok(claims.purpose)
}

/// The path and size of a known file of the session's folder: 400
/// `invalid_file_name` for a name that is not one (a path, `..`, a hidden or unknown
/// kind of file), 404 when there is no such regular file (symbolic links are not
/// followed).
pub(crate) async fn locate(
    shared: &Shared,
    session: &str,
    file: &str,
) -> Result<(PathBuf, u64), ApiError> {
    if !known_file_name(file) {
        return Err(ApiError::bad_request(
            "invalid_file_name",
            "not a file name of a recording folder",
        ));
    }
    let folder = shared
        .config
        .recordings_dir
        .as_deref()
        .and_then(|root| session_folder(root, session))
        .ok_or_else(|| ApiError::not_found("file"))?;
    let path = folder.join(file);
    match tokio::fs::symlink_metadata(&path).await {
        Ok(meta) if meta.is_file() => Ok((path, meta.len())),
        _ => Err(ApiError::not_found("file")),
    }
}

/// Whether `name` can be a file of a recording folder: 1–128 ASCII letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit, no `..`, and one of the
/// recording's extensions.
pub fn known_file_name(name: &str) -> bool {
    const EXTENSIONS: &[&str] = &[".mp4", ".flac", ".webm", ".mkv", ".json", ".ttml"];
    !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..")
        && EXTENSIONS.iter().any(|e| name.ends_with(e))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("flac") => "audio/flac",
        Some("webm") => "video/webm",
        Some("mkv") => "video/x-matroska",
        Some("json") => "application/json",
        Some("ttml") => "application/ttml+xml",
        _ => "application/octet-stream",
    }
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range (or a unit other than bytes): the whole file, 200.
    Whole,
    /// Bytes `start..=end`, 206.
    Part {
        /// First byte.
        start: u64,
        /// Last byte, included.
        end: u64,
    },
    /// Past the end, malformed, or several ranges: 416.
    Unsatisfiable,
}

/// Parses a `Range` header against a file of `size` bytes.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(header) = header else {
        return RangeRequest::Whole;
    };
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("bytes="))
        .map(|_| header[6..].trim())
    else {
        // Another unit: ignored (RFC 9110 §14.2).
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Unsatisfiable;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeRequest::Unsatisfiable;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if size == 0 {
        return RangeRequest::Unsatisfiable;
    }
    match (a.trim().is_empty(), number(a), number(b)) {
        // bytes=-n: the last n bytes.
        (true, _, Some(n)) if n > 0 => RangeRequest::Part {
            start: size.saturating_sub(n),
            end: size - 1,
        },
        // bytes=a-
        (false, Some(start), None) if b.trim().is_empty() && start < size => RangeRequest::Part {
            start,
            end: size - 1,
        },
        // bytes=a-b
        (false, Some(start), Some(end)) if start <= end && start < size => RangeRequest::Part {
            start,
            end: end.min(size - 1),
        },
        _ => RangeRequest::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        let p = |s, e| Part { start: s, end: e };
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("items=0-5"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), p(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), p(90, 99));
        assert_eq!(parse_range(Some("bytes=90-200"), 100), p(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), p(90, 99));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), p(0, 99));
        assert_eq!(parse_range(Some("Bytes=0-0"), 100), p(0, 0));
        for bad in [
            "bytes=100-",
            "bytes=100-200",
            "bytes=5-1",
            "bytes=-0",
            "bytes=abc",
            "bytes=",
            "bytes=-",
            "bytes=0-1,5-6",
            "bytes=+1-2",
            "bytes=1-x",
        ] {
            assert_eq!(parse_range(Some(bad), 100), Unsatisfiable, "{bad}");
        }
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
    }

    #[test]
    fn file_names() {
        for good in [
            "preservation.mp4",
            "mix.flac",
            "mix-2.flac",
            "assessore-1-camera.webm",
            "p1-camera-2.mkv",
            "chapters.json",
            "chapters.ttml",
            "register.json",
        ] {
            assert!(known_file_name(good), "{good}");
        }
        for bad in [
            "",
            "../seduta.db",
            "..",
            "a/b.mp4",
            "a\\b.mp4",
            ".preservation.job.json",
            "seduta.db",
            "x..mp4",
            "%2e%2e.mp4",
            "video.mp4 ",
            "vidéo.mp4",
        ] {
            assert!(!known_file_name(bad), "{bad}");
        }
    }
}
