//! From uploaded bytes (DER or PEM) to a CMS `SignedData`, telling "not a
//! signature" apart from "a damaged signature".

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};

use super::SignatureError;

/// id-signedData, 1.2.840.113549.1.7.2.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// The DER bytes of the PKCS#7 content-type arc 1.2.840.113549.1.7 that every CMS
/// message starts with (after its outer headers).
const PKCS7_ARC: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

fn looks_like_cms(der: &[u8]) -> bool {
    der.first() == Some(&0x30)
        && der
            .windows(PKCS7_ARC.len())
            .take(16)
            .any(|w| w == PKCS7_ARC)
}

/// The DER of an upload: PEM (`PKCS7` or `CMS` label) is decoded, anything else is
/// taken as DER.
fn to_der(upload: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let trimmed = upload.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN ") {
        return Ok(upload.to_vec());
    }
    let (label, der) =
        der::pem::decode_vec(trimmed).map_err(|e| SignatureError::Corrupt(format!("PEM: {e}")))?;
    match label {
        "PKCS7" | "CMS" | "SIGNED DATA" => Ok(der),
        _ => Err(SignatureError::NotASignature),
    }
}

/// Parses an uploaded `.p7s` into its `SignedData`.
pub fn signed_data(upload: &[u8]) -> Result<SignedData, SignatureError> {
    let der = to_der(upload)?;
    if !looks_like_cms(&der) {
        return Err(SignatureError::NotASignature);
    }
    let info = ContentInfo::from_der(&der).map_err(|e| SignatureError::Corrupt(e.to_string()))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(SignatureError::NotSignedData);
    }
    let inner = info
        .content
        .to_der()
        .map_err(|e| SignatureError::Corrupt(e.to_string()))?;
    SignedData::from_der(&inner).map_err(|e| SignatureError::Corrupt(e.to_string()))
}
