//! The demo Giunta started by default, so that a newcomer can try Seduta at once.

use std::time::Duration;

use seduta_signaling::auth::{AuthError, Role, TokenIssuer};

/// The demo session id.
pub const SESSION: &str = "giunta-demo";

/// How long demo links stay valid.
const LINK_TTL: Duration = Duration::from_secs(12 * 3600);

/// One person of the demo Giunta.
#[derive(Debug, Clone)]
pub struct DemoMember {
    /// Participant id.
    pub sub: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Role.
    pub role: Role,
    /// The office, as printed next to the link.
    pub office: &'static str,
}

/// The Sindaco, six assessori and the Segretario.
pub fn members() -> Vec<DemoMember> {
    let m = |sub, name, role, office| DemoMember {
        sub,
        name,
        role,
        office,
    };
    vec![
        m("sindaco", "Giulia Ferraris", Role::Presiding, "Sindaca"),
        m(
            "assessore-1",
            "Marco Bellini",
            Role::Member,
            "Assessore al bilancio",
        ),
        m(
            "assessore-2",
            "Laura Gentile",
            Role::Member,
            "Assessora ai lavori pubblici",
        ),
        m(
            "assessore-3",
            "Paolo Rinaldi",
            Role::Member,
            "Assessore all'istruzione",
        ),
        m(
            "assessore-4",
            "Chiara Moretti",
            Role::Member,
            "Assessora alle politiche sociali",
        ),
        m(
            "assessore-5",
            "Davide Colombo",
            Role::Member,
            "Assessore all'urbanistica",
        ),
        m(
            "assessore-6",
            "Elena Marchetti",
            Role::Member,
            "Assessora alla cultura",
        ),
        m(
            "segretario",
            "Dott. Andrea Conti",
            Role::Segretario,
            "Segretario comunale",
        ),
    ]
}

/// A join link for each demo member: `(member, url)`.
pub fn links(issuer: &TokenIssuer, base_url: &str) -> Result<Vec<(DemoMember, String)>, AuthError> {
    members()
        .into_iter()
        .map(|member| {
            let token = issuer.mint(member.sub, SESSION, member.role, member.name, LINK_TTL)?;
            let url = format!("{}/#token={token}", base_url.trim_end_matches('/'));
            Ok((member, url))
        })
        .collect()
}
