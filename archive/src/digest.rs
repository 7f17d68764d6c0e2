//! SHA-256 digests as AgID prescribes them: lowercase hex.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Copies `from` into `to` while hashing it; returns the digest (lowercase hex) and
/// the number of bytes. With `io::sink()` as `to` it only hashes, in constant memory.
pub fn copy_hashing(mut from: impl Read, mut to: impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lowercase_hex() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), empty);
        let (hex, size) = copy_hashing(&b""[..], io::sink()).expect("hash");
        assert_eq!((hex.as_str(), size), (empty, 0));
    }
}
