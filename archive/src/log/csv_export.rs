use super::LogEntry;

/// The log as CSV (RFC 4180, a header line, UTF-8): `seq,at,session,kind,data,prev,hash`,
/// with `data` as compact JSON. For reading in a spreadsheet; the JSON Lines export is
/// the one that verifies.
pub fn to_csv(entries: &[LogEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["seq", "at", "session", "kind", "data", "prev", "hash"])?;
    for e in entries {
        let data = serde_json::to_string(&e.data).unwrap_or_default();
        w.write_record([
            e.seq.to_string().as_str(),
            &e.at,
            &e.session,
            &e.kind,
            &data,
            &e.prev,
            &e.hash,
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
