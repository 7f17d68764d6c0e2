//! Checking one signature value with a public key: RSA PKCS#1 v1.5, RSA-PSS and
//! ECDSA P-256, all over SHA-256.

use const_oid::ObjectIdentifier;
use rsa::pkcs1::{DecodeRsaPublicKey, RsaPssParams};
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256};
use signature::Verifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::SignatureError;

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-sha256.
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

fn unsupported(what: &str, oid: &ObjectIdentifier) -> SignatureError {
    SignatureError::Unsupported(format!("{what} {oid}"))
}

/// Verifies `signature` over `message` (hashed here with SHA-256) with `key`,
/// under `algorithm`; returns the algorithm's name for the report.
pub fn verify(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<&'static str, SignatureError> {
    let raw = key.subject_public_key.raw_bytes();
    match key.algorithm.oid {
        RSA => {
            let public = RsaPublicKey::from_pkcs1_der(raw)
                .map_err(|e| SignatureError::Corrupt(format!("RSA key: {e}")))?;
            let hashed = Sha256::digest(message);
            match algorithm.oid {
                RSA | RSA_SHA256 => public
                    .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, signature)
                    .map(|()| "RSA PKCS#1 v1.5 SHA-256")
                    .map_err(|_| SignatureError::Invalid),
                RSA_PSS => {
                    let params = algorithm
                        .parameters
                        .as_ref()
                        .ok_or_else(|| {
                            SignatureError::Corrupt("RSA-PSS without parameters".into())
                        })?
                        .decode_as::<RsaPssParams<'_>>()
                        .map_err(|e| SignatureError::Corrupt(format!("RSA-PSS parameters: {e}")))?;
                    if params.hash.oid != SHA256 {
                        return Err(unsupported("RSA-PSS hash", &params.hash.oid));
                    }
                    public
                        .verify(
                            Pss::new_with_salt::<Sha256>(usize::from(params.salt_len)),
                            &hashed,
                            signature,
                        )
                        .map(|()| "RSA-PSS SHA-256")
                        .map_err(|_| SignatureError::Invalid)
                }
                other => Err(unsupported("signature algorithm", &other)),
            }
        }
        EC_PUBLIC_KEY => {
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if curve != Some(P256) {
                return Err(SignatureError::Unsupported(
                    "elliptic curve other than P-256".into(),
                ));
            }
            if !matches!(algorithm.oid, ECDSA_SHA256 | EC_PUBLIC_KEY) {
                return Err(unsupported("signature algorithm", &algorithm.oid));
            }
            let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map_err(|e| SignatureError::Corrupt(format!("EC key: {e}")))?;
            let sig =
                p256::ecdsa::Signature::from_der(signature).map_err(|_| SignatureError::Invalid)?;
            public
                .verify(message, &sig)
                .map(|()| "ECDSA P-256 SHA-256")
                .map_err(|_| SignatureError::Invalid)
        }
        other => Err(unsupported("public key", &other)),
    }
}
