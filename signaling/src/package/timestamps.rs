//! RFC 3161 timestamps of the accepted signatures, when a TSA is configured
//! (`[package] tsa_url`): each `.p7s` gets a timestamp over its signature value
//! (CAdES-T: the imprint is the SHA-256 of the SignerInfo's `signature` OCTET
//! STRING), requested over HTTP (`application/timestamp-query`), checked by
//! `seduta_archive::timestamp::check_response` and stored beside it as
//! `<file>.<role>.p7s.tsr` (the TSA's whole `TimeStampResp`, DER), with
//! `<…>.tsr.json` describing it. A TSA that is down or answers garbage leaves the
//! signature accepted and the timestamp pending, with the error's code in the
//! `.tsr.json`: it is tried again at the next upload of the session and by the
//! background pass (every minute). The signed version waits for the timestamps.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use seduta_archive::signature::TrustList;
use seduta_archive::timestamp::{TimestampError, check_response, request, signature_imprint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Packages;
use super::build::{sync_dir, write_synced};

/// The largest TSA answer read (a response with a certificate chain is a few KiB).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The configured TSA.
pub(super) struct Tsa {
    url: String,
    trust: TrustList,
    client: reqwest::Client,
}

impl Tsa {
    pub(super) fn new(url: &str, trust: TrustList) -> Result<Self, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("`{url}` is not an http(s) URL"));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url: url.to_owned(),
            trust,
            client,
        })
    }
}

/// A signature's timestamp as the API shows it (stored as `<signature>.tsr.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimestampView {
    /// `granted` (the `.tsr` is stored and was checked) or `pending` (not had yet:
    /// see `code`; tried again every minute).
    pub state: String,
    /// `timestamp granted at …` or `timestamp pending (code)`.
    pub summary: String,
    /// The timestamp file's name in the package: `<signature>.tsr`.
    pub timestamp_file: String,
    /// The TSA's time (genTime), RFC 3339 UTC, when granted.
    pub time: Option<String>,
    /// The token's serial number (hex), when granted.
    pub serial: Option<String>,
    /// The TSA certificate's subject, when granted.
    pub tsa: Option<String>,
    /// `true` when the TSA chains to `tsa_trust`; `null` without one.
    pub trusted: Option<bool>,
    /// Why it is pending: `timestamp_unreachable`, `timestamp_corrupt`,
    /// `timestamp_refused`, `timestamp_imprint_mismatch`, `timestamp_nonce_mismatch`,
    /// `timestamp_invalid`, `timestamp_untrusted`, `timestamp_bad_signature_file`;
    /// `null` before the first attempt.
    pub code: Option<String>,
    /// The error's message.
    pub message: Option<String>,
    /// Requests made so far.
    pub attempts: u32,
    /// When the last request was made (UTC).
    pub last_attempt_at: Option<String>,
}

impl TimestampView {
    fn pending(timestamp_file: String, error: Option<&TimestampError>, attempts: u32) -> Self {
        let code = error.map(|e| e.code().to_owned());
        Self {
            state: "pending".into(),
            summary: match &code {
                Some(c) => format!("timestamp pending ({c})"),
                None => "timestamp pending".into(),
            },
            timestamp_file,
            time: None,
            serial: None,
            tsa: None,
            trusted: None,
            code,
            message: error.map(|e| e.to_string()),
            attempts,
            last_attempt_at: error.map(|_| crate::clock::rfc3339(crate::clock::now_ms())),
        }
    }
}

fn under(root: &Path, name: &str) -> PathBuf {
    name.split('/').fold(root.to_owned(), |p, s| p.join(s))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

impl Packages {
    /// Whether a TSA is configured.
    pub fn timestamps_enabled(&self) -> bool {
        self.inner.tsa.is_some()
    }

    /// The timestamp of the accepted signature `signature_file` (package name) of
    /// `session`: `None` without a TSA.
    pub fn timestamp_view(&self, session: &str, signature_file: &str) -> Option<TimestampView> {
        self.inner.tsa.as_ref()?;
        let root = self.session_dir(session)?.join("signatures");
        let p7s = under(&root, signature_file);
        let name = format!("{signature_file}.tsr");
        let stored = fs::read(with_suffix(&p7s, ".tsr.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<TimestampView>(&b).ok());
        match stored {
            Some(v) if v.state != "granted" || with_suffix(&p7s, ".tsr").is_file() => Some(v),
            Some(v) => Some(TimestampView::pending(name, None, v.attempts)),
            None => Some(TimestampView::pending(name, None, 0)),
        }
    }

    /// The accepted signatures of `session` (package names) still without their
    /// timestamp; empty without a TSA.
    pub fn pending_timestamps(&self, session: &str) -> Vec<String> {
        if self.inner.tsa.is_none() {
            return Vec::new();
        }
        let Some(dir) = self.session_dir(session) else {
            return Vec::new();
        };
        let Some(first) = self.versions(session).into_iter().next() else {
            return Vec::new();
        };
        let root = dir.join("signatures");
        first
            .to_sign
            .iter()
            .flat_map(|r| r.signers.iter())
            .map(|s| s.signature_file.clone())
            .filter(|name| {
                let p7s = under(&root, name);
                p7s.is_file() && !with_suffix(&p7s, ".tsr").is_file()
            })
            .collect()
    }

    /// Asks the TSA for every pending timestamp of `session`. Blocks (HTTP through
    /// the runtime): call it from a blocking thread. Failures are stored as pending
    /// with their code.
    pub(super) fn stamp_pending(&self, session: &str) {
        let Some(tsa) = self.inner.tsa.as_ref() else {
            return;
        };
        let Some(dir) = self.session_dir(session) else {
            return;
        };
        let _guard = self
            .inner
            .tsa_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let root = dir.join("signatures");
        for name in self.pending_timestamps(session) {
            if self.stopped() {
                return;
            }
            let p7s = under(&root, &name);
            let previous = self
                .timestamp_view(session, &name)
                .map_or(0, |v| v.attempts);
            let attempts = previous.saturating_add(1);
            let view = match self.stamp(tsa, &p7s) {
                Ok((view, tsr)) => {
                    let view = TimestampView {
                        attempts,
                        timestamp_file: format!("{name}.tsr"),
                        ..view
                    };
                    // The description first, then the token by rename: a `.tsr`
                    // present is a `.tsr` described.
                    let json = serde_json::to_vec_pretty(&view).unwrap_or_default();
                    let stored = write_synced(&with_suffix(&p7s, ".tsr.json"), &json)
                        .and_then(|()| write_synced(&with_suffix(&p7s, ".tsr.part"), &tsr))
                        .and_then(|()| {
                            fs::rename(with_suffix(&p7s, ".tsr.part"), with_suffix(&p7s, ".tsr"))
                                .map_err(|e| super::PackageBuildError::Io {
                                    path: with_suffix(&p7s, ".tsr"),
                                    source: e,
                                })
                        });
                    match stored {
                        Ok(()) => {
                            if let Some(parent) = p7s.parent() {
                                sync_dir(parent);
                            }
                            tracing::info!(session, signature = name, "signature timestamped");
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(
                                session,
                                code = e.code(),
                                "the timestamp could not be stored"
                            );
                            continue;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        session,
                        signature = name,
                        code = e.code(),
                        "signature timestamp pending"
                    );
                    TimestampView::pending(format!("{name}.tsr"), Some(&e), attempts)
                }
            };
            let json = serde_json::to_vec_pretty(&view).unwrap_or_default();
            let _ = write_synced(&with_suffix(&p7s, ".tsr.json"), &json);
        }
    }

    /// One request to the TSA for the signature stored at `p7s`: the view and the
    /// DER response when granted and checked.
    fn stamp(&self, tsa: &Tsa, p7s: &Path) -> Result<(TimestampView, Vec<u8>), TimestampError> {
        let bytes = fs::read(p7s).map_err(|e| TimestampError::Signature(e.to_string()))?;
        let imprint = signature_imprint(&bytes)?;
        let nonce: u64 = rand::random();
        let body = request(&imprint, nonce)?;
        let unreachable = |e: reqwest::Error| TimestampError::Unreachable(e.to_string());
        let answer = self.inner.runtime.block_on(async {
            let response = tsa
                .client
                .post(&tsa.url)
                .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
                .body(body)
                .send()
                .await
                .map_err(unreachable)?;
            let status = response.status();
            if !status.is_success() {
                return Err(TimestampError::Unreachable(format!("HTTP {status}")));
            }
            let bytes = response.bytes().await.map_err(unreachable)?;
            if bytes.len() > MAX_RESPONSE_BYTES {
                return Err(TimestampError::Corrupt(format!(
                    "{} bytes, more than {MAX_RESPONSE_BYTES}",
                    bytes.len()
                )));
            }
            Ok(bytes.to_vec())
        })?;
        let report = check_response(&answer, &imprint, Some(nonce), &tsa.trust)?;
        let view = TimestampView {
            state: "granted".into(),
            summary: format!("timestamp granted at {}", report.time),
            timestamp_file: String::new(),
            time: Some(report.time),
            serial: Some(report.serial),
            tsa: Some(report.tsa),
            trusted: report.trusted,
            code: None,
            message: None,
            attempts: 0,
            last_attempt_at: Some(crate::clock::rfc3339(crate::clock::now_ms())),
        };
        Ok((view, answer))
    }
}
