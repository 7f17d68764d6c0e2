//! Where the generated files go inside the package.

/// The package's manifest (Allegato 5 metadata and every file's digest).
pub const MANIFEST: &str = "manifest.json";
/// The UNI 11386 SInCRO index.
pub const SINCRO: &str = "sincro.xml";
/// The draft verbale, PDF/A-2b.
pub const VERBALE: &str = "verbale/bozza-verbale.pdf";
/// The sealed attendance log, JSON Lines (what `seduta verify` reads).
pub const LOG_JSONL: &str = "registro/presenze.jsonl";
/// The same log as CSV.
pub const LOG_CSV: &str = "registro/presenze.csv";
/// The quorum checks.
pub const QUORUM: &str = "dati/quorum.json";
/// The votes with names per option.
pub const VOTES: &str = "dati/votazioni.json";
/// The agenda with attendance and abstentions per item.
pub const AGENDA: &str = "dati/ordine-del-giorno.json";
/// Suspensions, resumptions, disconnections.
pub const EVENTS: &str = "dati/eventi.json";
/// The suffix of a detached digest file.
pub const HASH_SUFFIX: &str = ".hash";

/// Checks a package path given by the caller: relative, `/`-separated, made of
/// `[A-Za-z0-9._-]` segments, no `.` or `..` segment, at most 200 bytes, not a
/// `.hash` name. Returns why not.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 200 {
        return Err("empty or longer than 200 bytes");
    }
    if name.ends_with(HASH_SUFFIX) {
        return Err("`.hash` names are the package's own");
    }
    for seg in name.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err("empty, `.` or `..` segment (absolute paths are refused too)");
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err("only letters, digits, `.`, `_` and `-` are allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn only_plain_relative_names_are_taken() {
        assert!(check_name("registrazioni/seduta.mp4").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a\\b",
            "x.mp4.hash",
            "spazio nome.mp4",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
