//! `GET /api/archive/sessions`: the closed sessions of one's municipality, searched
//! by date range, organ, agenda text and participant name on the server. Matching
//! ignores case and Italian accents ("eseguibilita" finds "eseguibilità"); every word
//! of `q` must occur in the title or in one agenda item's subject.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::ApiError;
use super::super::extract::Staff;
use crate::Shared;
use crate::store::{AgendaItem, SessionRecord, SessionStatus};

/// Most sessions one search returns.
const MAX_HITS: usize = 200;

/// The search's parameters; all optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchiveQuery {
    /// Words of the title or of an agenda item's subject (all must occur).
    pub q: Option<String>,
    /// First day, `YYYY-MM-DD` (the session's scheduled local date).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, included.
    pub to: Option<String>,
    /// The organ's id.
    pub organ: Option<String>,
    /// Part of a participant's name.
    pub participant: Option<String>,
}

/// One session found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArchiveHit {
    /// The session.
    pub session: SessionRecord,
    /// The organ's name.
    pub organ_name: String,
    /// How many agenda items it had.
    pub items: usize,
    /// The agenda items that matched `q` (all of them when `q` is empty).
    pub matched_items: Vec<AgendaItem>,
    /// The participants whose names matched `participant`.
    pub matched_participants: Vec<String>,
}

/// Closed sessions matching the query, newest first (at most 200).
#[utoipa::path(get, path = "/api/archive/sessions", security(("staff" = [])), params(ArchiveQuery),
    responses((status = 200, body = Vec<ArchiveHit>), (status = 400, body = super::super::error::ErrorBody),
              (status = 401, body = super::super::error::ErrorBody)))]
pub async fn search(
    State(shared): State<Arc<Shared>>,
    staff: Staff,
    Query(query): Query<ArchiveQuery>,
) -> Result<Json<Vec<ArchiveHit>>, ApiError> {
    let from = date_param("from", query.from.as_deref())?;
    let to = date_param("to", query.to.as_deref())?;
    let words = words(query.q.as_deref().unwrap_or(""));
    let person = fold(query.participant.as_deref().unwrap_or("").trim());
    let ente = staff.0.ente.clone();
    let organs = shared.store.list_organs(&ente).await?;
    let mut sessions = Vec::new();
    for organ in &organs {
        if query
            .organ
            .as_deref()
            .is_some_and(|o| !o.is_empty() && o != organ.id)
        {
            continue;
        }
        for s in shared.store.list_sessions(Some(&organ.id)).await? {
            if s.status == SessionStatus::Closed {
                sessions.push((s, organ.name.clone()));
            }
        }
    }
    let mut agenda: BTreeMap<String, Vec<AgendaItem>> = BTreeMap::new();
    for i in shared.store.archive_agenda(&ente).await? {
        agenda.entry(i.session_id).or_default().push(AgendaItem {
            number: i.number,
            subject: i.subject,
        });
    }
    let mut people: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in shared.store.archive_people(&ente).await? {
        people.entry(p.session_id).or_default().insert(p.name);
    }
    let mut hits = Vec::new();
    for (session, organ_name) in sessions {
        let day = session.scheduled_at.get(..10).unwrap_or_default();
        if from.as_deref().is_some_and(|f| day < f) || to.as_deref().is_some_and(|t| day > t) {
            continue;
        }
        let mut items = agenda.remove(&session.id).unwrap_or_default();
        items.sort_by_key(|i| i.number);
        let Some(matched_items) = match_text(&session.title, &items, &words) else {
            continue;
        };
        let matched_participants: Vec<String> = if person.is_empty() {
            Vec::new()
        } else {
            let names = people.remove(&session.id).unwrap_or_default();
            let found: Vec<String> = names
                .into_iter()
                .filter(|n| fold(n).contains(&person))
                .collect();
            if found.is_empty() {
                continue;
            }
            found
        };
        hits.push(ArchiveHit {
            organ_name,
            items: items.len(),
            matched_items,
            matched_participants,
            session,
        });
        if hits.len() == MAX_HITS {
            break;
        }
    }
    Ok(Json(hits))
}

/// A `YYYY-MM-DD` parameter, or 400 `invalid_date`.
fn date_param(name: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, format)
        .map(|_| Some(v.to_owned()))
        .map_err(|_| ApiError::bad_request("invalid_date", format!("{name} must be YYYY-MM-DD")))
}

/// The words of a query, folded.
fn words(q: &str) -> Vec<String> {
    fold(q)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Which items match every word (each word in the title or in the item); `None` when
/// the session does not match. Without words every item matches.
fn match_text(title: &str, items: &[AgendaItem], words: &[String]) -> Option<Vec<AgendaItem>> {
    if words.is_empty() {
        return Some(items.to_vec());
    }
    let title = fold(title);
    let folded: Vec<String> = items.iter().map(|i| fold(&i.subject)).collect();
    let in_title = |w: &String| title.contains(w.as_str());
    // An item matches when every word not in the title is in its subject, and one
    // word at least is.
    let matched: Vec<AgendaItem> = items
        .iter()
        .zip(&folded)
        .filter(|(_, s)| {
            words.iter().all(|w| in_title(w) || s.contains(w.as_str()))
                && words.iter().any(|w| s.contains(w.as_str()))
        })
        .map(|(i, _)| i.clone())
        .collect();
    if !matched.is_empty() || words.iter().all(in_title) {
        Some(matched)
    } else {
        None
    }
}

/// Lower case without accents, for comparisons.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            '’' => '\'',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<AgendaItem> {
        vec![
            AgendaItem {
                number: 1,
                subject: "Variazione di bilancio".into(),
            },
            AgendaItem {
                number: 2,
                subject: "Immediata eseguibilità del piano delle opere".into(),
            },
        ]
    }

    #[test]
    fn words_match_items_without_case_or_accents() {
        let got = match_text(
            "Giunta del 12 marzo",
            &items(),
            &words("ESEGUIBILITA piano"),
        )
        .expect("matches");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].number, 2);
        // A word of the title and one of an item.
        let got =
            match_text("Giunta del 12 marzo", &items(), &words("marzo bilancio")).expect("matches");
        assert_eq!(got.iter().map(|i| i.number).collect::<Vec<_>>(), vec![1]);
        // Words spread over two items match no single item.
        assert!(match_text("Giunta", &items(), &words("bilancio opere")).is_none());
        // Only the title: the session matches, no item.
        assert_eq!(
            match_text("Giunta di marzo", &items(), &words("marzo")),
            Some(vec![])
        );
        assert_eq!(match_text("x", &items(), &[]).map(|v| v.len()), Some(2));
    }

    #[test]
    fn dates_are_checked() {
        assert!(date_param("from", Some("2026-03-12")).is_ok());
        assert!(date_param("from", Some("")).is_ok_and(|d| d.is_none()));
        for bad in ["2026-3-12", "12/03/2026", "2026-02-30", "x"] {
            assert_eq!(
                date_param("from", Some(bad)).map_err(|e| e.code()).err(),
                Some("invalid_date"),
                "{bad}"
            );
        }
    }
}
