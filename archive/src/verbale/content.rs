//! What the draft verbale says, in Italian, as a list of blocks: the record's facts
//! in the order a verbale gives them, with blanks where the segretario writes.

use crate::record::{
    AgendaItem, Attendance, ParticipantRole, SessionEventKind, SessionRecord, VoteKind, VoteResult,
};
use crate::time::{clock, clock_seconds, italian_date, parse_date};

/// One block of the verbale's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The document's title, large and bold.
    Title(String),
    /// A section heading, bold.
    Heading(String),
    /// A paragraph, wrapped.
    Paragraph(String),
    /// An indented line of a list, wrapped.
    Item(String),
    /// A label followed by ruled blank lines for the segretario to complete.
    Blank {
        /// What goes there.
        label: String,
        /// How many ruled lines.
        lines: u32,
    },
    /// The two signature places: (role, name) each, side by side.
    Signatures(Vec<(String, String)>),
}

fn names(record: &SessionRecord, ids: &[String]) -> String {
    if ids.is_empty() {
        return "nessuno".into();
    }
    ids.iter()
        .map(|id| record.name_of(id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn office(record: &SessionRecord, id: &str) -> String {
    match record.participant(id).and_then(|p| p.office.clone()) {
        Some(o) => format!("{} ({o})", record.name_of(id)),
        None => record.name_of(id).to_owned(),
    }
}

fn attendance_lines(record: &SessionRecord, list: &[Attendance]) -> Vec<Block> {
    let mut out = Vec::new();
    for a in list {
        let who = office(record, &a.participant);
        let line = match (a.mode, &a.remote_reason) {
            (Some(mode), Some(reason)) => {
                format!("{who}: presente ({}; motivo: {reason})", mode.italian())
            }
            (Some(mode), None) => format!("{who}: presente ({})", mode.italian()),
            (None, _) => format!("{who}: assente"),
        };
        out.push(Block::Item(line));
    }
    let members: Vec<&Attendance> = list
        .iter()
        .filter(|a| {
            record
                .participant(&a.participant)
                .is_some_and(|p| p.role == ParticipantRole::Member)
        })
        .collect();
    let present = members.iter().filter(|a| a.present()).count();
    let remote = members
        .iter()
        .filter(|a| a.mode == Some(crate::record::AttendanceMode::Remote))
        .count();
    out.push(Block::Paragraph(format!(
        "Componenti presenti: {present} su {} in carica ({} assegnati), di cui {remote} da remoto.",
        record.organ.in_carica, record.organ.assegnati
    )));
    out
}

fn vote_blocks(record: &SessionRecord, v: &VoteResult) -> Vec<Block> {
    let title = match v.kind {
        VoteKind::Deliberation => format!("Votazione n. {} sulla proposta", v.number),
        VoteKind::ImmediateExecutability => format!(
            "Votazione n. {} sull'immediata eseguibilità (art. 134, comma 4, TUEL)",
            v.number
        ),
    };
    let c = v.count;
    let mut out = vec![
        Block::Paragraph(format!(
            "{title}: votazione {}, aperta alle ore {} e chiusa alle ore {}.",
            v.mode,
            clock(&v.opened_at),
            clock(&v.closed_at)
        )),
        Block::Item(format!(
            "Favorevoli ({}): {}",
            c.favorevoli,
            names(record, &v.favorevoli)
        )),
        Block::Item(format!(
            "Contrari ({}): {}",
            c.contrari,
            names(record, &v.contrari)
        )),
        Block::Item(format!(
            "Astenuti ({}): {}",
            c.astenuti,
            names(record, &v.astenuti)
        )),
    ];
    if !v.non_votanti.is_empty() {
        out.push(Block::Item(format!(
            "Presenti non votanti ({}): {}",
            v.non_votanti.len(),
            names(record, &v.non_votanti)
        )));
    }
    out.push(Block::Item(format!("Presenti al voto: {}", c.presenti)));
    let outcome = match (v.kind, v.approved) {
        (VoteKind::Deliberation, true) => "la proposta è APPROVATA".to_owned(),
        (VoteKind::Deliberation, false) => "la proposta è RESPINTA".to_owned(),
        (VoteKind::ImmediateExecutability, true) => {
            "la deliberazione è dichiarata IMMEDIATAMENTE ESEGUIBILE".to_owned()
        }
        (VoteKind::ImmediateExecutability, false) => {
            "la deliberazione NON è dichiarata immediatamente eseguibile".to_owned()
        }
    };
    let required = v
        .required
        .map(|r| format!(" (richiesti almeno {r} voti favorevoli)"))
        .unwrap_or_default();
    let tie = if v.decided_by_presiding {
        "; in parità, prevale il voto del presidente"
    } else {
        ""
    };
    out.push(Block::Item(format!("Esito: {outcome}{required}{tie}.")));
    out
}

fn item_blocks(record: &SessionRecord, item: &AgendaItem) -> Vec<Block> {
    let mut out = vec![
        Block::Heading(format!("Punto {} all'ordine del giorno", item.number)),
        Block::Paragraph(format!("Oggetto: {}", item.subject)),
        Block::Paragraph("Presenti alla trattazione del punto:".into()),
    ];
    out.extend(attendance_lines(record, &item.attendance));
    for a in &item.abstentions {
        let back = match &a.returned_at {
            Some(t) => format!(" e vi rientra alle ore {}", clock(t)),
            None => String::new(),
        };
        out.push(Block::Paragraph(format!(
            "Astensione obbligatoria (art. 78, comma 2, TUEL): {} lascia la seduta alle ore {}{back}, \
             e non partecipa alla discussione né alla votazione.",
            office(record, &a.participant),
            clock(&a.left_at)
        )));
    }
    out.push(Block::Blank {
        label: "Sintesi della discussione e interventi (a cura del segretario):".into(),
        lines: 3,
    });
    for v in &item.votes {
        out.extend(vote_blocks(record, v));
    }
    if !item
        .votes
        .iter()
        .any(|v| v.kind == VoteKind::ImmediateExecutability)
    {
        out.push(Block::Paragraph(
            "Immediata eseguibilità: non votata.".into(),
        ));
    }
    out
}

fn events_blocks(record: &SessionRecord) -> Vec<Block> {
    let mut out = vec![Block::Heading(
        "Sospensioni, disconnessioni e riprese".into(),
    )];
    if record.events.is_empty() {
        out.push(Block::Paragraph("Nessuna.".into()));
    }
    for e in &record.events {
        let who = e.participant.as_deref().map(|p| office(record, p));
        let what = match (e.kind, who) {
            (SessionEventKind::Suspension, _) => "sospensione della seduta".to_owned(),
            (SessionEventKind::Resumption, _) => {
                "ripresa della seduta, previo nuovo appello".to_owned()
            }
            (SessionEventKind::Disconnection, Some(w)) => format!("disconnessione di {w}"),
            (SessionEventKind::Reconnection, Some(w)) => {
                format!("riconnessione e nuova identificazione di {w}")
            }
            (SessionEventKind::Disconnection, None) => "disconnessione".to_owned(),
            (SessionEventKind::Reconnection, None) => "riconnessione".to_owned(),
        };
        let note = e
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push(Block::Item(format!(
            "ore {}: {what}{note}",
            clock_seconds(&e.at)
        )));
    }
    out
}

/// The Italian for the server's reasons for a quorum check.
fn quorum_reason(reason: &str) -> &str {
    match reason {
        "opening" => "apertura",
        "vote" => "votazione",
        "request" => "su richiesta",
        "resumption" => "ripresa",
        "presence_change" => "variazione delle presenze",
        other => other,
    }
}

/// The verbale of `record` as blocks.
pub fn blocks(record: &SessionRecord) -> Vec<Block> {
    let date = parse_date(&record.date).map_or(record.date.clone(), italian_date);
    let remote = record
        .opening_attendance
        .iter()
        .any(|a| a.mode == Some(crate::record::AttendanceMode::Remote));
    let form = if remote {
        "in forma mista, in presenza e in videoconferenza"
    } else {
        "in presenza"
    };
    let notice = record
        .convocation_notice
        .as_ref()
        .map(|n| format!(", {n}"))
        .unwrap_or_default();
    let mut out = vec![
        Block::Title(record.ente.name.to_uppercase()),
        Block::Title(format!("Verbale della seduta della {}", record.organ.name)),
        Block::Paragraph(format!(
            "Bozza generata dal registro della seduta «{}» (id {}): da completare e firmare a cura del segretario e del presidente.",
            record.title, record.session_id
        )),
        Block::Paragraph(format!(
            "Il giorno {date}, alle ore {}, nella sede: {}, si è riunita la {} in {} convocazione{notice}, {form}.",
            clock(&record.started_at),
            record.seat,
            record.organ.name,
            record.convocation
        )),
        Block::Paragraph(format!(
            "Presiede {}. Partecipa, con funzioni di assistenza e verbalizzazione (art. 97 TUEL), {}.",
            office(record, &record.presiding),
            office(record, &record.segretario)
        )),
        Block::Heading(format!(
            "Presenze all'apertura della seduta (ore {})",
            clock(&record.started_at)
        )),
    ];
    out.extend(attendance_lines(record, &record.opening_attendance));
    let guests: Vec<String> = record
        .participants
        .iter()
        .filter(|p| p.role == ParticipantRole::Guest)
        .map(|p| office(record, &p.id))
        .collect();
    if !guests.is_empty() {
        out.push(Block::Paragraph(format!(
            "Partecipano senza diritto di voto, su invito: {}.",
            guests.join(", ")
        )));
    }
    if let Some(q) = record.quorum_timeline.first() {
        out.push(Block::Paragraph(format!(
            "Verifica del numero legale alle ore {}: presenti {}, richiesti {}: {}.",
            clock(&q.at),
            q.present,
            q.required,
            if q.reached {
                "raggiunto"
            } else {
                "non raggiunto"
            }
        )));
    }
    for item in &record.items {
        out.extend(item_blocks(record, item));
    }
    out.extend(events_blocks(record));
    out.push(Block::Heading("Verifiche del numero legale".into()));
    for q in &record.quorum_timeline {
        out.push(Block::Item(format!(
            "ore {} ({}): presenti {}, richiesti {}: {}",
            clock_seconds(&q.at),
            quorum_reason(&q.reason),
            q.present,
            q.required,
            if q.reached {
                "raggiunto"
            } else {
                "non raggiunto"
            }
        )));
    }
    out.push(Block::Heading("Chiusura".into()));
    out.push(Block::Paragraph(format!(
        "Esauriti i punti all'ordine del giorno, la seduta è chiusa alle ore {}.",
        clock(&record.ended_at)
    )));
    if let Some(seal) = record.attendance_log.last() {
        out.push(Block::Paragraph(format!(
            "Il registro delle presenze e degli eventi ({} voci) è sigillato; impronta SHA-256 del sigillo: {}.",
            record.attendance_log.len(),
            seal.hash
        )));
    }
    out.push(Block::Blank {
        label: "Annotazioni del segretario:".into(),
        lines: 4,
    });
    out.push(Block::Paragraph("Letto, confermato e sottoscritto.".into()));
    out.push(Block::Signatures(vec![
        (
            "Il Presidente".into(),
            record.name_of(&record.presiding).into(),
        ),
        (
            "Il Segretario".into(),
            record.name_of(&record.segretario).into(),
        ),
    ]));
    out
}
