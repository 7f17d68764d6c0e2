//! Building a version of a session's package on disk: temporary folder, the package
//! as a folder and as a zip, `version.json`, rename into place; then the outbox.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use seduta_archive::package::SignatureRequest;
use seduta_archive::{FileFormat, FileRole, IncludedFile, Package, PackageSettings};
use seduta_recordings::preserve::{self, JobState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::{RecordBuildError, record_from_store};
use super::rome::format_rome;
use super::{DeliverWhen, Packages};
use crate::store::SessionStatus;

/// `version.json`: what a version holds.
pub const VERSION_FILE: &str = "version.json";
/// Written beside `version.json` once the version was handed to the outbox.
const ENQUEUED_FILE: &str = "enqueued";
/// The package as a folder, inside a version's folder.
pub const PACKAGE_DIR: &str = "package";

/// What one version of a session's package holds (its `version.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The version, from 1.
    pub version: u32,
    /// The session.
    pub session: String,
    /// When it was built (Italian local time).
    pub built_at: String,
    /// The zip's file name in the version's folder (`<session>-v<n>.zip`).
    pub zip: String,
    /// The zip's SHA-256.
    pub zip_sha256: String,
    /// The zip's size in bytes.
    pub zip_size: u64,
    /// The carried files (recordings, chapters, register, signatures), as packaged.
    pub included: Vec<IncludedFile>,
    /// What is to be signed, and by whom.
    pub to_sign: Vec<SignatureRequest>,
    /// The preservation copy: `done`, `failed` (then the package says so and has no
    /// MP4), or `none` (no recording).
    pub preservation: String,
    /// Why the copy failed, a stable code.
    pub preservation_error: Option<String>,
    /// The signature files this version carries.
    pub signatures: Vec<String>,
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The version was built now.
    Built(u32),
    /// It existed already: nothing changed.
    Exists(u32),
    /// The session cannot have a package yet (not closed, copy still running).
    NotReady(&'static str),
}

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageBuildError {
    /// The session id cannot name a folder.
    #[error("the session id cannot name a folder")]
    BadSession,
    /// The record could not be assembled.
    #[error(transparent)]
    Record(#[from] RecordBuildError),
    /// The archive refused the record or a file.
    #[error(transparent)]
    Archive(#[from] seduta_archive::PackageError),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A version's description is unreadable.
    #[error("{0}: unreadable version.json")]
    Corrupt(PathBuf),
}

impl PackageBuildError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            PackageBuildError::BadSession => "package_bad_session",
            PackageBuildError::Record(RecordBuildError::Incomplete(_)) => "package_no_record",
            PackageBuildError::Record(RecordBuildError::Store(_)) => "storage",
            PackageBuildError::Archive(e) => e.code(),
            PackageBuildError::Io { .. } => "package_io",
            PackageBuildError::Corrupt(_) => "package_corrupt",
        }
    }
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> PackageBuildError + '_ {
    move |source| PackageBuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A writer that hashes and counts what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A package path segment from a file name of the recording folder.
fn safe_segment(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The carried files of a session's recording folder: the preservation copy (when
/// made), the mixes, the working masters with their sidecars, the chapters and the
/// migration register. The job's own state and scratch files stay out.
fn recording_files(dir: &Path, with_copy: bool) -> Vec<IncludedFile> {
    let Ok(listing) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = listing
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let source = dir.join(&name);
        let safe = safe_segment(&name);
        let file =
            |folder: &str, format: FileFormat, role: FileRole, description: &str| IncludedFile {
                source: source.clone(),
                name: format!("{folder}{safe}"),
                format,
                role,
                description: description.to_owned(),
            };
        let is_mix = name.starts_with("mix.") || name.starts_with("mix-");
        let f = match name.as_str() {
            preserve::TARGET_FILE if with_copy => file(
                "registrazioni/",
                FileFormat::new("video/mp4", "MP4 (H.264 High, FLAC)"),
                FileRole::PreservationRecording,
                "Registrazione audio-video della seduta (copia di conservazione)",
            ),
            preserve::TARGET_FILE | preserve::JOB_FILE | preserve::LOCK_FILE => continue,
            preserve::REGISTER_FILE => file(
                "registrazioni/",
                FileFormat::json(),
                FileRole::MigrationRegister,
                "Registro delle migrazioni (riversamenti)",
            ),
            seduta_recordings::chapters::CHAPTERS_TTML => file(
                "registrazioni/",
                FileFormat::new("application/ttml+xml", "TTML (IMSC1)"),
                FileRole::Chapters,
                "Capitoli della registrazione (punti, votazioni, sospensioni)",
            ),
            seduta_recordings::chapters::CHAPTERS_JSON => file(
                "registrazioni/",
                FileFormat::json(),
                FileRole::Chapters,
                "Capitoli della registrazione (JSON)",
            ),
            _ if is_mix && name.ends_with(".flac") => file(
                "registrazioni/",
                FileFormat::new("audio/flac", "FLAC"),
                FileRole::AudioMix,
                "Audio della seduta (mix, FLAC)",
            ),
            _ if is_mix && name.ends_with(".webm") => file(
                "registrazioni/originali/",
                FileFormat::new("audio/webm", "WebM (Opus)"),
                FileRole::AudioMix,
                "Audio della seduta (mix di lavoro, Opus)",
            ),
            _ if name.ends_with(".webm") => file(
                "registrazioni/originali/",
                FileFormat::new("video/webm", "WebM (VP8/Opus)"),
                FileRole::WorkingMaster,
                "Traccia registrata (originale di lavoro)",
            ),
            _ if name.ends_with(".mkv") => file(
                "registrazioni/originali/",
                FileFormat::new("video/x-matroska", "Matroska (H.264)"),
                FileRole::WorkingMaster,
                "Traccia registrata (originale di lavoro)",
            ),
            _ if name.ends_with(".json") => file(
                "registrazioni/originali/",
                FileFormat::json(),
                FileRole::Other,
                "Descrizione della traccia registrata (tempi, sincronizzazione)",
            ),
            _ => continue,
        };
        out.push(f);
    }
    out
}

impl Packages {
    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The versions of `session`'s package, oldest first.
    pub fn versions(&self, session: &str) -> Vec<VersionInfo> {
        let Some(dir) = self.session_dir(session) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for n in 1.. {
            match read_version(&dir, n) {
                Ok(Some(v)) => out.push(v),
                _ => break,
            }
        }
        out
    }

    /// The zip of version `version`, if built.
    pub fn zip_path(&self, session: &str, version: u32) -> Option<(PathBuf, VersionInfo)> {
        let dir = self.session_dir(session)?;
        let info = read_version(&dir, version).ok().flatten()?;
        Some((dir.join(format!("v{version}")).join(&info.zip), info))
    }

    /// Builds version 1 of `session`'s package, once it is closed and its copy is
    /// done or failed. Blocks (file copies, hashing): call it from a thread of its
    /// own or `spawn_blocking`.
    pub fn build_first(&self, session: &str) -> Result<BuildOutcome, PackageBuildError> {
        let dir = self
            .session_dir(session)
            .ok_or(PackageBuildError::BadSession)?;
        let _guard = self.lock();
        if read_version(&dir, 1)?.is_some() {
            return Ok(BuildOutcome::Exists(1));
        }
        let closed = self
            .inner
            .runtime
            .block_on(self.inner.store.session(session))
            .map_err(RecordBuildError::from)?
            .is_some_and(|s| s.status == SessionStatus::Closed);
        if !closed {
            return Ok(BuildOutcome::NotReady("the session is not closed"));
        }
        let folder = super::session_folder(&self.inner.recordings, session);
        let job = folder
            .as_deref()
            .and_then(|f| preserve::status(f).ok().flatten());
        let recorded = folder.as_deref().is_some_and(Path::is_dir);
        let (preservation, error) = match &job {
            None if recorded && self.inner.copies => {
                return Ok(BuildOutcome::NotReady(
                    "the preservation copy is not queued yet",
                ));
            }
            None => ("none".to_owned(), None),
            Some(j) if j.state == JobState::Done => ("done".to_owned(), None),
            Some(j) if j.state == JobState::Failed => (
                "failed".to_owned(),
                Some(
                    j.error
                        .as_ref()
                        .map_or("preserve.failed".to_owned(), |e| e.code.clone()),
                ),
            ),
            Some(_) => return Ok(BuildOutcome::NotReady("the preservation copy is running")),
        };
        let mut included = folder
            .as_deref()
            .map(|f| recording_files(f, preservation == "done"))
            .unwrap_or_default();
        let tmp = dir.join(".v1.tmp");
        fresh_dir(&tmp)?;
        if preservation == "failed" {
            // The package says that the copy is missing, and why.
            let note = tmp.join("nota-copia-di-conservazione.txt");
            let message = job
                .as_ref()
                .and_then(|j| j.error.as_ref())
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_else(|| "errore non registrato".to_owned());
            let text = format!(
                "La copia di conservazione (MP4, H.264 High, FLAC) di questa seduta non è stata prodotta.\n\
                 Motivo: {message}\n\
                 Il pacchetto contiene gli originali di lavoro delle registrazioni, l'audio della seduta \
                 (mix) e il registro delle migrazioni, che riporta il tentativo.\n"
            );
            fs::write(&note, text).map_err(io_at(&note))?;
            included.push(IncludedFile {
                source: note,
                name: "registrazioni/copia-di-conservazione-non-prodotta.txt".into(),
                format: FileFormat::new("text/plain", "Testo (UTF-8)"),
                role: FileRole::Other,
                description: "Nota: la copia di conservazione non è stata prodotta".into(),
            });
        }
        let built = self.write_version(session, &dir, 1, included, None, &[], preservation, error);
        let _ = fs::remove_dir_all(&tmp);
        let info = built?;
        if self.inner.config.deliver == DeliverWhen::AtOnce {
            self.enqueue(&dir, &info);
        }
        Ok(BuildOutcome::Built(1))
    }

    /// Builds the next version of `session`'s package with the collected signature
    /// files `signatures` (package names, stored under `signatures/`), carrying the
    /// previous version's files byte for byte, and enqueues it. Blocks.
    pub(super) fn build_signed(
        &self,
        session: &str,
        signatures: &[String],
    ) -> Result<BuildOutcome, PackageBuildError> {
        let dir = self
            .session_dir(session)
            .ok_or(PackageBuildError::BadSession)?;
        let _guard = self.lock();
        let Some(first) = read_version(&dir, 1)? else {
            return Ok(BuildOutcome::NotReady("no first version"));
        };
        let mut latest = first.clone();
        for n in 2.. {
            match read_version(&dir, n)? {
                Some(v) => latest = v,
                None => break,
            }
        }
        if latest.version > 1 && latest.signatures.len() >= signatures.len() {
            return Ok(BuildOutcome::Exists(latest.version));
        }
        let version = latest.version + 1;
        let v1_files = dir.join("v1").join(PACKAGE_DIR);
        let in_v1 = |name: &str| name.split('/').fold(v1_files.clone(), |p, s| p.join(s));
        let mut included: Vec<IncludedFile> = first
            .included
            .iter()
            .map(|f| IncludedFile {
                source: in_v1(&f.name),
                ..f.clone()
            })
            .collect();
        let signature_root = dir.join("signatures");
        for name in signatures {
            included.push(IncludedFile {
                source: name
                    .split('/')
                    .fold(signature_root.clone(), |p, s| p.join(s)),
                name: name.clone(),
                format: FileFormat::new("application/pkcs7-signature", "CAdES detached (.p7s)"),
                role: FileRole::DetachedSignature,
                description: format!("Firma digitale di {}", name.trim_end_matches(".p7s")),
            });
            let tsr = name
                .split('/')
                .fold(signature_root.clone(), |p, s| p.join(s))
                .with_extension("p7s.tsr");
            if tsr.is_file() {
                included.push(IncludedFile {
                    source: tsr,
                    name: format!("{name}.tsr"),
                    format: FileFormat::new(
                        "application/timestamp-reply",
                        "RFC 3161 TimeStampResp (.tsr)",
                    ),
                    role: FileRole::Timestamp,
                    description: format!("Marca temporale della firma {name}"),
                });
            }
        }
        let verbale = in_v1(seduta_archive::package::layout::VERBALE);
        let tmp = dir.join(format!(".v{version}.tmp"));
        fresh_dir(&tmp)?;
        let built = self.write_version(
            session,
            &dir,
            version,
            included,
            Some(verbale),
            signatures,
            first.preservation.clone(),
            first.preservation_error.clone(),
        );
        let _ = fs::remove_dir_all(&tmp);
        let info = built?;
        self.enqueue(&dir, &info);
        Ok(BuildOutcome::Built(version))
    }

    /// Builds version `version` in `.v<n>.tmp` and renames it into place.
    #[allow(clippy::too_many_arguments)]
    fn write_version(
        &self,
        session: &str,
        dir: &Path,
        version: u32,
        included: Vec<IncludedFile>,
        verbale: Option<PathBuf>,
        signatures: &[String],
        preservation: String,
        preservation_error: Option<String>,
    ) -> Result<VersionInfo, PackageBuildError> {
        let record = self
            .inner
            .runtime
            .block_on(record_from_store(&self.inner.store, session))?;
        let built_at = format_rome(time::OffsetDateTime::now_utc());
        let mut settings = PackageSettings::new(built_at.clone(), &record.ente.name);
        settings.version = version;
        settings.verbale = verbale;
        let package = Package::build(&record, &included, &settings)?;
        let tmp = dir.join(format!(".v{version}.tmp"));
        package.write_folder(&tmp.join(PACKAGE_DIR))?;
        let zip_name = format!("{session}-v{version}.zip");
        let zip_path = tmp.join(&zip_name);
        let file = fs::File::create(&zip_path).map_err(io_at(&zip_path))?;
        let writer = HashingWriter {
            inner: io::BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            size: 0,
        };
        let mut writer = package.write_zip(writer)?;
        writer.flush().map_err(io_at(&zip_path))?;
        let zip_sha256 = hex::encode(writer.hasher.finalize_reset());
        let zip_size = writer.size;
        let file = writer
            .inner
            .into_inner()
            .map_err(|e| PackageBuildError::Io {
                path: zip_path.clone(),
                source: e.into_error(),
            })?;
        file.sync_all().map_err(io_at(&zip_path))?;
        let included = included
            .into_iter()
            .map(|f| IncludedFile {
                // Where the file is in this version's folder.
                source: PathBuf::from(PACKAGE_DIR).join(&f.name),
                ..f
            })
            .collect();
        let info = VersionInfo {
            version,
            session: session.to_owned(),
            built_at,
            zip: zip_name.clone(),
            zip_sha256,
            zip_size,
            included,
            to_sign: package.to_sign().to_vec(),
            preservation,
            preservation_error,
            signatures: signatures.to_vec(),
        };
        let json = serde_json::to_vec_pretty(&info).map_err(|e| PackageBuildError::Io {
            path: tmp.join(VERSION_FILE),
            source: io::Error::other(e),
        })?;
        write_synced(&tmp.join(VERSION_FILE), &json)?;
        // Scratch files made for the build (the note) are not part of the version.
        if let Ok(listing) = fs::read_dir(&tmp) {
            for e in listing.filter_map(|e| e.ok()) {
                let name = e.file_name();
                let keep = [PACKAGE_DIR, VERSION_FILE, zip_name.as_str()];
                if !keep
                    .iter()
                    .any(|k| name.as_os_str() == std::ffi::OsStr::new(k))
                {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let target = dir.join(format!("v{version}"));
        fs::rename(&tmp, &target).map_err(io_at(&target))?;
        sync_dir(dir);
        Ok(info)
    }

    /// Hands a version to the outbox (when delivery is configured) and notes it.
    fn enqueue(&self, dir: &Path, info: &VersionInfo) {
        let Some(outbox) = &self.inner.outbox else {
            return;
        };
        if outbox.sink_names().next().is_none() {
            return;
        }
        let version_dir = dir.join(format!("v{}", info.version));
        let package = seduta_delivery::Package {
            id: seduta_delivery::PackageId {
                session_id: info.session.clone(),
                version: info.version,
            },
            zip_path: version_dir.join(&info.zip),
        };
        match self.inner.runtime.block_on(outbox.enqueue(&package)) {
            Ok(deliveries) => {
                tracing::info!(
                    session = info.session,
                    version = info.version,
                    sinks = deliveries.len(),
                    "session package enqueued for delivery"
                );
                let _ = write_synced(&version_dir.join(ENQUEUED_FILE), b"");
            }
            Err(e) => tracing::warn!(
                session = info.session,
                version = info.version,
                code = e.code(),
                "the session package could not be enqueued; retried at the next start"
            ),
        }
    }

    /// One pass over the closed sessions: version 1 for those that have none yet
    /// (their copy finished, or opened and closed without a recording), the signed
    /// version where every signature is in, the outbox for versions not handed to it.
    pub(super) fn resume(&self) {
        let sessions: Vec<(String, bool)> = match self
            .inner
            .runtime
            .block_on(self.inner.store.list_sessions(None))
        {
            Ok(list) => list
                .into_iter()
                .filter(|s| s.status == SessionStatus::Closed)
                .map(|s| (s.id, s.opened_at_ms.is_some()))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the closed sessions could not be listed for their packages");
                return;
            }
        };
        for (session, opened) in sessions {
            if self.stopped() {
                return;
            }
            let Some(dir) = self.session_dir(&session) else {
                continue;
            };
            let has_recording =
                super::session_folder(&self.inner.recordings, &session).is_some_and(|f| f.is_dir());
            if (has_recording || opened) && !dir.join("v1").is_dir() {
                self.after_preservation(&session);
            }
            // Timestamps still pending, for a package not yet signed in full.
            if self.timestamps_enabled() && self.versions(&session).len() == 1 {
                self.stamp_pending(&session);
            }
            if let Err(e) = self.complete_if_signed(&session) {
                tracing::warn!(
                    session,
                    code = e.code(),
                    "the signed package could not be built"
                );
            }
            let versions = self.versions(&session);
            for info in &versions {
                let delivered =
                    info.version > 1 || self.inner.config.deliver == DeliverWhen::AtOnce;
                let marked = dir
                    .join(format!("v{}", info.version))
                    .join(ENQUEUED_FILE)
                    .exists();
                if delivered && !marked {
                    self.enqueue(&dir, info);
                }
            }
        }
    }
}

/// Reads `v<n>/version.json` under `dir`: `None` when the version does not exist.
fn read_version(dir: &Path, n: u32) -> Result<Option<VersionInfo>, PackageBuildError> {
    let path = dir.join(format!("v{n}")).join(VERSION_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| PackageBuildError::Corrupt(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PackageBuildError::Io { path, source: e }),
    }
}

/// An empty folder at `path` (what a crashed build left there is removed).
fn fresh_dir(path: &Path) -> Result<(), PackageBuildError> {
    match fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(path)(e)),
    }
    fs::create_dir_all(path).map_err(io_at(path))
}

/// Writes `bytes` to `path` and syncs it.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PackageBuildError> {
    let mut file = fs::File::create(path).map_err(io_at(path))?;
    file.write_all(bytes).map_err(io_at(path))?;
    file.sync_all().map_err(io_at(path))
}

/// Syncs a folder's entries (a rename in it), where the platform allows.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
