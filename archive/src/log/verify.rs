use serde::Serialize;

use super::entry::{GENESIS, LogEntry, SEALED};

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
pub fn read_jsonl(text: &str) -> Result<Vec<LogEntry>, Broken> {
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

/// The log as JSON Lines, one entry a line: the export `seduta verify` reads.
pub fn to_jsonl(entries: &[LogEntry]) -> String {
    entries
        .iter()
        .filter_map(|e| serde_json::to_string(e).ok())
        .map(|line| line + "\n")
        .collect()
}

/// Checks every link: sequence, session, chaining, hash, and that nothing follows a seal.
pub fn verify(entries: &[LogEntry]) -> Result<Verified, Broken> {
    let Some(first) = entries.first() else {
        return Err(Broken {
            line: 1,
            reason: "the log is empty".into(),
        });
    };
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let line = i as u64 + 1;
        let broken = |reason: &str| Broken {
            line,
            reason: reason.to_owned(),
        };
        if e.seq != line {
            return Err(broken("sequence number out of order"));
        }
        if e.session != first.session {
            return Err(broken("belongs to another session"));
        }
        if e.prev != prev {
            return Err(broken("does not chain to the previous entry"));
        }
        if e.compute_hash() != e.hash {
            return Err(broken("its content does not match its hash"));
        }
        if i > 0 && entries[i - 1].kind == SEALED {
            return Err(broken("follows the seal"));
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

    fn chain(kinds: &[&str]) -> Vec<LogEntry> {
        let mut out: Vec<LogEntry> = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            let mut e = LogEntry {
                seq: i as u64 + 1,
                at: "2026-03-12T08:00:00Z".into(),
                session: "s1".into(),
                kind: (*kind).into(),
                data: json!({"z": 1, "a": {"y": [1.5, {"b": 2, "a": 1}]}}),
                prev: out.last().map_or(GENESIS.to_owned(), |p| p.hash.clone()),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            out.push(e);
        }
        out
    }

    #[test]
    fn canonical_bytes_sort_keys_at_every_depth() {
        let e = &chain(&["joined"])[0];
        let text = String::from_utf8(e.canonical_bytes()).expect("utf8");
        assert_eq!(
            text,
            r#"{"at":"2026-03-12T08:00:00Z","data":{"a":{"y":[1.5,{"a":1,"b":2}]},"z":1},"kind":"joined","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"session":"s1"}"#
        );
    }

    #[test]
    fn an_intact_export_verifies_and_tampering_is_named() {
        let entries = chain(&["joined", "identified", SEALED]);
        let back = read_jsonl(&to_jsonl(&entries)).expect("parse");
        assert_eq!(verify(&back).map(|v| (v.entries, v.sealed)), Ok((3, true)));
        let mut altered = back.clone();
        altered[1].data = json!({"z": 2});
        assert_eq!(verify(&altered).map_err(|b| b.line), Err(2));
        let mut after_seal = chain(&["joined", SEALED, "joined"]);
        after_seal[2].hash = after_seal[2].compute_hash();
        assert_eq!(verify(&after_seal).map_err(|b| b.line), Err(3));
        assert_eq!(verify(&[]).map_err(|b| b.line), Err(1));
    }
}
