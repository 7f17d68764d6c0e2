use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The kind of the entry that seals a log.
pub const SEALED: &str = "sealed";

/// One entry of the attendance log, field for field as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// UTC time, RFC 3339 with a `Z`.
    pub at: String,
    /// The session the log belongs to.
    pub session: String,
    /// What happened (`joined`, `identified`, `vote_cast`, `sealed`, …).
    pub kind: String,
    /// The event's details, as recorded.
    pub data: Value,
    /// The previous entry's hash, lowercase hex.
    pub prev: String,
    /// This entry's hash, lowercase hex.
    pub hash: String,
}

impl LogEntry {
    /// The canonical bytes the hash covers: every field but `hash`, as JSON with
    /// sorted keys at every depth and no whitespace.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut top = Map::new();
        top.insert("at".into(), Value::String(self.at.clone()));
        top.insert("data".into(), sorted(&self.data));
        top.insert("kind".into(), Value::String(self.kind.clone()));
        top.insert("prev".into(), Value::String(self.prev.clone()));
        top.insert("seq".into(), Value::from(self.seq));
        top.insert("session".into(), Value::String(self.session.clone()));
        // Serializing a `Value` cannot fail: every key is a string.
        serde_json::to_vec(&Value::Object(top)).unwrap_or_default()
    }

    /// SHA-256 over the canonical bytes followed by the previous hash's bytes; a
    /// `prev` that is not hex contributes nothing, so that entry cannot verify.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.canonical_bytes());
        h.update(hex::decode(&self.prev).unwrap_or_default());
        hex::encode(h.finalize())
    }
}

/// `value` with every object's keys inserted in sorted order, so that the bytes are
/// the same whether or not serde_json keeps insertion order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
