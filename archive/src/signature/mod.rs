//! Checking uploaded detached CAdES signatures (`.p7s`, DER or PEM) over a file.
//!
//! For each signer: the CMS structure is read, the signed attributes' message
//! digest must equal the file's SHA-256 (otherwise it is another file's
//! signature), the signature over the signed attributes must verify with the
//! signer's certificate carried in the message, and — when a [`TrustList`] is given —
//! that certificate must chain to a trusted CA and be valid at the signing time.
//! Signer names (CN, fiscal code from serialNumber) and the signing time are
//! reported. RFC 3161 timestamps over a signature are in [`crate::timestamp`].

mod algorithms;
mod error;
mod names;
pub(crate) mod parse;
mod trust;

use std::io::Read;
use std::time::SystemTime;

use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::Encode;
use der::asn1::OctetStringRef;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_cert::Certificate;

pub use error::SignatureError;
pub use names::Signer;
pub use trust::TrustList;

const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// The result of a verified signature file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// The signed file's SHA-256, lowercase hex.
    pub file_sha256: String,
    /// Every signer of the file (one, for a detached signature per person).
    pub signers: Vec<VerifiedSigner>,
}

/// One verified signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedSigner {
    /// Who, from their certificate.
    pub signer: Signer,
    /// The signing time they declared (signed attribute), RFC 3339 UTC.
    pub signing_time: Option<String>,
    /// The signature algorithm.
    pub algorithm: String,
    /// `Some(true)` when the certificate chains to the trust list; `None` when no
    /// trust list was given. (An untrusted signer is an error, never `Some(false)`.)
    pub trusted: Option<bool>,
}

/// Checks the detached signature `p7s` (DER or PEM) over the file read from
/// `content`, which is hashed as it streams.
pub fn verify_detached(
    p7s: &[u8],
    content: impl Read,
    trust: &TrustList,
) -> Result<SignatureReport, SignatureError> {
    let signed = parse::signed_data(p7s)?;
    if signed.encap_content_info.econtent.is_some() {
        return Err(SignatureError::NotDetached);
    }
    if signed.signer_infos.0.is_empty() {
        return Err(SignatureError::NoSigner);
    }
    let (file_sha256, _) = crate::digest::copy_hashing(content, std::io::sink())?;
    let digest = hex::decode(&file_sha256).unwrap_or_default();
    let pool = certificates(&signed);
    let signers = signed
        .signer_infos
        .0
        .iter()
        .map(|info| verify_signer(info, &digest, &pool, trust))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignatureReport {
        file_sha256,
        signers,
    })
}

pub(crate) fn certificates(signed: &SignedData) -> Vec<Certificate> {
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect()
}

pub(crate) fn is_signer(info: &SignerInfo, cert: &Certificate) -> bool {
    match &info.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == cert.tbs_certificate.issuer
                && id.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == SUBJECT_KEY_ID)
            .any(|e| {
                der::Decode::from_der(e.extn_value.as_bytes())
                    .is_ok_and(|inner: OctetStringRef<'_>| inner.as_bytes() == ski.0.as_bytes())
            }),
    }
}

pub(crate) fn verify_signer(
    info: &SignerInfo,
    digest: &[u8],
    pool: &[Certificate],
    trust: &TrustList,
) -> Result<VerifiedSigner, SignatureError> {
    if info.digest_alg.oid != algorithms::SHA256 {
        return Err(SignatureError::Unsupported(format!(
            "digest {}",
            info.digest_alg.oid
        )));
    }
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or(SignatureError::NoMessageDigest)?;
    let value = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let signed_digest = value(MESSAGE_DIGEST)
        .ok_or(SignatureError::NoMessageDigest)?
        .decode_as::<OctetStringRef<'_>>()
        .map_err(|e| SignatureError::Corrupt(format!("message digest: {e}")))?;
    if signed_digest.as_bytes() != digest {
        return Err(SignatureError::DigestMismatch);
    }
    let signing_time = value(SIGNING_TIME)
        .map(|v| {
            v.to_der()
                .and_then(|d| <x509_cert::time::Time as der::Decode>::from_der(&d))
        })
        .transpose()
        .map_err(|e| SignatureError::Corrupt(format!("signing time: {e}")))?
        .map(|t| t.to_system_time());
    let cert = pool
        .iter()
        .find(|c| is_signer(info, c))
        .ok_or(SignatureError::NoCertificate)?;
    // The signature covers the signed attributes' DER as a SET OF (RFC 5652 §5.4).
    let message = attrs
        .to_der()
        .map_err(|e| SignatureError::Corrupt(format!("signed attributes: {e}")))?;
    let algorithm = algorithms::verify(
        &cert.tbs_certificate.subject_public_key_info,
        &info.signature_algorithm,
        &message,
        info.signature.as_bytes(),
    )?;
    let trusted = if trust.is_empty() {
        None
    } else {
        trust::check_chain(
            cert,
            pool,
            trust,
            signing_time.unwrap_or_else(SystemTime::now),
        )?;
        Some(true)
    };
    Ok(VerifiedSigner {
        signer: names::signer(cert),
        signing_time: signing_time.and_then(|t| OffsetDateTime::from(t).format(&Rfc3339).ok()),
        algorithm: algorithm.to_owned(),
        trusted,
    })
}
