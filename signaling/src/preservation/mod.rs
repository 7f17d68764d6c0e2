//! After the close: the session's chapters (agenda items, votes and suspensions read
//! off the sealed attendance log) and its preservation copy (MP4, H.264 High, FLAC:
//! `seduta_recordings::preserve`), made in the background one session at a time, and
//! taken up again after a restart. `GET /api/sessions/{id}/recording` shows how far
//! the job has come.

mod markers;
mod worker;

use std::path::{Path, PathBuf};

pub use markers::markers_from_log;
pub use seduta_recordings::preserve::PreservationSettings;
pub use worker::{AfterCopy, Preservation};

/// The folder of `session`'s recording under `root`, if the id can name one (letters,
/// digits, `-` and `_` only: nothing that could leave `root`).
pub fn session_folder(root: &Path, session: &str) -> Option<PathBuf> {
    let safe = !session.is_empty()
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    safe.then(|| root.join(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_name_a_folder() {
        let root = Path::new("/data/recordings");
        assert_eq!(
            session_folder(root, "s-2026_03"),
            Some(root.join("s-2026_03"))
        );
        for bad in ["", "..", "a/b", "a\\b", "é", "a b", "."] {
            assert_eq!(session_folder(root, bad), None, "{bad:?}");
        }
    }
}
