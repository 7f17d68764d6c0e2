//! The session package over REST: its versions, what is to be signed and the
//! signatures received, delivery per sink (`GET /api/sessions/{id}/package`); the
//! upload of a detached signature (`POST /api/sessions/{id}/signatures?file=…&role=…`,
//! entered in the access log as `sign`, refused ones too); the zip of a version,
//! streamed (`GET /api/sessions/{id}/package/v{n}.zip`, entered as `download`).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Staff;
use crate::Shared;
use crate::clock::{now_ms, rfc3339};
use crate::package::{DeliverWhen, Delivery, Packages, SignatureView, SignerRole, UploadError};
use crate::store::{AccessAction, AccessEntry, SessionStatus, StaffRole};

/// Who may sign for, download and deliver a package: the segretario and the clerks.
const KEEPERS: &[StaffRole] = &[StaffRole::Segretario, StaffRole::Clerk];

/// A session's package as staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageReport {
    /// Whether this server builds packages at all.
    pub enabled: bool,
    /// The versions built, oldest first (version 1 after the preservation copy;
    /// the next with the signatures once all are in).
    pub versions: Vec<VersionView>,
    /// What is to be signed, by whom, and whether each signature is in.
    pub to_sign: Vec<ToSignView>,
    /// The signatures received and accepted.
    pub signatures: Vec<SignatureView>,
    /// Whether every requested signature is in.
    pub complete: bool,
    /// The configured delivery.
    pub delivery: DeliverySettings,
}

/// One version of the package.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    /// The version, from 1.
    pub version: u32,
    /// When it was built (Italian local time).
    pub built_at: String,
    /// The zip's name.
    pub zip: String,
    /// The zip's SHA-256.
    pub sha256: String,
    /// The zip's size in bytes.
    pub size: u64,
    /// Where to download it.
    pub download: String,
    /// `done`, `failed` (then without the MP4, and the package says why) or `none`.
    pub preservation: String,
    /// Why the preservation copy failed.
    pub preservation_error: Option<String>,
    /// The signature files it carries.
    pub signatures: Vec<String>,
    /// Its delivery to each sink.
    pub deliveries: Vec<DeliveryView>,
}

/// A file to be signed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToSignView {
    /// The file's path in the package.
    pub file: String,
    /// Its SHA-256 (what each signature's message digest must equal).
    pub sha256: String,
    /// `CAdES detached (.p7s)`.
    pub form: String,
    /// Who signs it.
    pub signers: Vec<ToSignSigner>,
}

/// One expected signer of a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToSignSigner {
    /// `presidente` or `segretario` (upload with `role=presiding` or `segretario`).
    pub role: String,
    /// The participant expected to sign.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// The signature's name in the package.
    pub signature_file: String,
    /// Whether it is in.
    pub received: bool,
}

/// One delivery of a version to a sink.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The sink's name.
    pub sink: String,
    /// `pending`, `in_flight`, `delivered` or `dead`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The last failure's stable code.
    pub last_error_code: Option<String>,
    /// The last failure, with the receiver's message.
    pub last_error: Option<String>,
    /// The sink's answer on success.
    pub receipt: Option<String>,
    /// When it was delivered (UTC).
    pub delivered_at: Option<String>,
    /// When the next attempt is due, while pending (UTC).
    pub next_attempt_at: Option<String>,
}

/// The delivery settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliverySettings {
    /// The configured sinks; none: packages are not delivered.
    pub sinks: Vec<String>,
    /// `after_signatures` (the default) or `at_once`.
    pub when: String,
}

fn delivery_view(d: &Delivery) -> DeliveryView {
    let time = |ms: Option<i64>| ms.and_then(|m| u64::try_from(m).ok()).map(rfc3339);
    DeliveryView {
        sink: d.sink.clone(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_error_code: d.last_error_code.clone(),
        last_error: d.last_error.clone(),
        receipt: d.receipt.clone(),
        delivered_at: time(d.delivered_at_ms),
        next_attempt_at: if d.state == crate::package::DeliveryState::Pending {
            time(Some(d.next_attempt_at_ms))
        } else {
            None
        },
    }
}

fn packages(shared: &Shared) -> Result<Packages, ApiError> {
    shared.config.packages.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "packages_disabled",
            "this server does not build session packages",
        )
    })
}

/// Appends to the access log; an access that cannot be logged is refused.
async fn log_access(
    shared: &Shared,
    staff: &Staff,
    session: &str,
    action: AccessAction,
    object: &str,
    detail: String,
) -> Result<(), ApiError> {
    let username = match shared.store.staff(&staff.0.sub).await {
        Ok(Some(account)) => account.username,
        _ => staff.0.sub.clone(),
    };
    shared
        .store
        .record_access(&AccessEntry {
            id: 0,
            at_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
            ente_id: staff.0.ente.clone(),
            session_id: Some(session.to_owned()),
            staff_id: staff.0.sub.clone(),
            staff_username: username,
            action,
            object: object.to_owned(),
            detail,
        })
        .await?;
    Ok(())
}

/// The session's package: versions, what is to be signed, signatures, delivery.
#[utoipa::path(get, path = "/api/sessions/{id}/package", security(("staff" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 200, body = PackageReport), (status = 404, body = super::error::ErrorBody)))]
pub async fn report(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<PackageReport>, ApiError> {
    staff.session(&shared, &id).await?;
    let Some(packages) = shared.config.packages.clone() else {
        return Ok(Json(PackageReport {
            enabled: false,
            versions: Vec::new(),
            to_sign: Vec::new(),
            signatures: Vec::new(),
            complete: false,
            delivery: DeliverySettings {
                sinks: Vec::new(),
                when: "after_signatures".into(),
            },
        }));
    };
    let (versions, signatures, missing) = {
        let (packages, id) = (packages.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            (
                packages.versions(&id),
                packages.signatures(&id),
                packages.missing_signatures(&id),
            )
        })
        .await
        .map_err(|_| ApiError::internal("the package could not be read"))?
    };
    let deliveries = match packages.outbox() {
        Some(outbox) => outbox.for_session(&id).await.map_err(|e| {
            tracing::warn!(code = e.code(), "the outbox could not be read");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage",
                "the delivery outbox is not available",
            )
        })?,
        None => Vec::new(),
    };
    let missing = missing.unwrap_or_default();
    let to_sign = versions
        .first()
        .map(|v| {
            v.to_sign
                .iter()
                .map(|r| ToSignView {
                    file: r.file.clone(),
                    sha256: r.sha256.clone(),
                    form: r.form.clone(),
                    signers: r
                        .signers
                        .iter()
                        .map(|s| ToSignSigner {
                            role: s.role.clone(),
                            participant: s.participant.clone(),
                            name: s.name.clone(),
                            signature_file: s.signature_file.clone(),
                            received: !missing.contains(&s.signature_file),
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let versions = versions
        .into_iter()
        .map(|v| VersionView {
            download: format!("/api/sessions/{id}/package/v{}.zip", v.version),
            deliveries: deliveries
                .iter()
                .filter(|d| d.package.version == v.version)
                .map(delivery_view)
                .collect(),
            version: v.version,
            built_at: v.built_at,
            zip: v.zip,
            sha256: v.zip_sha256,
            size: v.zip_size,
            preservation: v.preservation,
            preservation_error: v.preservation_error,
            signatures: v.signatures,
        })
        .collect::<Vec<_>>();
    let complete = !to_sign.is_empty() && missing.is_empty();
    Ok(Json(PackageReport {
        enabled: true,
        versions,
        to_sign,
        signatures,
        complete,
        delivery: DeliverySettings {
            sinks: packages
                .outbox()
                .map(|o| o.sink_names().map(str::to_owned).collect())
                .unwrap_or_default(),
            when: match packages.config().deliver {
                DeliverWhen::AfterSignatures => "after_signatures".into(),
                DeliverWhen::AtOnce => "at_once".into(),
            },
        },
    }))
}

/// The query of a signature upload.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct SignatureQuery {
    /// The signed file's path in the package (`verbale/bozza-verbale.pdf`).
    pub file: String,
    /// `presiding` (or `presidente`) or `segretario`.
    pub role: String,
}

/// An accepted signature and what is still missing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadAnswer {
    /// The signature as verified and stored.
    pub signature: SignatureView,
    /// Signature files still missing; when none, the signed version is being built.
    pub missing: Vec<String>,
}

/// Uploads a detached CAdES signature (`.p7s`, DER or PEM, as the raw body) of a
/// file of the package. It is checked against the file; a refusal changes nothing.
/// Each attempt is entered in the access log (`sign`), refusals with their code.
#[utoipa::path(post, path = "/api/sessions/{id}/signatures", security(("staff" = [])),
    params(("id" = String, Path, description = "session id"), SignatureQuery),
    request_body(content = Vec<u8>, content_type = "application/pkcs7-signature"),
    responses((status = 201, body = UploadAnswer),
        (status = 422, description = "not a valid signature of the file (code: signature_digest_mismatch, signature_not_cms, signature_corrupt, …)", body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody)))]
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<SignatureQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    let session = staff.session(&shared, &id).await?;
    staff.require(KEEPERS)?;
    if session.status != SessionStatus::Closed {
        return Err(ApiError::conflict(
            "session_not_closed",
            "signatures are collected after the close",
        ));
    }
    let packages = packages(&shared)?;
    let Some(role) = SignerRole::parse(&query.role) else {
        return Err(ApiError::bad_request(
            "bad_role",
            "role must be `presiding` or `segretario`",
        ));
    };
    let object = format!("{}.{}.p7s", query.file, role.package_name());
    let result = {
        let (packages, id, file, by) = (
            packages.clone(),
            id.clone(),
            query.file.clone(),
            staff.0.sub.clone(),
        );
        tokio::task::spawn_blocking(move || packages.upload_signature(&id, &file, role, &body, &by))
            .await
            .map_err(|_| ApiError::internal("the signature could not be checked"))?
    };
    match result {
        Ok(signature) => {
            log_access(
                &shared,
                &staff,
                &id,
                AccessAction::Sign,
                &object,
                format!("accepted ({})", role.package_name()),
            )
            .await?;
            let missing = {
                let (packages, id) = (packages.clone(), id.clone());
                tokio::task::spawn_blocking(move || packages.missing_signatures(&id))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            };
            Ok((
                StatusCode::CREATED,
                Json(UploadAnswer { signature, missing }),
            ))
        }
        Err(e) => {
            log_access(
                &shared,
                &staff,
                &id,
                AccessAction::Sign,
                &object,
                format!("refused: {}", e.code()),
            )
            .await?;
            Err(upload_error(e))
        }
    }
}

fn upload_error(e: UploadError) -> ApiError {
    let status = match &e {
        UploadError::NotReady | UploadError::Exists { .. } => StatusCode::CONFLICT,
        UploadError::NotSignable(_) | UploadError::NoSuchSigner(_) | UploadError::Refused(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        UploadError::Build(b) => {
            tracing::warn!(code = b.code(), "a signature could not be stored");
            return ApiError::internal("the signature could not be stored; nothing was changed");
        }
    };
    let message = match &e {
        UploadError::Refused(inner) => format!("signature refused: {inner}"),
        other => other.to_string(),
    };
    ApiError::new(status, e.code(), message)
}

/// Streams the zip of one version of the package (`v1.zip`, `v2.zip`…); entered in
/// the access log as `download`.
#[utoipa::path(get, path = "/api/sessions/{id}/package/{file}", security(("staff" = [])),
    params(("id" = String, Path, description = "session id"),
        ("file" = String, Path, description = "`v<n>.zip`")),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 404, body = super::error::ErrorBody)))]
pub async fn download(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    staff.session(&shared, &id).await?;
    staff.require(KEEPERS)?;
    let packages = packages(&shared)?;
    let version = file
        .strip_prefix('v')
        .and_then(|rest| rest.strip_suffix(".zip"))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found("package version"))?;
    let found = {
        let (packages, id) = (packages.clone(), id.clone());
        tokio::task::spawn_blocking(move || packages.zip_path(&id, version))
            .await
            .map_err(|_| ApiError::internal("the package could not be read"))?
    };
    let (path, info) = found.ok_or_else(|| ApiError::not_found("package version"))?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("package version"))?;
    log_access(
        &shared,
        &staff,
        &id,
        AccessAction::Download,
        &info.zip,
        format!("package v{version}"),
    )
    .await?;
    let stream = futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, info.zip_size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", info.zip),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
