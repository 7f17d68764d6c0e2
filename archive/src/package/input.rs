use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::format::FileFormat;
use crate::metadata::Classificazione;

/// A file made elsewhere (a recording, the chapters, the migration register) to be
/// carried in the package as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedFile {
    /// Where it is on disk. It is read twice (hashed, then copied) and never held in
    /// memory whole.
    pub source: PathBuf,
    /// Its path inside the package, `/`-separated (`registrazioni/seduta.mp4`).
    pub name: String,
    /// Its format, as declared by who made it.
    pub format: FileFormat,
    /// What it is.
    pub role: FileRole,
    /// A short Italian description for the metadata ("Registrazione audio-video").
    pub description: String,
}

/// What an included file is, which decides its metadata and whether it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The preservation copy (MP4, H.264 High, FLAC/PCM): signed by the presiding
    /// member and the segretario.
    PreservationRecording,
    /// A per-track working master (WebM): the migration's source.
    WorkingMaster,
    /// The audio mix (FLAC or Opus).
    AudioMix,
    /// Chapter markers (TTML or JSON).
    Chapters,
    /// The migration register (riversamento).
    MigrationRegister,
    /// A detached CAdES signature (`.p7s`) of another file of the package, named
    /// `<file>.<role>.p7s` as [`SignatureRequest`](super::SignatureRequest) asks:
    /// carried in a later version of the package once collected. Its metadata and
    /// the signed file's say `Verifica.FirmatoDigitalmente: true`.
    DetachedSignature,
    /// An RFC 3161 timestamp response (`.tsr`) over the signature value of a carried
    /// detached signature, named `<signature>.tsr` (`<file>.<role>.p7s.tsr`). It and
    /// the signature it stamps say `Verifica.MarcaturaTemporale: true`.
    Timestamp,
    /// Anything else.
    Other,
}

/// The software that builds the package, as the metadata name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// Product name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Who makes it.
    pub producer: String,
}

impl Default for Software {
    fn default() -> Self {
        Self {
            name: "Seduta".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            producer: "Seduta project".into(),
        }
    }
}

/// The ente's preservation settings the package needs beyond the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSettings {
    /// When the package is built (RFC 3339): registration date and SInCRO time
    /// reference. Given by the caller so that a package can be rebuilt identically.
    pub built_at: String,
    /// The software.
    pub software: Software,
    /// SInCRO `Submitter`: who submits the package (the ente's office).
    pub submitter: String,
    /// SInCRO `Holder`: who holds the documents (the ente).
    pub holder: String,
    /// SInCRO `AuthorizedSigner`: who is authorised to sign the index; the
    /// segretario's name when `None`.
    pub authorized_signer: Option<String>,
    /// Place in the ente's titolario.
    pub classification: Option<Classificazione>,
    /// Retention in years (`TempoDiConservazione`; 9999 means permanent, the rule
    /// for verbali and deliberations).
    pub retention_years: u32,
    /// SInCRO `LawsAndRegulations`.
    pub laws: Vec<String>,
    /// The package's version, from 1 (a session's package is built again, as a new
    /// version, when the signatures are collected); in the manifest.
    #[serde(default = "first_version")]
    pub version: u32,
    /// A verbale already made, carried as it is instead of rendering it again: a
    /// later version must hold exactly the bytes that were signed.
    #[serde(default)]
    pub verbale: Option<PathBuf>,
}

fn first_version() -> u32 {
    1
}

impl PackageSettings {
    /// Settings with the defaults for a Giunta of `ente_name`, built at `built_at`.
    pub fn new(built_at: impl Into<String>, ente_name: &str) -> Self {
        Self {
            built_at: built_at.into(),
            software: Software::default(),
            submitter: ente_name.to_owned(),
            holder: ente_name.to_owned(),
            authorized_signer: None,
            classification: None,
            retention_years: 9999,
            laws: vec![
                "D.Lgs. 82/2005 (Codice dell'amministrazione digitale)".into(),
                "Linee guida AgID sulla formazione, gestione e conservazione dei documenti informatici (2021)".into(),
                "D.Lgs. 267/2000 (TUEL), artt. 48, 97".into(),
            ],
            version: 1,
            verbale: None,
        }
    }
}
