//! The demo Giunta started by default, so that a newcomer can try Seduta at once:
//! a municipality, its Giunta (a Sindaca and six assessori), staff accounts (a
//! segretario, the clerks' office, an administrator), a convened session with an
//! agenda and the chamber endpoint, and an invitation link for each.
//!
//! Seeding is idempotent: what exists is kept; a new demo session is convened when
//! the last one was closed. Staff passwords are generated once and kept (mode 0600)
//! in the data directory.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use seduta_signaling::auth::{Role, TokenIssuer, hash_password, uuid_like};
use seduta_signaling::clock::{now_ms, rfc3339};
use seduta_signaling::meeting::OrganSettings;
use seduta_signaling::store::{
    AgendaItem, Ente, Invitation, Member, Organ, SessionParticipant, SessionRecord, SessionStatus,
    StaffAccount, StaffRole, Store,
};
use serde::{Deserialize, Serialize};

/// The demo municipality.
pub const ENTE: &str = "comune-demo";
/// The demo Giunta.
pub const ORGAN: &str = "giunta-demo";
/// The first demo session's id.
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

/// The Sindaca and six assessori.
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
    ]
}

/// A demo staff account with its password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoStaff {
    /// Account name.
    pub username: String,
    /// Password (generated).
    pub password: String,
    /// Role.
    pub role: String,
    /// Display name.
    pub display_name: String,
}

/// What the demo gives a newcomer.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The session convened.
    pub session: String,
    /// `(name, office, link)` for each member and the chamber.
    pub links: Vec<(String, String, String)>,
    /// The segretario's console link for that session.
    pub segretario_link: String,
    /// Staff accounts and passwords.
    pub staff: Vec<DemoStaff>,
}

/// Seeds the demo (idempotently) and mints fresh links.
pub async fn seed(
    store: &Store,
    issuer: &TokenIssuer,
    base_url: &str,
    data_dir: &Path,
) -> anyhow::Result<Demo> {
    if !store.list_enti().await?.iter().any(|e| e.id == ENTE) {
        store
            .insert_ente(&Ente {
                id: ENTE.into(),
                name: "Comune di Esempio".into(),
                codice_istat: None,
            })
            .await?;
    }
    if store.organ(ORGAN).await?.is_none() {
        store
            .insert_organ(&Organ {
                id: ORGAN.into(),
                ente_id: ENTE.into(),
                name: "Giunta comunale".into(),
                seats: 7,
                settings: OrganSettings::default(),
            })
            .await?;
    }
    if store.members(ORGAN).await?.is_empty() {
        for m in members() {
            store
                .insert_member(&Member {
                    id: m.sub.into(),
                    organ_id: ORGAN.into(),
                    name: m.name.into(),
                    office: m.office.into(),
                    presiding: m.role == Role::Presiding,
                    valid_from: "2024-06-10".into(),
                    valid_to: None,
                })
                .await?;
        }
    }
    let staff = staff_accounts(store, data_dir).await?;
    let segretario = store
        .staff_by_username("segretario")
        .await?
        .context("the demo segretario account is missing")?;
    let session = current_session(store, &segretario).await?;

    let mut links = Vec::new();
    let mut segretario_link = String::new();
    let mut people = store.participants(&session).await?;
    // The Sindaca first, then the assessori as listed, then the chamber.
    let rank = |p: &SessionParticipant| {
        members()
            .iter()
            .position(|m| m.sub == p.id)
            .unwrap_or(usize::MAX)
    };
    people.sort_by_key(rank);
    for p in people {
        let link = mint_link(store, issuer, base_url, &session, &p).await?;
        if p.role == Role::Segretario {
            segretario_link = link;
            continue;
        }
        let office = members().iter().find(|m| m.sub == p.id).map_or_else(
            || "Aula (sala della Giunta)".to_owned(),
            |m| m.office.to_owned(),
        );
        links.push((p.name, office, link));
    }
    Ok(Demo {
        session,
        links,
        segretario_link,
        staff,
    })
}

async fn staff_accounts(store: &Store, data_dir: &Path) -> anyhow::Result<Vec<DemoStaff>> {
    let path = data_dir.join("demo-credentials.json");
    let saved: Vec<DemoStaff> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let wanted = [
        ("segretario", "Dott. Andrea Conti", StaffRole::Segretario),
        ("segreteria", "Ufficio segreteria", StaffRole::Clerk),
        ("admin", "Amministratore", StaffRole::Admin),
    ];
    let mut out = Vec::new();
    for (username, display_name, role) in wanted {
        let known = saved.iter().find(|s| s.username == username).cloned();
        let existing = store.staff_by_username(username).await?;
        let entry = match (existing, known) {
            (Some(_), Some(known)) => known,
            (Some(_), None) => continue, // created elsewhere: its password is not ours to print
            (None, known) => {
                let password = known.map_or_else(|| uuid_like()[..16].to_owned(), |k| k.password);
                store
                    .insert_staff(&StaffAccount {
                        id: format!("staff-{username}"),
                        ente_id: ENTE.into(),
                        username: username.into(),
                        display_name: display_name.into(),
                        role,
                        password_hash: hash_password(&password)?,
                        password_changed_at_ms: 0,
                        disabled: false,
                    })
                    .await?;
                DemoStaff {
                    username: username.into(),
                    password,
                    role: role.as_str().into(),
                    display_name: display_name.into(),
                }
            }
        };
        out.push(entry);
    }
    let text = serde_json::to_string_pretty(&out)?;
    crate::config::write_owner_only(&path, text.as_bytes(), true)?;
    Ok(out)
}

/// The open demo session, or a newly convened one.
async fn current_session(store: &Store, segretario: &StaffAccount) -> anyhow::Result<String> {
    let sessions = store.list_sessions(Some(ORGAN)).await?;
    if let Some(s) = sessions.iter().find(|s| s.status != SessionStatus::Closed) {
        return Ok(s.id.clone());
    }
    let id = if sessions.is_empty() {
        SESSION.to_owned()
    } else {
        format!("{SESSION}-{}", sessions.len() + 1)
    };
    let now = now_ms();
    store
        .insert_session(&SessionRecord {
            id: id.clone(),
            organ_id: ORGAN.into(),
            title: "Giunta comunale — seduta dimostrativa".into(),
            scheduled_at: rfc3339(now),
            seat: "Sala della Giunta, Palazzo comunale".into(),
            convocation: "prima".into(),
            status: SessionStatus::Convened,
            created_by: segretario.id.clone(),
            created_at_ms: now as i64,
            opened_at_ms: None,
            closed_at_ms: None,
        })
        .await?;
    let agenda = [
        "Approvazione del verbale della seduta precedente",
        "Variazione di bilancio per la manutenzione delle scuole",
        "Contributo all'associazione di protezione civile",
    ];
    let items: Vec<AgendaItem> = agenda
        .iter()
        .zip(1..)
        .map(|(subject, number)| AgendaItem {
            number,
            subject: (*subject).into(),
        })
        .collect();
    store.set_agenda(&id, &items).await?;
    let date = rfc3339(now);
    let date = date.get(..10).unwrap_or_default();
    let mut people: Vec<SessionParticipant> = store
        .members_in_office(ORGAN, date)
        .await?
        .into_iter()
        .map(|m| SessionParticipant {
            session_id: id.clone(),
            id: m.id.clone(),
            name: m.name,
            role: if m.presiding {
                Role::Presiding
            } else {
                Role::Member
            },
            member_id: Some(m.id),
        })
        .collect();
    people.push(SessionParticipant {
        session_id: id.clone(),
        id: segretario.id.clone(),
        name: segretario.display_name.clone(),
        role: Role::Segretario,
        member_id: None,
    });
    people.push(SessionParticipant {
        session_id: id.clone(),
        id: "aula".into(),
        name: "Sala della Giunta".into(),
        role: Role::Room,
        member_id: None,
    });
    for p in &people {
        store.upsert_participant(p).await?;
    }
    Ok(id)
}

async fn mint_link(
    store: &Store,
    issuer: &TokenIssuer,
    base_url: &str,
    session: &str,
    p: &SessionParticipant,
) -> anyhow::Result<String> {
    let jti = uuid_like();
    let now = now_ms() as i64;
    store
        .insert_invitation(&Invitation {
            jti: jti.clone(),
            session_id: session.into(),
            participant_id: p.id.clone(),
            created_at_ms: now,
            expires_at_ms: now + LINK_TTL.as_millis() as i64,
            revoked_at_ms: None,
        })
        .await?;
    let token = issuer.mint_invitation(&p.id, session, p.role, &p.name, LINK_TTL, Some(&jti))?;
    Ok(format!("{}/#token={token}", base_url.trim_end_matches('/')))
}
