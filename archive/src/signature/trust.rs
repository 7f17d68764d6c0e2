//! The optional trust check: the signer's certificate must chain, through the
//! certificates carried in the signature, to one of the configured CA
//! certificates, every link verifying and valid when the file was signed.

use std::time::SystemTime;

use der::{Decode, Encode};
use x509_cert::Certificate;

use super::{SignatureError, algorithms};

/// How many certificates a chain may have between the signer and the anchor.
const MAX_DEPTH: usize = 8;

/// The CA certificates whose signers are trusted (for example the AgID list of
/// qualified trust service providers, as certificates). Empty: no trust check.
#[derive(Debug, Clone, Default)]
pub struct TrustList {
    anchors: Vec<Certificate>,
}

impl TrustList {
    /// No trust check: any certificate's signature is reported, with
    /// `trusted: None`.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trust lists from PEM text holding one or more `CERTIFICATE` blocks.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignatureError> {
        let anchors = Certificate::load_pem_chain(pem)
            .map_err(|e| SignatureError::Corrupt(format!("trust list: {e}")))?;
        Ok(Self { anchors })
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), SignatureError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| SignatureError::Corrupt(format!("trust list: {e}")))?;
        self.anchors.push(cert);
        Ok(())
    }

    /// Whether there is nothing to check against.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }
}

fn valid_at(cert: &Certificate, at: SystemTime) -> bool {
    let v = &cert.tbs_certificate.validity;
    v.not_before.to_system_time() <= at && at <= v.not_after.to_system_time()
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    algorithms::verify(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        &tbs,
        cert.signature.raw_bytes(),
    )
    .is_ok()
}

fn same(a: &Certificate, b: &Certificate) -> bool {
    matches!((a.to_der(), b.to_der()), (Ok(x), Ok(y)) if x == y)
}

/// Checks that `signer` chains to an anchor of `trust` through `pool`, every
/// certificate valid at `at`.
pub fn check_chain(
    signer: &Certificate,
    pool: &[Certificate],
    trust: &TrustList,
    at: SystemTime,
) -> Result<(), SignatureError> {
    let mut current = signer.clone();
    for _ in 0..MAX_DEPTH {
        if !valid_at(&current, at) {
            return Err(SignatureError::Untrusted(format!(
                "certificate `{}` was not valid at the signing time",
                current.tbs_certificate.subject
            )));
        }
        if trust.anchors.iter().any(|a| same(a, &current)) {
            return Ok(());
        }
        if let Some(anchor) = trust.anchors.iter().find(|a| signed_by(&current, a)) {
            return if valid_at(anchor, at) {
                Ok(())
            } else {
                Err(SignatureError::Untrusted(
                    "the trusted CA certificate was not valid at the signing time".into(),
                ))
            };
        }
        match pool
            .iter()
            .find(|c| !same(c, &current) && signed_by(&current, c))
        {
            Some(next) => current = next.clone(),
            None => {
                return Err(SignatureError::Untrusted(format!(
                    "no trusted certificate issued `{}`",
                    current.tbs_certificate.subject
                )));
            }
        }
    }
    Err(SignatureError::Untrusted(
        "certificate chain too long".into(),
    ))
}
