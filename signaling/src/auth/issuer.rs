use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::{AuthError, Claims, Role};

/// Mints join tokens with the server's HS256 secret.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    audience: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("TokenIssuer")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer for HS256 tokens with `secret` and audience `audience`.
    pub fn hs256(secret: &[u8], audience: impl Into<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            audience: audience.into(),
        }
    }

    /// Mints a token valid from now for `ttl`.
    pub fn mint(
        &self,
        sub: &str,
        session: &str,
        role: Role,
        name: &str,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        self.mint_invitation(sub, session, role, name, ttl, None)
    }

    /// Mints a token valid from now for `ttl` that belongs to invitation `jti`
    /// (revoking the invitation stops the token).
    pub fn mint_invitation(
        &self,
        sub: &str,
        session: &str,
        role: Role,
        name: &str,
        ttl: Duration,
        jti: Option<&str>,
    ) -> Result<String, AuthError> {
        let now = unix_now();
        self.mint_claims(&Claims {
            sub: sub.to_owned(),
            session: session.to_owned(),
            role,
            name: name.to_owned(),
            exp: now.saturating_add(ttl.as_secs()),
            nbf: now,
            aud: self.audience.clone(),
            jti: jti.map(str::to_owned),
        })
    }

    /// Mints a token with exactly these claims (tests use it for expired or future tokens).
    pub fn mint_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|e| AuthError::Key(e.to_string()))
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
