//! The session package, made after the close: the record assembled from the store
//! ([`record_from_store`]), the recordings of the session folder, the preservation
//! copy when it was made, all packaged by `seduta_archive` as a folder and a streamed
//! zip under `<data_dir>/packages/<session>/v<n>/`; the detached signatures collected
//! for it; the next version with the signatures; and delivery through the outbox
//! (`seduta_delivery`).
//!
//! A version is built in a hidden temporary folder (`.v1.tmp`) and renamed into place
//! once complete, so a crash in the middle leaves no half package visible; the
//! temporary folder is removed by the next attempt. Building an existing version
//! changes nothing.
//!
//! ```text
//! <data_dir>/packages/<session>/
//!   v1/package/…               the package as a folder (manifest.json, sincro.xml, …)
//!   v1/<session>-v1.zip        the same, as a zip (what is delivered and downloaded)
//!   v1/version.json            what was built: files, digests, what is to be signed
//!   signatures/<file>.<role>.p7s   accepted signatures (+ .json: the verification)
//!   signatures/<file>.<role>.p7s.tsr   its RFC 3161 timestamp, with a TSA (+ .tsr.json)
//!   v2/…                       the package with the signatures, once all are in
//! ```

mod build;
mod record;
mod rome;
mod signatures;
mod timestamps;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use build::{BuildOutcome, PackageBuildError, VersionInfo};
pub use record::{RecordBuildError, RecordMeta, record_from_log, record_from_store};
pub use rome::{format_rome, rome_rfc3339};
pub use seduta_archive::signature::TrustList;
pub use seduta_delivery::{
    Delivery, DeliveryConfig, DeliveryEvent, DeliveryState, Outbox, SystemClock, WorkerHandle,
};
use serde::{Deserialize, Serialize};
pub use signatures::{SignatureView, SignerRole, UploadError};
pub use timestamps::TimestampView;
use tokio::runtime::Handle;

use crate::store::Store;

/// The folder of `session` under `root`, if the id can name one (letters, digits,
/// `-` and `_` only: nothing that could leave `root`).
pub fn session_folder(root: &Path, session: &str) -> Option<PathBuf> {
    let safe = !session.is_empty()
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    safe.then(|| root.join(session))
}

/// When a session's package is handed to the delivery sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverWhen {
    /// Once every required signature is in: the signed version (the default).
    #[default]
    AfterSignatures,
    /// The first version at once, and the signed version again when it is made.
    AtOnce,
}

/// The package settings of the server's configuration (`[package]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackageConfig {
    /// A PEM bundle of CA certificates: uploaded signatures must chain to one of them.
    /// None (the default): the signature is checked, the signer is not.
    pub trust_list: Option<PathBuf>,
    /// When the package is delivered.
    pub deliver: DeliverWhen,
    /// The largest signature file accepted, in bytes (at most 256 KiB).
    pub max_signature_bytes: usize,
    /// An RFC 3161 timestamp authority (`http(s)://…`): each accepted signature
    /// gets a timestamp over its signature value (CAdES-T), carried as
    /// `<signature>.tsr` in the signed version. None (the default): no timestamps.
    pub tsa_url: Option<String>,
    /// A PEM bundle of CA certificates the TSA's certificate must chain to. None:
    /// the timestamp's signature is checked, the TSA's certificate only reported.
    pub tsa_trust: Option<PathBuf>,
}

impl Default for PackageConfig {
    fn default() -> Self {
        Self {
            trust_list: None,
            deliver: DeliverWhen::AfterSignatures,
            max_signature_bytes: 64 * 1024,
            tsa_url: None,
            tsa_trust: None,
        }
    }
}

/// The session packages of one server: building, signatures, delivery. Cheap to
/// clone.
#[derive(Clone)]
pub struct Packages {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Packages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packages")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    /// `<data_dir>/packages`.
    root: PathBuf,
    /// `<data_dir>/recordings`.
    recordings: PathBuf,
    config: PackageConfig,
    trust: TrustList,
    /// The timestamp authority, when configured.
    tsa: Option<timestamps::Tsa>,
    /// One round of timestamp requests at a time in this process.
    tsa_lock: Mutex<()>,
    outbox: Option<Outbox>,
    /// Whether this server makes preservation copies: then a recording whose copy is
    /// not finished (or not yet queued) waits for it.
    copies: bool,
    runtime: Handle,
    /// One build or signature store at a time in this process.
    lock: Mutex<()>,
    /// Set by [`Packages::stop`]: the background pass ends.
    stopped: AtomicBool,
}

/// Why the package service could not start.
#[derive(Debug, thiserror::Error)]
pub enum PackagesError {
    /// The trust list could not be read.
    #[error("the signature trust list {path}: {message}")]
    TrustList {
        /// Its path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The TSA settings are unusable (URL, trust bundle).
    #[error("the timestamp authority: {0}")]
    Tsa(String),
    /// Not called from within a tokio runtime.
    #[error("the package service needs a tokio runtime")]
    NoRuntime,
}

impl Packages {
    /// The packages of the sessions kept in `data_dir` (`packages/`, made from
    /// `recordings/`), delivered through `outbox` when there is one. `copies`: whether
    /// this server makes preservation copies (a package then waits for the copy; hand
    /// [`Packages::after_preservation`] to the preservation worker); otherwise hand
    /// the `Packages` itself to `SignalingConfig::on_recording_finished`. Must be
    /// called from within a tokio runtime.
    pub fn new(
        store: Store,
        data_dir: &Path,
        config: PackageConfig,
        outbox: Option<Outbox>,
        copies: bool,
    ) -> Result<Self, PackagesError> {
        let runtime = Handle::try_current().map_err(|_| PackagesError::NoRuntime)?;
        let trust = match &config.trust_list {
            None => TrustList::none(),
            Some(path) => {
                let bad = |message: String| PackagesError::TrustList {
                    path: path.clone(),
                    message,
                };
                let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
                let list = TrustList::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
                if list.is_empty() {
                    return Err(bad("no CERTIFICATE in the file".into()));
                }
                list
            }
        };
        let tsa = match &config.tsa_url {
            None => None,
            Some(url) => {
                let trust = match &config.tsa_trust {
                    None => TrustList::none(),
                    Some(path) => {
                        let bad =
                            |m: String| PackagesError::Tsa(format!("{}: {m}", path.display()));
                        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
                        let list = TrustList::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
                        if list.is_empty() {
                            return Err(bad("no CERTIFICATE in the file".into()));
                        }
                        list
                    }
                };
                Some(timestamps::Tsa::new(url, trust).map_err(PackagesError::Tsa)?)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                root: data_dir.join("packages"),
                recordings: data_dir.join("recordings"),
                config,
                trust,
                tsa,
                tsa_lock: Mutex::new(()),
                outbox,
                copies,
                runtime,
                lock: Mutex::new(()),
                stopped: AtomicBool::new(false),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &PackageConfig {
        &self.inner.config
    }

    /// The delivery outbox, when delivery is configured.
    pub fn outbox(&self) -> Option<&Outbox> {
        self.inner.outbox.as_ref()
    }

    /// The folder of `session`'s packages, if the id can name one.
    pub fn session_dir(&self, session: &str) -> Option<PathBuf> {
        session_folder(&self.inner.root, session)
    }

    /// Called once `session`'s preservation copy is done or has failed (from the
    /// preservation worker's thread; blocks): builds version 1 and, when so
    /// configured, enqueues it. Errors are logged with codes only.
    pub fn after_preservation(&self, session: &str) {
        match self.build_first(session) {
            Ok(BuildOutcome::Built(v)) => {
                tracing::info!(session, version = v, "session package built")
            }
            Ok(outcome) => tracing::debug!(session, ?outcome, "session package"),
            Err(e) => {
                tracing::warn!(session, code = e.code(), error = %e, "the session package could not be built")
            }
        }
    }

    /// Takes up, on a thread of its own, what a previous process left (closed
    /// sessions whose copy is finished and have no package, complete signatures
    /// without their version, versions not yet handed to the outbox), then looks
    /// again every minute (a session closed without a recording gets its package
    /// there; a build that failed is tried again) until [`Packages::stop`].
    pub fn resume_in_background(&self) {
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("seduta-packages".into())
            .spawn(move || {
                while !this.stopped() {
                    this.resume();
                    for _ in 0..60 {
                        if this.stopped() {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
        if spawned.is_err() {
            tracing::warn!("the package resume thread could not start");
        }
    }

    /// Ends the background pass (at shutdown).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Relaxed)
    }
}

/// Without preservation copies, the package is built as soon as the recording stops
/// (on a thread of its own).
impl crate::RecordingFinished for Packages {
    fn finished(&self, stopped: crate::StoppedRecording) {
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("seduta-package".into())
            .spawn(move || this.after_preservation(&stopped.session));
        if spawned.is_err() {
            tracing::warn!("the package will be built at the next start");
        }
    }
}
