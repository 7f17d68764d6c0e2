//! The webhook signature, for Seduta and for receivers.
//!
//! `X-Seduta-Signature: sha256=<hex>` where `<hex>` is the lowercase hex HMAC-SHA256,
//! keyed with the shared secret, of the ASCII `X-Seduta-Timestamp` value (Unix
//! seconds), one `.`, and the raw request body. A receiver recomputes it, compares
//! in constant time, and refuses timestamps too far from its own clock (5 minutes
//! is usual), so a captured request cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Seduta-Signature";
/// The header carrying the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Seduta-Timestamp";
/// The header carrying the body's SHA-256, lowercase hex.
pub const CONTENT_SHA256_HEADER: &str = "X-Seduta-Content-SHA256";
/// The header carrying the idempotency key (the same on every attempt).
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The header carrying the session id.
pub const SESSION_HEADER: &str = "X-Seduta-Session";
/// The header carrying the package version.
pub const PACKAGE_VERSION_HEADER: &str = "X-Seduta-Package-Version";
/// The header carrying the attempt number (from 1).
pub const ATTEMPT_HEADER: &str = "X-Seduta-Attempt";

/// An HMAC being computed over a body fed in pieces.
pub struct Signer {
    mac: Hmac<Sha256>,
}

impl Signer {
    /// Starts the signature of a body sent at `timestamp` (Unix seconds, as text).
    pub fn new(secret: &[u8], timestamp: &str) -> Signer {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        Signer { mac }
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.mac.update(chunk);
    }

    /// The header value, `sha256=<hex>`.
    pub fn finish(self) -> String {
        format!("sha256={}", hex::encode(self.mac.finalize().into_bytes()))
    }
}

/// The signature header value of a whole body.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut s = Signer::new(secret, timestamp);
    s.update(body);
    s.finish()
}

/// Whether `header` (the `X-Seduta-Signature` value) is the signature of `body` sent
/// at `timestamp` with `secret`, compared in constant time. The timestamp's
/// freshness is the receiver's own check.
pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_and_verification() {
        // HMAC-SHA256("key", "1700000000.hello"), computed independently with
        // `printf '1700000000.hello' | openssl dgst -sha256 -hmac key`.
        let h = sign(b"key", "1700000000", b"hello");
        assert_eq!(
            h,
            "sha256=4d583a269f4f276a3fa80ff31b5a01879a848096983222a17893d198418939aa"
        );
        assert!(verify(b"key", "1700000000", b"hello", &h));
        assert!(!verify(b"key", "1700000001", b"hello", &h));
        assert!(!verify(b"other", "1700000000", b"hello", &h));
        assert!(!verify(b"key", "1700000000", b"hellO", &h));
        assert!(!verify(b"key", "1700000000", b"hello", "md5=00"));
        let mut s = Signer::new(b"key", "1700000000");
        s.update(b"hel");
        s.update(b"lo");
        assert_eq!(s.finish(), h);
    }
}
