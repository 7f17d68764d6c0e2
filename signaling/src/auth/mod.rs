//! Join tokens: who may enter which session, with which role.
//!
//! Tokens are JWTs. The algorithm is pinned by the key: HS256 with a shared secret by
//! default, EdDSA or RS256 when the server holds only a public key (tokens are then
//! minted elsewhere, for instance by the municipality's identity system).

mod claims;
mod error;
mod issuer;
mod role;
mod staff;
mod verifier;

pub use claims::Claims;
pub use error::AuthError;
pub use issuer::TokenIssuer;
pub use role::Role;
pub use staff::{
    MIN_PASSWORD_LEN, STAFF_AUDIENCE, StaffAuthError, StaffClaims, StaffTokens, hash_password,
    uuid_like, verify_password,
};
pub use verifier::{TokenVerifier, VerifierKey};

/// The default `aud` claim.
pub const DEFAULT_AUDIENCE: &str = "seduta";

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 30;
