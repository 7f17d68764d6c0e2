//! `manifest.json`: every file's digest, size and format with its Allegato 5 metadata.

use serde::{Deserialize, Serialize};

use super::entry::{EntryKind, PackageEntry};
use super::input::{FileRole, PackageSettings};
use super::to_sign::SignatureRequest;
use crate::format::FileFormat;
use crate::metadata::*;
use crate::record::SessionRecord;

/// The package's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `seduta-package/1`.
    pub format: String,
    /// The package's version, from 1 (later versions add the signatures).
    #[serde(default = "first_version")]
    pub version: u32,
    /// Which session.
    pub session: SessionSummary,
    /// When the package was built.
    pub built_at: String,
    /// Every file but the manifest itself, `sincro.xml` and the `.hash` files.
    pub files: Vec<ManifestFile>,
    /// What is to be signed, and by whom.
    pub to_sign: Vec<SignatureRequest>,
    /// The attendance log's verification.
    pub attendance_log: LogSummary,
}

/// The session a package holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Session id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The ente.
    pub ente: String,
    /// The organ.
    pub organ: String,
    /// Date.
    pub date: String,
    /// Opening.
    pub started_at: String,
    /// Closing.
    pub ended_at: String,
}

/// The log's verification as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSummary {
    /// Entries.
    pub entries: u64,
    /// Whether sealed (always, in a package).
    pub sealed: bool,
    /// The seal's hash: the whole log's fingerprint.
    pub last_hash: String,
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The path in the package.
    pub path: String,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The format.
    pub format: FileFormat,
    /// What it is.
    pub kind: EntryKind,
    /// The Allegato 5 metadata.
    pub metadata: DocumentMetadata,
}

fn first_version() -> u32 {
    1
}

struct Context<'a> {
    record: &'a SessionRecord,
    settings: &'a PackageSettings,
    /// The names of the package's detached signatures.
    signatures: Vec<&'a str>,
    /// The names of the package's timestamps (`<signature>.tsr`).
    timestamps: Vec<&'a str>,
}

impl Context<'_> {
    fn identifier(&self, path: &str) -> String {
        format!("{}/{}", self.record.session_id, path)
    }

    fn ente(&self, ruolo: &str) -> Soggetto {
        Soggetto {
            ruolo: ruolo.into(),
            tipo_soggetto: "PAI".into(),
            denominazione: self.record.ente.name.clone(),
            codice_fiscale: None,
            codice_ipa: self.record.ente.codice_ipa.clone(),
        }
    }

    fn person(&self, ruolo: &str, id: &str) -> Soggetto {
        let p = self.record.participant(id);
        Soggetto {
            ruolo: ruolo.into(),
            tipo_soggetto: "PF".into(),
            denominazione: self.record.name_of(id).to_owned(),
            codice_fiscale: p.and_then(|p| p.fiscal_code.clone()),
            codice_ipa: None,
        }
    }

    fn software(&self) -> Soggetto {
        Soggetto {
            ruolo: "Operatore".into(),
            tipo_soggetto: "SW".into(),
            denominazione: format!(
                "{} {}",
                self.settings.software.name, self.settings.software.version
            ),
            codice_fiscale: None,
            codice_ipa: None,
        }
    }

    /// Whether `e` is a detached signature, or a file one of the package's detached
    /// signatures (`<file>.<role>.p7s`) signs.
    fn signed(&self, e: &PackageEntry) -> bool {
        e.kind == EntryKind::Included(FileRole::DetachedSignature)
            || self.signatures.iter().any(|s| {
                s.strip_prefix(e.name.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| rest.ends_with(".p7s") && !rest.contains('/'))
            })
    }

    /// Whether `e` is a timestamp, or a signature one of the package's timestamps
    /// (`<signature>.tsr`) stamps.
    fn timestamped(&self, e: &PackageEntry) -> bool {
        e.kind == EntryKind::Included(FileRole::Timestamp)
            || (e.kind == EntryKind::Included(FileRole::DetachedSignature)
                && self
                    .timestamps
                    .iter()
                    .any(|t| t.strip_suffix(".tsr") == Some(e.name.as_str())))
    }

    fn metadata(&self, e: &PackageEntry, attachments: &[&PackageEntry]) -> DocumentMetadata {
        let r = self.record;
        let formazione = match e.kind {
            EntryKind::Verbale => "a",
            // Received from the signers.
            EntryKind::Included(FileRole::DetachedSignature | FileRole::Timestamp) => "b",
            EntryKind::Included(_) => "c",
            _ => "d",
        };
        let tipologia = match e.kind {
            EntryKind::Verbale => format!("Verbale di seduta della {} (bozza)", r.organ.name),
            EntryKind::Included(FileRole::PreservationRecording) => {
                "Registrazione audio-video della seduta".into()
            }
            EntryKind::Included(FileRole::DetachedSignature) => {
                "Firma digitale CAdES (detached)".into()
            }
            EntryKind::Included(FileRole::Timestamp) => {
                "Marca temporale RFC 3161 della firma".into()
            }
            _ => format!("Documentazione della seduta: {}", e.description),
        };
        let mut soggetti = vec![self.ente("Produttore")];
        match e.kind {
            EntryKind::Verbale
            | EntryKind::Included(FileRole::PreservationRecording | FileRole::DetachedSignature) => {
                soggetti.push(self.person("Autore", &r.segretario));
                soggetti.push(self.person("Autore", &r.presiding));
            }
            _ => soggetti.push(self.ente("Autore")),
        }
        soggetti.push(self.software());
        let date =
            crate::time::parse_date(&r.date).map_or(r.date.clone(), crate::time::italian_date);
        DocumentMetadata {
            id_doc: IdDoc {
                impronta: e.sha256.clone(),
                algoritmo: "SHA-256".into(),
                identificativo: self.identifier(&e.name),
            },
            modalita_di_formazione: formazione.into(),
            tipologia_documentale: tipologia,
            dati_di_registrazione: DatiDiRegistrazione {
                tipologia_di_flusso: "I".into(),
                tipo_registro: "Nessuno".into(),
                data_registrazione: self.settings.built_at.clone(),
                numero_documento: r.session_id.clone(),
            },
            soggetti,
            chiave_descrittiva: ChiaveDescrittiva {
                oggetto: format!("{} del {date}: {}", r.organ.name, e.description),
                parole_chiave: vec![r.organ.name.clone(), "seduta".into(), r.date.clone()],
            },
            allegati: Allegati {
                numero_allegati: attachments.len() as u32,
                indice_allegati: attachments
                    .iter()
                    .map(|a| IndiceAllegato {
                        id_doc: self.identifier(&a.name),
                        descrizione: a.description.clone(),
                    })
                    .collect(),
            },
            classificazione: self.settings.classification.clone(),
            riservato: true,
            identificativo_del_formato: IdentificativoDelFormato {
                formato: e.format.mime.clone(),
                prodotto_software: ProdottoSoftware {
                    nome_prodotto: self.settings.software.name.clone(),
                    versione_prodotto: self.settings.software.version.clone(),
                    produttore: self.settings.software.producer.clone(),
                },
            },
            verifica: Verifica {
                firmato_digitalmente: self.signed(e),
                sigillato_elettronicamente: false,
                marcatura_temporale: self.timestamped(e),
                conformita_copie_immagine_su_supporto_informatico: false,
            },
            nome_del_documento: e.name.rsplit('/').next().unwrap_or(&e.name).to_owned(),
            versione_del_documento: self.settings.version.to_string(),
            tempo_di_conservazione: self.settings.retention_years,
            note: (e.kind == EntryKind::Verbale).then(|| {
                "Bozza generata dal registro della seduta: il segretario la completa e la firma con il presidente.".to_owned()
            }),
        }
    }
}

/// The manifest of `entries` (the package's files so far: neither the manifest nor
/// the index). The verbale lists every other file as its attachment.
pub(crate) fn build(
    record: &SessionRecord,
    settings: &PackageSettings,
    entries: &[PackageEntry],
    to_sign: Vec<SignatureRequest>,
    log: LogSummary,
) -> Manifest {
    let signatures = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Included(FileRole::DetachedSignature))
        .map(|e| e.name.as_str())
        .collect();
    let timestamps = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Included(FileRole::Timestamp))
        .map(|e| e.name.as_str())
        .collect();
    let cx = Context {
        record,
        settings,
        signatures,
        timestamps,
    };
    let others: Vec<&PackageEntry> = entries
        .iter()
        .filter(|e| e.kind != EntryKind::Verbale)
        .collect();
    let files = entries
        .iter()
        .map(|e| {
            let attachments: &[&PackageEntry] = if e.kind == EntryKind::Verbale {
                &others
            } else {
                &[]
            };
            ManifestFile {
                path: e.name.clone(),
                sha256: e.sha256.clone(),
                size: e.size,
                format: e.format.clone(),
                kind: e.kind,
                metadata: cx.metadata(e, attachments),
            }
        })
        .collect();
    Manifest {
        format: "seduta-package/1".into(),
        version: settings.version,
        session: SessionSummary {
            id: record.session_id.clone(),
            title: record.title.clone(),
            ente: record.ente.name.clone(),
            organ: record.organ.name.clone(),
            date: record.date.clone(),
            started_at: record.started_at.clone(),
            ended_at: record.ended_at.clone(),
        },
        built_at: settings.built_at.clone(),
        files,
        to_sign,
        attendance_log: log,
    }
}
