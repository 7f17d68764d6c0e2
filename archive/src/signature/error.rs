use thiserror::Error;

/// Why an uploaded signature is refused. Each has a stable [`code`](Self::code).
#[derive(Debug, Error)]
pub enum SignatureError {
    /// The upload is not a CMS signature at all (a PDF, a certificate, text…).
    #[error("the file is not a signature (.p7s)")]
    NotASignature,
    /// It looks like a CMS signature but cannot be read (truncated, altered).
    #[error("the signature file is damaged: {0}")]
    Corrupt(String),
    /// A CMS message, but not a signature (enveloped data, for example).
    #[error("the CMS message is not signed data")]
    NotSignedData,
    /// The signature carries its content (.p7m): a detached .p7s is expected.
    #[error("the signature is not detached (it contains the signed content)")]
    NotDetached,
    /// No signer in the message.
    #[error("the signature has no signer")]
    NoSigner,
    /// An algorithm this check does not support.
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// CAdES needs signed attributes with the message digest; they are missing.
    #[error("the signature has no signed message digest")]
    NoMessageDigest,
    /// The signature is over another file: its digest is not this file's.
    #[error("the signature is for another file (digest mismatch)")]
    DigestMismatch,
    /// The signer's certificate is not in the signature.
    #[error("the signer's certificate is missing")]
    NoCertificate,
    /// The signature value does not verify with the signer's certificate.
    #[error("the signature does not verify with the signer's certificate")]
    Invalid,
    /// The signer's certificate does not chain to a trusted certificate, or was not
    /// valid when the file was signed.
    #[error("the signer is not trusted: {0}")]
    Untrusted(String),
    /// The signed file could not be read.
    #[error("reading the signed file: {0}")]
    Io(#[from] std::io::Error),
}

impl SignatureError {
    /// A stable code for the API and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::NotASignature => "signature_not_cms",
            SignatureError::Corrupt(_) => "signature_corrupt",
            SignatureError::NotSignedData => "signature_not_signed_data",
            SignatureError::NotDetached => "signature_not_detached",
            SignatureError::NoSigner => "signature_no_signer",
            SignatureError::Unsupported(_) => "signature_unsupported_algorithm",
            SignatureError::NoMessageDigest => "signature_no_message_digest",
            SignatureError::DigestMismatch => "signature_digest_mismatch",
            SignatureError::NoCertificate => "signature_no_certificate",
            SignatureError::Invalid => "signature_invalid",
            SignatureError::Untrusted(_) => "signature_untrusted",
            SignatureError::Io(_) => "signature_io",
        }
    }
}
