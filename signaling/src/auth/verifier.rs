use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

use super::{AuthError, CLOCK_SKEW_SECS, Claims};

/// The key a server verifies tokens with; it also pins the algorithm.
#[derive(Clone)]
pub enum VerifierKey {
    /// HS256 with a shared secret.
    Hs256(Vec<u8>),
    /// EdDSA (Ed25519) with a PEM public key.
    EdDsaPem(Vec<u8>),
    /// RS256 with a PEM public key.
    Rs256Pem(Vec<u8>),
}

/// Checks join tokens: signature, algorithm, `exp`, `nbf`, `aud`, and the session.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

/// Longest accepted `sub`, `session` or `name`, in bytes.
const MAX_CLAIM_LEN: usize = 256;

impl TokenVerifier {
    /// A verifier for `key` that accepts only audience `audience`.
    pub fn new(key: &VerifierKey, audience: &str) -> Result<Self, AuthError> {
        let (key, alg) = match key {
            VerifierKey::Hs256(secret) => (DecodingKey::from_secret(secret), Algorithm::HS256),
            VerifierKey::EdDsaPem(pem) => (
                DecodingKey::from_ed_pem(pem).map_err(|e| AuthError::Key(e.to_string()))?,
                Algorithm::EdDSA,
            ),
            VerifierKey::Rs256Pem(pem) => (
                DecodingKey::from_rsa_pem(pem).map_err(|e| AuthError::Key(e.to_string()))?,
                Algorithm::RS256,
            ),
        };
        let mut validation = Validation::new(alg);
        validation.leeway = CLOCK_SKEW_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "sub"]);
        Ok(Self { key, validation })
    }

    /// Verifies `token` and checks that it admits to `session`.
    pub fn verify(&self, token: &str, session: &str) -> Result<Claims, AuthError> {
        let data =
            decode::<Claims>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                _ => AuthError::Invalid,
            })?;
        let claims = data.claims;
        for (field, value) in [
            ("sub", &claims.sub),
            ("session", &claims.session),
            ("name", &claims.name),
        ] {
            if value.trim().is_empty() || value.len() > MAX_CLAIM_LEN {
                return Err(AuthError::BadClaim(field));
            }
        }
        if claims.session != session {
            return Err(AuthError::WrongSession);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::{Role, TokenIssuer, issuer::unix_now};

    fn pair() -> (TokenIssuer, TokenVerifier) {
        let issuer = TokenIssuer::hs256(b"secret-for-tests", "seduta");
        let verifier =
            TokenVerifier::new(&VerifierKey::Hs256(b"secret-for-tests".to_vec()), "seduta")
                .expect("hs256 key");
        (issuer, verifier)
    }

    fn claims(exp: u64, nbf: u64) -> Claims {
        Claims {
            sub: "a1".into(),
            session: "s1".into(),
            role: Role::Member,
            name: "Maria Rossi".into(),
            exp,
            nbf,
            aud: "seduta".into(),
            jti: None,
        }
    }

    #[test]
    fn accepts_a_fresh_token_for_its_session() {
        let (issuer, verifier) = pair();
        let token = issuer
            .mint(
                "a1",
                "s1",
                Role::Member,
                "Maria Rossi",
                Duration::from_secs(60),
            )
            .expect("mint");
        let claims = verifier.verify(&token, "s1").expect("valid");
        assert_eq!(claims.role, Role::Member);
        assert_eq!(verifier.verify(&token, "s2"), Err(AuthError::WrongSession));
    }

    #[test]
    fn refuses_expired_future_forged_and_foreign_audience() {
        let (issuer, verifier) = pair();
        let now = unix_now();
        let expired = issuer
            .mint_claims(&claims(now - 120, now - 600))
            .expect("mint");
        assert_eq!(verifier.verify(&expired, "s1"), Err(AuthError::Expired));
        let future = issuer
            .mint_claims(&claims(now + 600, now + 300))
            .expect("mint");
        assert_eq!(verifier.verify(&future, "s1"), Err(AuthError::NotYetValid));
        let forged = TokenIssuer::hs256(b"another-secret", "seduta")
            .mint("a1", "s1", Role::Member, "X", Duration::from_secs(60))
            .expect("mint");
        assert_eq!(verifier.verify(&forged, "s1"), Err(AuthError::Invalid));
        let foreign = TokenIssuer::hs256(b"secret-for-tests", "other")
            .mint("a1", "s1", Role::Member, "X", Duration::from_secs(60))
            .expect("mint");
        assert_eq!(
            verifier.verify(&foreign, "s1"),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(verifier.verify("not.a.jwt", "s1"), Err(AuthError::Invalid));
    }

    #[test]
    fn refuses_the_none_algorithm() {
        let (_, verifier) = pair();
        // {"alg":"none"} header with valid-looking claims and an empty signature.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhMSJ9.";
        assert_eq!(verifier.verify(token, "s1"), Err(AuthError::Invalid));
    }
}
