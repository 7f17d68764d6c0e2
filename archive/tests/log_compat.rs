//! The archive reads and checks the attendance log exactly as the server writes it.
//! The seeds of `fuzz/corpus/attendance_log` were made by `fuzz/make-seeds`, an
//! independent (Python) writer of the server's export format, and the server's own
//! fuzz target verifies them; this crate must agree on each.

use std::path::PathBuf;

use seduta_archive::log::{read_jsonl, verify};

fn seed(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/attendance_log")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_servers_export_format_verifies_here() {
    let sealed = read_jsonl(&seed("sealed")).expect("parse");
    let v = verify(&sealed).expect("intact");
    assert!(v.sealed);
    assert_eq!(v.last_hash, sealed.last().expect("last").hash);

    let open = read_jsonl(&seed("open")).expect("parse");
    assert!(!verify(&open).expect("intact").sealed);

    let altered = read_jsonl(&seed("altered")).and_then(|e| verify(&e));
    assert!(altered.is_err(), "an altered export must not verify");
}
