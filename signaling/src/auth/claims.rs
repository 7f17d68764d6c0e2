use serde::{Deserialize, Serialize};

use super::Role;

/// The claims of a join token. All are required but `jti`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Participant id, stable for one person in one session.
    pub sub: String,
    /// The session the token admits to.
    pub session: String,
    /// Role in that session.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Not before, seconds since the Unix epoch.
    pub nbf: u64,
    /// Audience.
    pub aud: String,
    /// The invitation this token belongs to. Tokens for a stored session must carry
    /// one, so that revoking the invitation stops the token at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}
