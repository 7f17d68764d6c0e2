//! A WHIP publisher's SDP offer through `seduta_sfu::offer_tracks` (str0m's SDP
//! parser first, then our reading of the m-lines).
//!
//! Holds: no panic; an accepted offer yields at least one track, every mid is a
//! non-empty token that appears in the offer as `a=mid:`, and no mid repeats.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use seduta_sfu::offer_tracks;

fuzz_target!(|data: &[u8]| {
    // The offer is an HTTP body read as UTF-8; a WHIP body is far below 64 KiB.
    let Ok(sdp) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tracks) = offer_tracks(sdp) else {
        return;
    };
    assert!(!tracks.is_empty());
    let mut seen = HashSet::new();
    for t in &tracks {
        assert!(!t.mid.is_empty() && t.mid.bytes().all(|b| b.is_ascii_graphic()));
        let declared = sdp
            .split('\n')
            .filter_map(|l| l.strip_suffix('\r').unwrap_or(l).strip_prefix("a=mid:"))
            .any(|m| m.trim() == t.mid);
        assert!(declared, "mid {} is not in the offer", t.mid);
        assert!(seen.insert(t.mid.clone()), "mid {} twice", t.mid);
    }
});
