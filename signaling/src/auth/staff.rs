//! Staff accounts (segretario, clerk, administrator): argon2id password hashes and
//! the short-lived tokens a login returns.
//!
//! Staff tokens are HS256 JWTs with their own audience, so a join token can never
//! pass as a staff token nor the reverse. Each carries a `jti` (revoked at logout)
//! and `iat` (tokens issued before the last password change are refused).

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::CLOCK_SKEW_SECS;
use super::issuer::unix_now;
use crate::store::StaffRole;

/// The `aud` of staff tokens.
pub const STAFF_AUDIENCE: &str = "seduta-staff";

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 10;

/// The claims of a staff token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClaims {
    /// Staff account id.
    pub sub: String,
    /// Role.
    pub role: StaffRole,
    /// The municipality (ente) the account belongs to.
    pub ente: String,
    /// Display name.
    pub name: String,
    /// Token id, revoked at logout.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Issued at, milliseconds since the epoch (so that a password change refuses
    /// tokens issued earlier in the same second).
    #[serde(default)]
    pub iat_ms: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Audience: always [`STAFF_AUDIENCE`].
    pub aud: String,
}

/// Why a staff token or password was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StaffAuthError {
    /// No token, a malformed one, or a bad signature.
    #[error("missing or invalid staff token")]
    Invalid,
    /// The token has expired.
    #[error("the staff token has expired")]
    Expired,
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    BadCredentials,
    /// The new password is too weak.
    #[error("the new password must be at least {MIN_PASSWORD_LEN} characters long")]
    WeakPassword,
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
}

impl StaffAuthError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            StaffAuthError::Invalid => "token_invalid",
            StaffAuthError::Expired => "token_expired",
            StaffAuthError::BadCredentials => "invalid_credentials",
            StaffAuthError::WeakPassword => "weak_password",
            StaffAuthError::Hash => "internal",
        }
    }
}

/// Mints and checks staff tokens with the server's HS256 secret.
#[derive(Clone)]
pub struct StaffTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for StaffTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffTokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl StaffTokens {
    /// Staff tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = CLOCK_SKEW_SECS;
        validation.set_audience(&[STAFF_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// Mints a token for an account; returns it with its claims.
    pub fn mint(
        &self,
        staff_id: &str,
        role: StaffRole,
        ente: &str,
        name: &str,
    ) -> Result<(String, StaffClaims), StaffAuthError> {
        let now = unix_now();
        let claims = StaffClaims {
            sub: staff_id.to_owned(),
            role,
            ente: ente.to_owned(),
            name: name.to_owned(),
            jti: uuid_like(),
            iat: now,
            iat_ms: crate::clock::now_ms(),
            exp: now.saturating_add(self.ttl.as_secs()),
            aud: STAFF_AUDIENCE.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| StaffAuthError::Hash)?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm, audience and expiry (revocation is the caller's).
    pub fn verify(&self, token: &str) -> Result<StaffClaims, StaffAuthError> {
        decode::<StaffClaims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => StaffAuthError::Expired,
                _ => StaffAuthError::Invalid,
            })
    }

    /// Signs other short-lived claims with the staff key (HS256), e.g. a signed media
    /// URL's. `claims` must carry their own `aud` (never [`STAFF_AUDIENCE`]), `exp`
    /// and `sub`, so that such a token never passes for a staff token.
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> Result<String, StaffAuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| StaffAuthError::Hash)
    }

    /// Checks a token made by [`StaffTokens::sign_claims`]: signature, algorithm,
    /// expiry and that its `aud` is `audience`.
    pub fn verify_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<T, StaffAuthError> {
        if audience == STAFF_AUDIENCE {
            return Err(StaffAuthError::Invalid);
        }
        let mut validation = self.validation.clone();
        validation.set_audience(&[audience]);
        decode::<T>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => StaffAuthError::Expired,
                _ => StaffAuthError::Invalid,
            })
    }
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, StaffAuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(StaffAuthError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| StaffAuthError::Hash)
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random 128-bit identifier in hex.
pub fn uuid_like() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_weak_refused() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(hash_password("short"), Err(StaffAuthError::WeakPassword));
    }

    #[test]
    fn tokens_verify_and_foreign_ones_do_not() {
        let tokens = StaffTokens::new(b"0123456789abcdef0123", Duration::from_secs(60));
        let (token, claims) = tokens
            .mint("s1", StaffRole::Segretario, "comune", "Dott. Conti")
            .expect("mint");
        assert_eq!(tokens.verify(&token), Ok(claims));
        let other = StaffTokens::new(b"another secret of 20", Duration::from_secs(60));
        assert_eq!(other.verify(&token), Err(StaffAuthError::Invalid));
        // A join token signed with the same secret has another audience.
        let issuer = crate::auth::TokenIssuer::hs256(b"0123456789abcdef0123", "seduta");
        let join = issuer
            .mint(
                "s1",
                "sess",
                crate::auth::Role::Segretario,
                "x",
                Duration::from_secs(60),
            )
            .expect("join token");
        assert_eq!(tokens.verify(&join), Err(StaffAuthError::Invalid));
    }
}
