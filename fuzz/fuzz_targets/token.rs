//! The token path: join tokens (`TokenVerifier::verify`, HS256) and staff tokens
//! (`StaffTokens::verify`).
//!
//! The first byte picks the mode:
//! - even: the rest is the token string as it arrives (from `join` or a header);
//! - odd: the rest is a JSON claims object, signed here with the server's key, so
//!   that the fuzzer reaches what happens after the signature is checked (claims
//!   parsing, time checks, audience, lengths, session).
//!
//! Holds: no panic; a token is accepted only if its header says HS256 and its
//! claims satisfy every rule: audience, `exp` not past, `nbf` not future (both
//! within the clock skew), non-empty bounded `sub`/`session`/`name`, and the
//! session asked for.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use seduta_signaling::auth::{STAFF_AUDIENCE, StaffTokens, TokenVerifier, VerifierKey};

const SECRET: &[u8] = b"fuzz-secret-0123456789";
const SESSION: &str = "s";
/// Generous bound for the clock skew the verifiers allow.
const SKEW: u64 = 600;

struct Keys {
    join: TokenVerifier,
    staff: StaffTokens,
    encoding: EncodingKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        join: TokenVerifier::new(&VerifierKey::Hs256(SECRET.to_vec()), "seduta").expect("key"),
        staff: StaffTokens::new(SECRET, Duration::from_secs(3600)),
        encoding: EncodingKey::from_secret(SECRET),
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn check(token: &str) {
    let k = keys();
    let join = k.join.verify(token, SESSION);
    let staff = k.staff.verify(token);
    if join.is_err() && staff.is_err() {
        return;
    }
    let header = jsonwebtoken::decode_header(token).expect("accepted, so it has a header");
    assert_eq!(
        header.alg,
        Algorithm::HS256,
        "accepted with another algorithm"
    );
    let t = now();
    if let Ok(c) = join {
        assert_eq!(c.aud, "seduta");
        assert_eq!(c.session, SESSION);
        assert!(
            c.exp.saturating_add(SKEW) >= t,
            "expired join token accepted: {c:?}"
        );
        assert!(
            c.nbf <= t.saturating_add(SKEW),
            "immature join token accepted: {c:?}"
        );
        for v in [&c.sub, &c.session, &c.name] {
            assert!(
                !v.trim().is_empty() && v.len() <= 256,
                "bad claim accepted: {c:?}"
            );
        }
    }
    if let Ok(c) = staff {
        assert_eq!(c.aud, STAFF_AUDIENCE);
        assert!(
            c.exp.saturating_add(SKEW) >= t,
            "expired staff token accepted: {c:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            check(token);
        }
        return;
    }
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let Ok(token) = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys().encoding)
    else {
        return;
    };
    check(&token);
});
