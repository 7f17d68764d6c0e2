use serde::{Deserialize, Serialize};

use super::Role;

/// The claims of a join token. All are required.
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
}
