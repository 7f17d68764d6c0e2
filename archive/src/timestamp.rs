//! RFC 3161 timestamps over a detached signature, CAdES-T style: the
//! `messageImprint` is the SHA-256 of the value of the SignerInfo's `signature`
//! OCTET STRING (RFC 5126 §6.1.1, the `signature-time-stamp` attribute's imprint).
//!
//! [`signature_imprint`] gives that digest from a `.p7s`, [`request`] the DER
//! `TimeStampReq` to POST (`application/timestamp-query`), and [`check_response`]
//! checks what the TSA answered (`application/timestamp-reply`): status granted, the
//! token's `TSTInfo.messageImprint` equal to what was asked, the nonce echoed, the
//! token's CMS signature verifying with the TSA certificate carried in it (which
//! must be for `timeStamping`), chaining to a [`TrustList`] when one is given.
//!
//! The ASN.1 types of RFC 3161 are declared here with `der`'s derive (the same as
//! RustCrypto's `x509-tsp`, without its `cmpv2` dependency); the CMS parts are the
//! `cms` crate's and the signature check is [`crate::signature`]'s.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Sequence};
use serde::Serialize;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use crate::signature::{SignatureError, TrustList, certificates, parse, verify_signer};

/// id-ct-TSTInfo, 1.2.840.113549.1.9.16.1.4.
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-kp-timeStamping.
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// extKeyUsage.
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// `MessageImprint` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u32,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// `TimeStampResp` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<ContentInfo>,
}

/// `Accuracy` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<u64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GeneralizedTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<Any>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// Why a timestamp could not be had or was not accepted. Each has a stable
/// [`code`](Self::code).
#[derive(Debug, Error)]
pub enum TimestampError {
    /// The TSA could not be reached or answered with an HTTP error (set by the
    /// caller that does the HTTP).
    #[error("the timestamp authority could not be reached: {0}")]
    Unreachable(String),
    /// The answer is not a timestamp response (garbage, truncated, HTML…).
    #[error("the timestamp authority's answer is not a timestamp response: {0}")]
    Corrupt(String),
    /// The TSA refused (status other than granted / granted with mods).
    #[error("the timestamp authority refused the request (status {status}): {text}")]
    Refused {
        /// The PKIStatus.
        status: u32,
        /// Its statusString, if any.
        text: String,
    },
    /// The token is over another imprint than the one asked.
    #[error("the timestamp is over another digest than the one requested")]
    ImprintMismatch,
    /// The token does not echo the request's nonce.
    #[error("the timestamp does not carry the request's nonce")]
    NonceMismatch,
    /// The token's signature does not verify, or its certificate is missing or not
    /// a timestamping certificate.
    #[error("the timestamp's signature does not verify: {0}")]
    Invalid(String),
    /// The TSA's certificate does not chain to the configured TSA trust list.
    #[error("the timestamp authority is not trusted: {0}")]
    Untrusted(String),
    /// The signature to be timestamped could not be read.
    #[error("the signature to timestamp cannot be read: {0}")]
    Signature(String),
}

impl TimestampError {
    /// A stable code for the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            TimestampError::Unreachable(_) => "timestamp_unreachable",
            TimestampError::Corrupt(_) => "timestamp_corrupt",
            TimestampError::Refused { .. } => "timestamp_refused",
            TimestampError::ImprintMismatch => "timestamp_imprint_mismatch",
            TimestampError::NonceMismatch => "timestamp_nonce_mismatch",
            TimestampError::Invalid(_) => "timestamp_invalid",
            TimestampError::Untrusted(_) => "timestamp_untrusted",
            TimestampError::Signature(_) => "timestamp_bad_signature_file",
        }
    }
}

/// A checked timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampReport {
    /// The TSA's time (`genTime`), RFC 3339 UTC.
    pub time: String,
    /// The token's serial number, hex.
    pub serial: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// The timestamped imprint (SHA-256), hex.
    pub imprint_sha256: String,
    /// `Some(true)` when the TSA chains to the trust list; `None` without one.
    pub trusted: Option<bool>,
}

/// The SHA-256 of the signature value (the content of the `signature` OCTET
/// STRING) of the first SignerInfo of `p7s` (DER or PEM): what a CAdES-T
/// signature timestamp covers.
pub fn signature_imprint(p7s: &[u8]) -> Result<[u8; 32], TimestampError> {
    let signed = parse::signed_data(p7s).map_err(|e| TimestampError::Signature(e.to_string()))?;
    let info = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| TimestampError::Signature("no signer".into()))?;
    Ok(Sha256::digest(info.signature.as_bytes()).into())
}

fn nonce_int(nonce: u64) -> Result<Int, der::Error> {
    Int::from_der(&nonce.to_der()?)
}

/// The DER `TimeStampReq` for the SHA-256 `imprint`, with `nonce` and `certReq`
/// true (the token then carries the TSA certificate).
pub fn request(imprint: &[u8; 32], nonce: u64) -> Result<Vec<u8>, TimestampError> {
    let bad = |e: der::Error| TimestampError::Corrupt(format!("request: {e}"));
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(imprint.to_vec()).map_err(bad)?,
        },
        req_policy: None,
        nonce: Some(nonce_int(nonce).map_err(bad)?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(bad)
}

fn invalid(e: SignatureError) -> TimestampError {
    match e {
        SignatureError::Untrusted(m) => TimestampError::Untrusted(m),
        other => TimestampError::Invalid(format!("{} ({})", other, other.code())),
    }
}

/// Checks the DER `TimeStampResp` `response` as the answer to
/// [`request`]`(imprint, nonce)`. `trust`: the TSA's CA certificates (empty: the
/// token's signature is checked, its certificate only reported).
pub fn check_response(
    response: &[u8],
    imprint: &[u8; 32],
    nonce: Option<u64>,
    trust: &TrustList,
) -> Result<TimestampReport, TimestampError> {
    let resp =
        TimeStampResp::from_der(response).map_err(|e| TimestampError::Corrupt(e.to_string()))?;
    if resp.status.status > 1 {
        return Err(TimestampError::Refused {
            status: resp.status.status,
            text: resp.status.status_string.unwrap_or_default().join("; "),
        });
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| TimestampError::Corrupt("granted without a token".into()))?;
    let token_der = token
        .to_der()
        .map_err(|e| TimestampError::Corrupt(e.to_string()))?;
    check_token(&token_der, imprint, nonce, trust)
}

/// Checks a DER `TimeStampToken` (a CMS ContentInfo) over `imprint`; `nonce`, when
/// given, must be echoed.
pub fn check_token(
    token: &[u8],
    imprint: &[u8; 32],
    nonce: Option<u64>,
    trust: &TrustList,
) -> Result<TimestampReport, TimestampError> {
    let signed = parse::signed_data(token).map_err(|e| TimestampError::Corrupt(e.to_string()))?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TimestampError::Corrupt(format!(
            "content type {} is not TSTInfo",
            signed.encap_content_info.econtent_type
        )));
    }
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TimestampError::Corrupt("no TSTInfo".into()))?;
    let tst_der = content.value();
    let tst =
        TstInfo::from_der(tst_der).map_err(|e| TimestampError::Corrupt(format!("TSTInfo: {e}")))?;
    if tst.message_imprint.hash_algorithm.oid != SHA256
        || tst.message_imprint.hashed_message.as_bytes() != imprint
    {
        return Err(TimestampError::ImprintMismatch);
    }
    if let Some(nonce) = nonce {
        let want = nonce_int(nonce).map_err(|e| TimestampError::Corrupt(e.to_string()))?;
        if tst.nonce.as_ref() != Some(&want) {
            return Err(TimestampError::NonceMismatch);
        }
    }
    let info = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| TimestampError::Invalid("no signer".into()))?;
    let pool = certificates(&signed);
    // The signed attributes' message digest is over the TSTInfo's DER (the
    // eContent's value); the signer's certificate is the TSA's.
    let digest = Sha256::digest(tst_der);
    let verified = verify_signer(info, &digest, &pool, trust).map_err(invalid)?;
    let cert = pool
        .iter()
        .find(|c| crate::signature::is_signer(info, c))
        .ok_or_else(|| TimestampError::Invalid("no TSA certificate".into()))?;
    let for_timestamping = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == EXT_KEY_USAGE)
        .filter_map(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok())
        .any(|eku| eku.0.contains(&ID_KP_TIME_STAMPING));
    if !for_timestamping {
        return Err(TimestampError::Invalid(
            "the TSA certificate is not for timeStamping".into(),
        ));
    }
    let time = OffsetDateTime::from(tst.gen_time.to_system_time())
        .format(&Rfc3339)
        .map_err(|e| TimestampError::Corrupt(e.to_string()))?;
    Ok(TimestampReport {
        time,
        serial: hex::encode(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        tsa: cert.tbs_certificate.subject.to_string(),
        imprint_sha256: hex::encode(imprint),
        trusted: verified.trusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back() {
        let imprint = [7u8; 32];
        let der = request(&imprint, 0x8000_0000_0000_0001).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.version, 1);
        assert!(req.cert_req);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), &imprint);
        assert_eq!(req.nonce, Some(nonce_int(0x8000_0000_0000_0001).unwrap()));
    }

    #[test]
    fn garbage_is_corrupt() {
        let e = check_response(b"<html>oops</html>", &[0; 32], Some(1), &TrustList::none());
        assert_eq!(e.unwrap_err().code(), "timestamp_corrupt");
    }

    #[test]
    fn a_rejection_is_refused() {
        let resp = TimeStampResp {
            status: PkiStatusInfo {
                status: 2,
                status_string: Some(vec!["bad request".into()]),
                fail_info: None,
            },
            time_stamp_token: None,
        };
        let e = check_response(&resp.to_der().unwrap(), &[0; 32], None, &TrustList::none());
        assert_eq!(e.unwrap_err().code(), "timestamp_refused");
    }
}
