use serde::{Deserialize, Serialize};

use crate::record::SessionRecord;

/// A file the package asks to be signed, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRequest {
    /// The file's path in the package.
    pub file: String,
    /// Its SHA-256 (what each signature's message digest must equal).
    pub sha256: String,
    /// The signature form: `CAdES detached (.p7s)`.
    pub form: String,
    /// Who signs, one detached signature each.
    pub signers: Vec<RequestedSigner>,
}

/// One signer of a [`SignatureRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedSigner {
    /// `presidente` or `segretario`.
    pub role: String,
    /// The participant id.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// The name the signature file is expected under: `<file>.<role>.p7s`.
    pub signature_file: String,
}

pub(crate) fn request(record: &SessionRecord, file: &str, sha256: &str) -> SignatureRequest {
    let signer = |role: &str, id: &str| RequestedSigner {
        role: role.to_owned(),
        participant: id.to_owned(),
        name: record.name_of(id).to_owned(),
        signature_file: format!("{file}.{role}.p7s"),
    };
    SignatureRequest {
        file: file.to_owned(),
        sha256: sha256.to_owned(),
        form: "CAdES detached (.p7s)".into(),
        signers: vec![
            signer("presidente", &record.presiding),
            signer("segretario", &record.segretario),
        ],
    }
}
