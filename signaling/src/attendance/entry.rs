use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The kind of the entry that seals a log.
pub const SEALED: &str = "sealed";

/// One event of the log with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// UTC time, RFC 3339 with a `Z`.
    pub at: String,
    /// The session the log belongs to.
    pub session: String,
    /// What happened (`joined`, `identified`, `admitted`, `vote_cast`, `sealed`, …).
    pub kind: String,
    /// The event's details (who, mode, values), as recorded.
    pub data: serde_json::Value,
    /// The previous entry's hash, lowercase hex.
    pub prev: String,
    /// This entry's hash, lowercase hex.
    pub hash: String,
}

impl Entry {
    /// The canonical bytes the hash covers: every field but `hash`, as JSON with
    /// sorted keys (at every depth) and no whitespace.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "seq": self.seq,
            "at": self.at,
            "session": self.session,
            "kind": self.kind,
            "data": self.data,
            "prev": self.prev,
        });
        // serde_json's map is a BTreeMap here: keys come out sorted.
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// SHA-256 over the canonical bytes followed by the previous hash's bytes.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.canonical_bytes());
        h.update(hex::decode(&self.prev).unwrap_or_default());
        hex::encode(h.finalize())
    }
}
