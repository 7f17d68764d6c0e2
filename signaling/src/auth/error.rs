use thiserror::Error;

use crate::protocol::ErrorCode;

/// Why a token was refused or could not be made.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    /// Malformed, bad signature, wrong algorithm, or a claim missing or mistyped.
    #[error("the token is invalid")]
    Invalid,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `aud` is not ours.
    #[error("the token was issued for another audience")]
    WrongAudience,
    /// The token admits to another session.
    #[error("the token was issued for another session")]
    WrongSession,
    /// A claim has a value we refuse (empty id or name, over-long fields).
    #[error("the token has an unacceptable claim: {0}")]
    BadClaim(&'static str),
    /// This server holds only a public key and cannot mint tokens.
    #[error("this server cannot mint tokens: it holds only a public key")]
    CannotMint,
    /// The key material could not be used.
    #[error("unusable key: {0}")]
    Key(String),
}

impl AuthError {
    /// The protocol error code reported to the client.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Expired => ErrorCode::TokenExpired,
            AuthError::NotYetValid => ErrorCode::TokenNotYetValid,
            AuthError::WrongAudience => ErrorCode::TokenWrongAudience,
            AuthError::WrongSession => ErrorCode::TokenWrongSession,
            AuthError::Invalid
            | AuthError::BadClaim(_)
            | AuthError::CannotMint
            | AuthError::Key(_) => ErrorCode::TokenInvalid,
        }
    }
}
