//! What is delivered: one version of a session's package, as a `.zip` file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::error::DeliveryError;

/// Identifies a package: the session and the package's version (a session's package
/// is built again, as a new version, when signatures are added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageId {
    /// The session's id.
    pub session_id: String,
    /// The package version, from 1.
    pub version: u32,
}

impl PackageId {
    /// The file name every sink uses: `<session>-v<version>.zip`.
    pub fn file_name(&self) -> String {
        format!("{}-v{}.zip", self.session_id, self.version)
    }

    /// The idempotency key of this package's delivery to `sink`: the same for every
    /// attempt, and for a dead letter sent again, so a receiver can recognise a
    /// repeat. 32 lowercase hex digits.
    pub fn idempotency_key(&self, sink: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"seduta-delivery\0");
        h.update(self.session_id.as_bytes());
        h.update(b"\0");
        h.update(self.version.to_string().as_bytes());
        h.update(b"\0");
        h.update(sink.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    pub(crate) fn validate(&self) -> Result<(), DeliveryError> {
        if !is_safe_name(&self.session_id) || self.session_id.len() > 128 {
            return Err(DeliveryError::BadPackage(format!(
                "session id {:?}: 1-128 letters, digits, '.', '_' or '-', not starting with '.'",
                self.session_id
            )));
        }
        if self.version == 0 {
            return Err(DeliveryError::BadPackage(
                "package versions start at 1".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.session_id, self.version)
    }
}

/// A package to enqueue: its id and the `.zip` that the session package builder
/// wrote. The file must stay in place, unchanged, until every delivery is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Which package.
    pub id: PackageId,
    /// The `.zip` file.
    pub zip_path: PathBuf,
}

/// A name that is safe as one path segment and in an object key.
pub(crate) fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The SHA-256 (lowercase hex) and size of a file, read in chunks.
pub(crate) async fn file_digest(path: &Path) -> Result<(String, u64), std::io::Error> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

pub(crate) fn package_io(path: &Path, source: std::io::Error) -> DeliveryError {
    DeliveryError::PackageIo {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_safe_name("s-2026-03-12_a.1"));
        assert!(!is_safe_name(""));
        assert!(!is_safe_name(".hidden"));
        assert!(!is_safe_name("a/b"));
        assert!(!is_safe_name("a b"));
        assert!(!is_safe_name("è"));
    }

    #[test]
    fn idempotency_keys_differ_by_sink_and_version() {
        let a = PackageId {
            session_id: "s1".into(),
            version: 1,
        };
        let b = PackageId {
            session_id: "s1".into(),
            version: 2,
        };
        assert_eq!(a.idempotency_key("x"), a.idempotency_key("x"));
        assert_ne!(a.idempotency_key("x"), a.idempotency_key("y"));
        assert_ne!(a.idempotency_key("x"), b.idempotency_key("x"));
        assert_eq!(a.idempotency_key("x").len(), 32);
        assert_eq!(a.file_name(), "s1-v1.zip");
    }
}
