//! An exported attendance log (JSON Lines) as `seduta verify LOG.jsonl` reads it:
//! `attendance::read_jsonl`, then `attendance::verify`, on arbitrary text.
//!
//! Holds: no panic; a refusal names a broken place that exists: for `read_jsonl`,
//! a 1-based text line that is not blank and does not parse while every line before
//! it does; for `verify`, a 1-based entry of the log (or 1 for an empty log). An
//! accepted log counts its entries, ends with the last entry's hash, and continues
//! as a log (`AttendanceLog::from_entries`) for its own session.

#![no_main]

use libfuzzer_sys::fuzz_target;
use seduta_signaling::attendance::{AttendanceLog, Entry, read_jsonl, verify};

fuzz_target!(|data: &[u8]| {
    // The CLI reads the file with `read_to_string`: only UTF-8 gets this far.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    let entries = match read_jsonl(text) {
        Ok(entries) => entries,
        Err(b) => {
            assert!(b.line >= 1 && b.line as usize <= lines.len(), "{b}");
            let at = b.line as usize - 1;
            assert!(!lines[at].trim().is_empty(), "{b}: the line is blank");
            assert!(
                serde_json::from_str::<Entry>(lines[at]).is_err(),
                "{b}: it parses"
            );
            for (i, l) in lines[..at].iter().enumerate() {
                assert!(
                    l.trim().is_empty() || serde_json::from_str::<Entry>(l).is_ok(),
                    "{b}: line {} before it is broken too",
                    i + 1
                );
            }
            return;
        }
    };
    match verify(&entries) {
        Ok(v) => {
            assert_eq!(v.entries as usize, entries.len());
            assert_eq!(Some(&v.last_hash), entries.last().map(|e| &e.hash));
            let session = entries[0].session.clone();
            if let Err(b) = AttendanceLog::from_entries(session, entries) {
                panic!("a verified log does not continue: {b}");
            }
        }
        Err(b) => {
            assert!(b.line >= 1, "{b}");
            assert!(b.line as usize <= entries.len().max(1), "{b}: past the end");
        }
    }
});
