//! The preservation package: the generated files, the carried files, the manifest,
//! the SInCRO index and a `.hash` file beside each, written as a folder or a zip.

mod data;
mod entry;
mod error;
mod input;
pub mod layout;
mod manifest;
mod sincro;
mod to_sign;
mod write;

use std::collections::BTreeSet;
use std::fs::File;

pub use entry::{EntryKind, PackageEntry};
pub use error::PackageError;
pub use input::{FileRole, IncludedFile, PackageSettings, Software};
pub use manifest::{LogSummary, Manifest, ManifestFile, SessionSummary};
pub use sincro::NAMESPACE as SINCRO_NAMESPACE;
pub use to_sign::{RequestedSigner, SignatureRequest};

use crate::format::FileFormat;
use crate::record::SessionRecord;
use entry::Source;

/// A package ready to be written: every file's digest is known, the generated
/// files are in memory and the carried ones stay on disk until written.
#[derive(Debug, Clone)]
pub struct Package {
    entries: Vec<PackageEntry>,
    manifest: Manifest,
}

impl Package {
    /// Builds the package of `record` with `files` carried along. Checks the record
    /// first (see [`SessionRecord::check`]) and every file name; hashes the carried
    /// files by streaming them. Nothing is written.
    pub fn build(
        record: &SessionRecord,
        files: &[IncludedFile],
        settings: &PackageSettings,
    ) -> Result<Package, PackageError> {
        record.check()?;
        check_names(files)?;
        let log = crate::log::verify(&record.attendance_log)
            .map_err(|b| PackageError::Record(crate::record::RecordError::BrokenLog(b)))?;
        let mut entries = generated(record, settings)?;
        for f in files {
            let path = f.source.clone();
            let io = |source| PackageError::Io {
                path: path.clone(),
                source,
            };
            let file = File::open(&f.source).map_err(io)?;
            let (sha256, size) = crate::digest::copy_hashing(file, std::io::sink()).map_err(io)?;
            entries.push(PackageEntry {
                name: f.name.clone(),
                sha256,
                size,
                format: f.format.clone(),
                kind: EntryKind::Included(f.role),
                description: f.description.clone(),
                source: Source::Disk(f.source.clone()),
            });
        }
        let to_sign = entries
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EntryKind::Verbale | EntryKind::Included(FileRole::PreservationRecording)
                )
            })
            .map(|e| to_sign::request(record, &e.name, &e.sha256))
            .collect();
        let summary = LogSummary {
            entries: log.entries,
            sealed: log.sealed,
            last_hash: log.last_hash,
        };
        let manifest = manifest::build(record, settings, &entries, to_sign, summary);
        let manifest_bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PackageError::Generate(layout::MANIFEST, e.to_string()))?;
        entries.push(PackageEntry::generated(
            layout::MANIFEST,
            manifest_bytes,
            FileFormat::json(),
            EntryKind::Manifest,
            "Manifesto del pacchetto (metadati Allegato 5, impronte)",
        ));
        let index = sincro::build(record, settings, &entries).map_err(PackageError::Xml)?;
        entries.push(PackageEntry::generated(
            layout::SINCRO,
            index,
            FileFormat::xml(),
            EntryKind::SincroIndex,
            "Indice di conservazione UNI SInCRO",
        ));
        Ok(Package { entries, manifest })
    }

    /// Every file of the package, the manifest and the index last; each has a
    /// `.hash` companion when written.
    pub fn entries(&self) -> &[PackageEntry] {
        &self.entries
    }

    /// The manifest as written in `manifest.json`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What is to be signed: the preservation recordings and the verbale, each by
    /// the presiding member and the segretario, detached.
    pub fn to_sign(&self) -> &[SignatureRequest] {
        &self.manifest.to_sign
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Option<&PackageEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

fn check_names(files: &[IncludedFile]) -> Result<(), PackageError> {
    let mut seen: BTreeSet<&str> = [
        layout::MANIFEST,
        layout::SINCRO,
        layout::VERBALE,
        layout::LOG_JSONL,
        layout::LOG_CSV,
        layout::QUORUM,
        layout::VOTES,
        layout::AGENDA,
        layout::EVENTS,
    ]
    .into_iter()
    .collect();
    for f in files {
        layout::check_name(&f.name).map_err(|reason| PackageError::BadFileName {
            name: f.name.clone(),
            reason,
        })?;
        if !seen.insert(&f.name) {
            return Err(PackageError::DuplicateName(f.name.clone()));
        }
    }
    // A file and a folder of the same name cannot both exist.
    for name in &seen {
        for (i, _) in name.match_indices('/') {
            if seen.contains(&name[..i]) {
                return Err(PackageError::DuplicateName(name[..i].to_owned()));
            }
        }
    }
    Ok(())
}

fn json(name: &'static str, value: &serde_json::Value) -> Result<Vec<u8>, PackageError> {
    serde_json::to_vec_pretty(value).map_err(|e| PackageError::Generate(name, e.to_string()))
}

fn generated(
    record: &SessionRecord,
    settings: &PackageSettings,
) -> Result<Vec<PackageEntry>, PackageError> {
    let csv = crate::log::to_csv(&record.attendance_log)
        .map_err(|e| PackageError::Generate(layout::LOG_CSV, e.to_string()))?;
    let verbale = match &settings.verbale {
        // A verbale made before (and signed): carried byte for byte.
        Some(path) => std::fs::read(path).map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?,
        None => crate::verbale::render(record, &settings.built_at)?,
    };
    Ok(vec![
        PackageEntry::generated(
            layout::VERBALE,
            verbale,
            FileFormat::pdf_a2b(),
            EntryKind::Verbale,
            "Bozza del verbale della seduta",
        ),
        PackageEntry::generated(
            layout::LOG_JSONL,
            crate::log::to_jsonl(&record.attendance_log).into_bytes(),
            FileFormat::jsonl(),
            EntryKind::AttendanceLog,
            "Registro delle presenze e degli eventi, sigillato (JSON Lines)",
        ),
        PackageEntry::generated(
            layout::LOG_CSV,
            csv,
            FileFormat::csv(),
            EntryKind::AttendanceLogCsv,
            "Registro delle presenze e degli eventi (CSV)",
        ),
        PackageEntry::generated(
            layout::QUORUM,
            json(layout::QUORUM, &data::quorum(record))?,
            FileFormat::json(),
            EntryKind::QuorumTimeline,
            "Verifiche del numero legale",
        ),
        PackageEntry::generated(
            layout::VOTES,
            json(layout::VOTES, &data::votes(record))?,
            FileFormat::json(),
            EntryKind::Votes,
            "Votazioni con i voti nominativi",
        ),
        PackageEntry::generated(
            layout::AGENDA,
            json(layout::AGENDA, &data::agenda(record))?,
            FileFormat::json(),
            EntryKind::Agenda,
            "Ordine del giorno con presenze e astensioni",
        ),
        PackageEntry::generated(
            layout::EVENTS,
            json(layout::EVENTS, &data::events(record))?,
            FileFormat::json(),
            EntryKind::Events,
            "Sospensioni, riprese e disconnessioni",
        ),
    ])
}
