//! The sealed attendance log as the server exports it, checked again here.
//!
//! The format is the server's (`docs/api.md`, `seduta verify`): JSON Lines, one
//! entry a line; each entry's `hash` is SHA-256 over its canonical bytes (every
//! field but `hash`, as JSON with sorted keys at every depth and no whitespace)
//! followed by the previous entry's hash bytes; the first entry chains to 32 zero
//! bytes and a last entry of kind `sealed` closes the log. This crate does not
//! depend on the server (the server will depend on it), so the few lines of the
//! check live here too; a test checks both agree on the same export.

mod csv_export;
mod entry;
mod verify;

pub use csv_export::to_csv;
pub use entry::{GENESIS, LogEntry, SEALED};
pub use verify::{Broken, Verified, read_jsonl, to_jsonl, verify};
