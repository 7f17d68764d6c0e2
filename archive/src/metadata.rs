//! AgID metadata of a documento informatico (Linee guida 2021, Allegato 5), with the
//! schema's element names, as they appear in `manifest.json`.

use serde::{Deserialize, Serialize};

/// The Allegato 5 metadata of one file of the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentMetadata {
    /// Identification: digest and identifier.
    pub id_doc: IdDoc,
    /// How the document was formed: `a` (created with software), `b` (acquired),
    /// `c` (recorded from a computer process or transaction), `d` (generated from
    /// databases).
    pub modalita_di_formazione: String,
    /// The kind of document ("Verbale di seduta della Giunta comunale").
    pub tipologia_documentale: String,
    /// Registration data.
    pub dati_di_registrazione: DatiDiRegistrazione,
    /// The people and bodies involved, with their roles.
    pub soggetti: Vec<Soggetto>,
    /// Subject and keywords.
    pub chiave_descrittiva: ChiaveDescrittiva,
    /// The document's attachments.
    pub allegati: Allegati,
    /// Place in the ente's classification plan (titolario), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classificazione: Option<Classificazione>,
    /// Whether access is restricted (Giunta sessions are private: always `true`).
    pub riservato: bool,
    /// Format and the software that produced it.
    pub identificativo_del_formato: IdentificativoDelFormato,
    /// Signatures, seals, timestamps present on the document.
    pub verifica: Verifica,
    /// The file's name.
    pub nome_del_documento: String,
    /// The document's version.
    pub versione_del_documento: String,
    /// Retention period in years (9999: permanent).
    pub tempo_di_conservazione: u32,
    /// Free notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `IdDoc`: the document's digest and identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdDoc {
    /// The digest, lowercase hex (as in the `.hash` file).
    pub impronta: String,
    /// The digest algorithm: `SHA-256`.
    pub algoritmo: String,
    /// A unique identifier: `<session id>/<path in the package>`.
    pub identificativo: String,
}

/// `DatiDiRegistrazione`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DatiDiRegistrazione {
    /// `E` incoming, `U` outgoing, `I` internal: always `I` here.
    pub tipologia_di_flusso: String,
    /// `Nessuno` until the ente registers the document in a protocol or repertorio.
    pub tipo_registro: String,
    /// When the package was built (RFC 3339).
    pub data_registrazione: String,
    /// The number given to the document (the session id).
    pub numero_documento: String,
}

/// One entry of `Soggetti`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Soggetto {
    /// `Autore`, `Produttore`, `Operatore`, …
    pub ruolo: String,
    /// `PF` (person), `PAI` (Italian public administration), `SW` (software).
    pub tipo_soggetto: String,
    /// The person's full name, the administration's or the software's name.
    pub denominazione: String,
    /// The person's fiscal code, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    /// The administration's IPA code, when known.
    #[serde(rename = "CodiceIPA", skip_serializing_if = "Option::is_none")]
    pub codice_ipa: Option<String>,
}

/// `ChiaveDescrittiva`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChiaveDescrittiva {
    /// What the document is about.
    pub oggetto: String,
    /// Keywords.
    pub parole_chiave: Vec<String>,
}

/// `Allegati`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Allegati {
    /// How many.
    pub numero_allegati: u32,
    /// Each attachment's identifier and description.
    pub indice_allegati: Vec<IndiceAllegato>,
}

/// One attachment of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndiceAllegato {
    /// The attachment's `IdDoc.Identificativo`.
    pub id_doc: String,
    /// What it is.
    pub descrizione: String,
}

/// `Classificazione`: the place in the ente's titolario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Classificazione {
    /// The index (`1.6`).
    pub indice_di_classificazione: String,
    /// Its description.
    pub descrizione: String,
    /// The plan's name.
    pub piano_di_classificazione: String,
}

/// `IdentificativoDelFormato`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentificativoDelFormato {
    /// The format (media type).
    pub formato: String,
    /// The software that produced the file.
    pub prodotto_software: ProdottoSoftware,
}

/// The software that produced a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProdottoSoftware {
    /// Its name.
    pub nome_prodotto: String,
    /// Its version.
    pub versione_prodotto: String,
    /// Who makes it.
    pub produttore: String,
}

/// `Verifica`: what the document carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Verifica {
    /// Digitally signed: `true` for a file a detached signature of the package signs,
    /// and for the signature itself (the first version has none).
    pub firmato_digitalmente: bool,
    /// Electronically sealed.
    pub sigillato_elettronicamente: bool,
    /// Timestamped.
    pub marcatura_temporale: bool,
    /// Conformity of image copies attested.
    pub conformita_copie_immagine_su_supporto_informatico: bool,
}
