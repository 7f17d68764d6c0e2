//! The attendance log: append-only and hash-chained, so that anyone holding an
//! exported copy can check that no event was changed, removed or reordered.
//!
//! Each entry's hash is SHA-256 over the entry's canonical bytes (its fields as
//! JSON with sorted keys and no whitespace, the hash itself left out) followed by
//! the previous entry's hash. The first entry chains to 32 zero bytes. The log is
//! sealed by a last entry of kind `sealed`; nothing can follow it.

mod chain;
mod entry;
mod verify;

pub use chain::{AppendError, AttendanceLog};
pub use entry::{Entry, GENESIS, SEALED};
pub use verify::{Broken, Verified, read_jsonl, verify};
