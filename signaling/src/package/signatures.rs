//! Detached signatures collected for a package: checked against the file of the first
//! version they sign (`seduta_archive::signature::verify_detached`), stored beside the
//! package when accepted, refused with the archive's stable code otherwise (nothing
//! changes). Once every requested signature is in, the next version is built with
//! them (and their RFC 3161 timestamps, when a TSA is configured: `timestamps.rs`)
//! and enqueued.

use std::fs;
use std::path::{Path, PathBuf};

use seduta_archive::signature::{SignatureReport, verify_detached};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Packages;
use super::build::{BuildOutcome, PACKAGE_DIR, PackageBuildError, sync_dir, write_synced};

/// Who signs, as the upload names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// The presiding member (`presiding`; `presidente` in the package's names).
    Presiding,
    /// The segretario.
    Segretario,
}

impl SignerRole {
    /// Parses the query's `role`: `presiding` (or `presidente`) or `segretario`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "presiding" | "presidente" => Some(SignerRole::Presiding),
            "segretario" => Some(SignerRole::Segretario),
            _ => None,
        }
    }

    /// The role's name in the package's signature requests and file names.
    pub fn package_name(self) -> &'static str {
        match self {
            SignerRole::Presiding => "presidente",
            SignerRole::Segretario => "segretario",
        }
    }
}

/// An accepted signature, as stored beside its `.p7s` and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignatureView {
    /// The signed file's path in the package.
    pub file: String,
    /// `presidente` or `segretario`.
    pub role: String,
    /// The signature's name in the package: `<file>.<role>.p7s`.
    pub signature_file: String,
    /// The signer's common name (CN), from the certificate.
    pub signer_cn: Option<String>,
    /// The fiscal code in the signer's certificate, when it carries one.
    pub signer_fiscal_code: Option<String>,
    /// The certificate's issuer.
    pub issuer: String,
    /// The signing time the signer declared (RFC 3339 UTC).
    pub signing_time: Option<String>,
    /// The signature algorithm.
    pub algorithm: String,
    /// `valid`: the signature verifies over the file. With a trust list configured
    /// the signer also chains to it (`trusted: true`).
    pub verdict: String,
    /// `true` when checked against the trust list; `null` when none is configured.
    pub trusted: Option<bool>,
    /// The signed file's SHA-256.
    pub file_sha256: String,
    /// When it was uploaded (UTC).
    pub uploaded_at: String,
    /// The staff account that uploaded it.
    pub uploaded_by: String,
    /// Its RFC 3161 timestamp when a TSA is configured (`granted` with the TSA's
    /// time, or `pending` with the error code); absent without a TSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<super::TimestampView>,
}

/// Why an upload was refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The session has no package yet.
    #[error("the session's package is not built yet")]
    NotReady,
    /// The file is not one the package asks to be signed.
    #[error("`{0}` is not a file of the package to be signed")]
    NotSignable(String),
    /// The role signs nothing here.
    #[error("no `{0}` signature is requested")]
    NoSuchSigner(String),
    /// A signature of this file by this role is stored already.
    #[error("the {role} signature of `{file}` was received already")]
    Exists {
        /// The file.
        file: String,
        /// The role.
        role: String,
    },
    /// Bigger than the configured limit.
    #[error("the signature file is larger than {0} bytes")]
    TooLarge(usize),
    /// The archive's check refused it.
    #[error("{0}")]
    Refused(seduta_archive::signature::SignatureError),
    /// Storing it failed.
    #[error(transparent)]
    Build(#[from] PackageBuildError),
}

impl UploadError {
    /// A stable code (the archive's for a refused signature).
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::NotReady => "package_not_ready",
            UploadError::NotSignable(_) => "package_file_not_signable",
            UploadError::NoSuchSigner(_) => "package_no_such_signer",
            UploadError::Exists { .. } => "signature_exists",
            UploadError::TooLarge(_) => "signature_too_large",
            UploadError::Refused(e) => e.code(),
            UploadError::Build(e) => e.code(),
        }
    }
}

fn under(root: &Path, name: &str) -> PathBuf {
    name.split('/').fold(root.to_owned(), |p, s| p.join(s))
}

impl Packages {
    /// The accepted signatures of `session`'s package.
    pub fn signatures(&self, session: &str) -> Vec<SignatureView> {
        let Some(dir) = self.session_dir(session) else {
            return Vec::new();
        };
        let Some(first) = self.versions(session).into_iter().next() else {
            return Vec::new();
        };
        let root = dir.join("signatures");
        let mut out = Vec::new();
        for request in &first.to_sign {
            for signer in &request.signers {
                let path = under(&root, &format!("{}.json", signer.signature_file));
                if !under(&root, &signer.signature_file).is_file() {
                    continue;
                }
                if let Some(mut view) = fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<SignatureView>(&b).ok())
                {
                    view.timestamp = self.timestamp_view(session, &signer.signature_file);
                    out.push(view);
                }
            }
        }
        out
    }

    /// Checks the detached signature `p7s` of `file` by `role` against the first
    /// version's file and stores it when it verifies. Blocks (hashes the file): call
    /// it from `spawn_blocking`. When it was the last one missing, the signed
    /// version is built and enqueued on a thread of its own.
    pub fn upload_signature(
        &self,
        session: &str,
        file: &str,
        role: SignerRole,
        p7s: &[u8],
        uploaded_by: &str,
    ) -> Result<SignatureView, UploadError> {
        if p7s.len() > self.inner.config.max_signature_bytes {
            return Err(UploadError::TooLarge(self.inner.config.max_signature_bytes));
        }
        let dir = self.session_dir(session).ok_or(UploadError::NotReady)?;
        let first = self
            .versions(session)
            .into_iter()
            .next()
            .ok_or(UploadError::NotReady)?;
        let request = first
            .to_sign
            .iter()
            .find(|r| r.file == file)
            .ok_or_else(|| UploadError::NotSignable(file.to_owned()))?;
        let role_name = role.package_name();
        let signer = request
            .signers
            .iter()
            .find(|s| s.role == role_name)
            .ok_or_else(|| UploadError::NoSuchSigner(role_name.to_owned()))?;
        let root = dir.join("signatures");
        let target = under(&root, &signer.signature_file);
        let exists = || UploadError::Exists {
            file: file.to_owned(),
            role: role_name.to_owned(),
        };
        if target.exists() {
            return Err(exists());
        }
        let signed = under(&dir.join("v1").join(PACKAGE_DIR), file);
        let content = fs::File::open(&signed).map_err(|e| {
            UploadError::Build(PackageBuildError::Io {
                path: signed.clone(),
                source: e,
            })
        })?;
        let report: SignatureReport =
            verify_detached(p7s, content, &self.inner.trust).map_err(UploadError::Refused)?;
        let Some(first_signer) = report.signers.first() else {
            return Err(UploadError::Refused(
                seduta_archive::signature::SignatureError::NoSigner,
            ));
        };
        let view = SignatureView {
            file: file.to_owned(),
            role: role_name.to_owned(),
            signature_file: signer.signature_file.clone(),
            signer_cn: first_signer.signer.common_name.clone(),
            signer_fiscal_code: first_signer.signer.fiscal_code.clone(),
            issuer: first_signer.signer.issuer.clone(),
            signing_time: first_signer.signing_time.clone(),
            algorithm: first_signer.algorithm.clone(),
            verdict: "valid".into(),
            trusted: first_signer.trusted,
            file_sha256: report.file_sha256.clone(),
            uploaded_at: crate::clock::rfc3339(crate::clock::now_ms()),
            uploaded_by: uploaded_by.to_owned(),
            timestamp: None,
        };
        {
            let _guard = self
                .inner
                .lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if target.exists() {
                return Err(exists());
            }
            let parent = target.parent().map(Path::to_owned).unwrap_or(root.clone());
            fs::create_dir_all(&parent).map_err(|e| {
                UploadError::Build(PackageBuildError::Io {
                    path: parent.clone(),
                    source: e,
                })
            })?;
            let json = serde_json::to_vec_pretty(&view).unwrap_or_default();
            let report_path = PathBuf::from(format!("{}.json", target.display()));
            // The report first, then the signature by rename: a signature present is
            // a signature described.
            write_synced(&report_path, &json)?;
            let tmp = PathBuf::from(format!("{}.part", target.display()));
            write_synced(&tmp, p7s)?;
            fs::rename(&tmp, &target).map_err(|e| {
                UploadError::Build(PackageBuildError::Io {
                    path: target.clone(),
                    source: e,
                })
            })?;
            sync_dir(&parent);
        }
        // The timestamp of this signature (and of any still pending): a TSA that
        // fails leaves it pending, the signature stays accepted.
        self.stamp_pending(session);
        let mut view = view;
        view.timestamp = self.timestamp_view(session, &signer.signature_file);
        if self
            .missing_signatures(session)
            .is_some_and(|m| m.is_empty())
            && self.pending_timestamps(session).is_empty()
        {
            let this = self.clone();
            let session = session.to_owned();
            let spawned = std::thread::Builder::new()
                .name("seduta-package-signed".into())
                .spawn(move || {
                    if let Err(e) = this.complete_if_signed(&session) {
                        tracing::warn!(
                            session,
                            code = e.code(),
                            "the signed package could not be built"
                        );
                    }
                });
            if spawned.is_err() {
                tracing::warn!("the signed package will be built at the next start");
            }
        }
        Ok(view)
    }

    /// The signature files (package names) still missing, `None` without a package.
    pub fn missing_signatures(&self, session: &str) -> Option<Vec<String>> {
        let dir = self.session_dir(session)?;
        let first = self.versions(session).into_iter().next()?;
        let root = dir.join("signatures");
        Some(
            first
                .to_sign
                .iter()
                .flat_map(|r| r.signers.iter())
                .map(|s| s.signature_file.clone())
                .filter(|name| !under(&root, name).is_file())
                .collect(),
        )
    }

    /// Builds the signed version when every requested signature is in.
    pub(super) fn complete_if_signed(
        &self,
        session: &str,
    ) -> Result<BuildOutcome, PackageBuildError> {
        let Some(missing) = self.missing_signatures(session) else {
            return Ok(BuildOutcome::NotReady("no package"));
        };
        if !missing.is_empty() {
            return Ok(BuildOutcome::NotReady("signatures missing"));
        }
        if !self.pending_timestamps(session).is_empty() {
            return Ok(BuildOutcome::NotReady("timestamps pending"));
        }
        let Some(first) = self.versions(session).into_iter().next() else {
            return Ok(BuildOutcome::NotReady("no package"));
        };
        let names: Vec<String> = first
            .to_sign
            .iter()
            .flat_map(|r| r.signers.iter())
            .map(|s| s.signature_file.clone())
            .collect();
        if names.is_empty() {
            return Ok(BuildOutcome::NotReady("nothing to sign"));
        }
        let outcome = self.build_signed(session, &names)?;
        if let BuildOutcome::Built(v) = outcome {
            tracing::info!(session, version = v, "signed session package built");
        }
        Ok(outcome)
    }
}
