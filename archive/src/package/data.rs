//! The record's parts as the JSON files of the package, names resolved so that each
//! file reads on its own.

use serde_json::{Value, json};

use crate::record::{Attendance, SessionRecord};

fn people(record: &SessionRecord, ids: &[String]) -> Value {
    ids.iter()
        .map(|id| json!({ "id": id, "name": record.name_of(id) }))
        .collect()
}

fn attendance(record: &SessionRecord, list: &[Attendance]) -> Value {
    list.iter()
        .map(|a| {
            json!({
                "id": a.participant,
                "name": record.name_of(&a.participant),
                "present": a.present(),
                "mode": a.mode,
                "remote_reason": a.remote_reason,
            })
        })
        .collect()
}

/// `dati/quorum.json`.
pub(crate) fn quorum(record: &SessionRecord) -> Value {
    json!({
        "session": record.session_id,
        "in_carica": record.organ.in_carica,
        "assegnati": record.organ.assegnati,
        "checks": record.quorum_timeline,
    })
}

/// `dati/votazioni.json`.
pub(crate) fn votes(record: &SessionRecord) -> Value {
    let votes: Vec<Value> = record
        .votes()
        .map(|(item, v)| {
            json!({
                "number": v.number,
                "item": item.number,
                "subject": item.subject,
                "kind": v.kind,
                "mode": v.mode,
                "opened_at": v.opened_at,
                "closed_at": v.closed_at,
                "favorevoli": people(record, &v.favorevoli),
                "contrari": people(record, &v.contrari),
                "astenuti": people(record, &v.astenuti),
                "non_votanti": people(record, &v.non_votanti),
                "count": v.count,
                "required": v.required,
                "approved": v.approved,
                "decided_by_presiding": v.decided_by_presiding,
            })
        })
        .collect();
    json!({ "session": record.session_id, "votes": votes })
}

/// `dati/ordine-del-giorno.json`.
pub(crate) fn agenda(record: &SessionRecord) -> Value {
    let items: Vec<Value> = record
        .items
        .iter()
        .map(|item| {
            let abstentions: Vec<Value> = item
                .abstentions
                .iter()
                .map(|a| {
                    json!({
                        "id": a.participant,
                        "name": record.name_of(&a.participant),
                        "left_at": a.left_at,
                        "returned_at": a.returned_at,
                    })
                })
                .collect();
            json!({
                "number": item.number,
                "subject": item.subject,
                "attendance": attendance(record, &item.attendance),
                "abstentions_art_78": abstentions,
                "votes": item.votes.iter().map(|v| v.number).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "session": record.session_id,
        "opening_attendance": attendance(record, &record.opening_attendance),
        "items": items,
    })
}

/// `dati/eventi.json`.
pub(crate) fn events(record: &SessionRecord) -> Value {
    let events: Vec<Value> = record
        .events
        .iter()
        .map(|e| {
            json!({
                "at": e.at,
                "kind": e.kind,
                "participant": e.participant,
                "name": e.participant.as_deref().map(|p| record.name_of(p)),
                "note": e.note,
            })
        })
        .collect();
    json!({ "session": record.session_id, "events": events })
}
