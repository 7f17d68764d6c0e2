use serde::Serialize;

use super::entry::{Entry, GENESIS, SEALED};

/// A verified log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Number of entries.
    pub entries: u64,
    /// Whether the last entry seals the log.
    pub sealed: bool,
    /// The last entry's hash.
    pub last_hash: String,
}

/// The first broken link of a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The 1-based line (entry) where verification failed.
    pub line: u64,
    /// What is wrong there.
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "broken at entry {}: {}", self.line, self.reason)
    }
}

/// Parses an exported log (JSON Lines); a line that is not an entry is a broken link.
pub fn read_jsonl(text: &str) -> Result<Vec<Entry>, Broken> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Broken {
                line: i as u64 + 1,
                reason: format!("not a log entry: {e}"),
            })
        })
        .collect()
}

/// Checks every link: sequence, session, chaining, hash, and that nothing follows a seal.
pub fn verify(entries: &[Entry]) -> Result<Verified, Broken> {
    if entries.is_empty() {
        return Err(Broken {
            line: 1,
            reason: "the log is empty".into(),
        });
    }
    let mut prev = GENESIS.to_owned();
    let session = entries.first().map(|e| e.session.clone());
    for (i, e) in entries.iter().enumerate() {
        let line = i as u64 + 1;
        let broken = |reason: String| Broken { line, reason };
        if e.seq != line {
            return Err(broken(format!(
                "sequence number {} where {line} was expected",
                e.seq
            )));
        }
        if Some(&e.session) != session.as_ref() {
            return Err(broken("belongs to another session".into()));
        }
        if e.prev != prev {
            return Err(broken("does not chain to the previous entry".into()));
        }
        if e.compute_hash() != e.hash {
            return Err(broken("its content does not match its hash".into()));
        }
        if i > 0 && entries[i - 1].kind == SEALED {
            return Err(broken("follows the seal".into()));
        }
        prev = e.hash.clone();
    }
    Ok(Verified {
        entries: entries.len() as u64,
        sealed: entries.last().is_some_and(|e| e.kind == SEALED),
        last_hash: prev,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::attendance::AttendanceLog;

    fn sample() -> AttendanceLog {
        let mut log = AttendanceLog::new("giunta-2026-03-12");
        log.append(
            "2026-03-12T09:00:00Z",
            "joined",
            json!({"participant": "sindaco", "mode": "in_person"}),
        )
        .expect("append");
        log.append(
            "2026-03-12T09:01:00Z",
            "identified",
            json!({"participant": "assessore-1", "mode": "remote"}),
        )
        .expect("append");
        log.append(
            "2026-03-12T09:02:00Z",
            "vote_cast",
            json!({"participant": "assessore-1", "ballot": "favorevole"}),
        )
        .expect("append");
        log.seal("2026-03-12T10:00:00Z").expect("seal");
        log
    }

    #[test]
    fn an_intact_export_verifies() {
        let log = sample();
        let entries = read_jsonl(&log.to_jsonl()).expect("parse");
        let v = verify(&entries).expect("intact");
        assert_eq!(v.entries, 4);
        assert!(v.sealed);
    }

    #[test]
    fn a_sealed_log_takes_nothing_more() {
        let mut log = sample();
        assert_eq!(
            log.append("2026-03-12T10:01:00Z", "joined", json!({}))
                .err(),
            Some(crate::attendance::AppendError::Sealed)
        );
    }

    #[test]
    fn altering_any_byte_names_that_entry() {
        let text = sample().to_jsonl();
        let lines: Vec<&str> = text.lines().collect();
        // Flip one character inside each line's data in turn.
        for (n, line) in lines.iter().enumerate() {
            let at = line.find("\"data\":").expect("data field") + 9;
            let mut bytes = line.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
            let mut altered = lines.clone();
            let changed = String::from_utf8(bytes).expect("utf8");
            altered[n] = &changed;
            let result = read_jsonl(&altered.join("\n")).and_then(|e| verify(&e));
            let broken = result.expect_err("tampering must be found");
            assert_eq!(broken.line, n as u64 + 1, "{broken}");
        }
    }

    #[test]
    fn an_export_with_any_number_reads_back_and_verifies() {
        // Found by fuzz/attendance_tamper: serde_json's default float parsing is not
        // exact, so a float written as 1.1111111111100001e29 read back as a
        // neighbouring float and the intact entry no longer matched its hash.
        let mut log = AttendanceLog::new("giunta-2026-03-12");
        for x in [1.1111111111100001e29, 0.1 + 0.2, 5e-324, f64::MAX, 1e23] {
            log.append("2026-03-12T09:00:00Z", "measured", json!({ "x": x }))
                .expect("append");
        }
        log.append("2026-03-12T09:00:00Z", "counted", json!({ "n": u64::MAX }))
            .expect("append");
        let entries = read_jsonl(&log.to_jsonl()).expect("parse");
        assert_eq!(entries, log.entries());
        assert_eq!(verify(&entries).map(|v| v.entries), Ok(6));
    }

    #[test]
    fn removing_or_reordering_entries_is_found() {
        let entries = read_jsonl(&sample().to_jsonl()).expect("parse");
        let mut removed = entries.clone();
        removed.remove(1);
        assert_eq!(verify(&removed).expect_err("gap").line, 2);
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped).expect_err("order").line, 2);
        let mut rehashed = entries;
        // Rewriting an entry and its own hash still breaks the next link.
        rehashed[1].data = json!({"participant": "someone-else"});
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(verify(&rehashed).expect_err("chain").line, 3);
    }
}
