//! The migration register (`register.json` in the session folder): one entry per
//! migration (riversamento), appended, never rewritten. The file is a JSON array; an
//! entry is added by writing a new file whose bytes are the old file's, minus the
//! closing bracket, plus the new entry (temporary file, sync, rename): earlier entries
//! stay byte for byte as they were, and a crash leaves the old register or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::PreserveError;
use super::tool::ToolVersion;

/// The register's file name.
pub const REGISTER_FILE: &str = "register.json";

/// What became of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationResult {
    /// The copy was made and verified, from every source.
    Ok,
    /// The copy was made and verified, but some sources were missing or damaged (see
    /// the entry's and the sources' errors).
    OkWithErrors,
    /// No copy was made.
    Failed,
    /// The job was interrupted (the service stopped); it restarted from the beginning.
    Interrupted,
}

/// One file the migration read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The file's name in the session folder.
    pub name: String,
    /// What it is to the copy: `audio_mix`, `video`, `screen`, `chapters`, or
    /// `unknown` for a working master without a sidecar.
    pub role: String,
    /// The participant whose track it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The container, as ffprobe names it (`matroska,webm`, `flac`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The codecs of its streams.
    #[serde(default)]
    pub codecs: Vec<String>,
    /// SHA-256 (lowercase hex) of the file as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Whether its content went into the copy.
    pub used: bool,
    /// What was wrong with it (missing, undecodable, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The file the migration made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// The file's name in the session folder.
    pub name: String,
    /// The container (`mp4`).
    pub format: String,
    /// The codecs of its streams with profiles, e.g. `h264 (High)`, `flac`.
    pub codecs: Vec<String>,
    /// Width of the video.
    pub width: u32,
    /// Height of the video.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Length in seconds.
    pub duration_seconds: f64,
    /// Chapters embedded.
    pub chapters: usize,
    /// SHA-256 (lowercase hex).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// One entry of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterEntry {
    /// When the entry was made (UTC, RFC 3339).
    pub time: String,
    /// When the attempt started (UTC, RFC 3339).
    pub started: String,
    /// The job's attempt this entry reports (1, 2, … after interruptions).
    pub attempt: u32,
    /// What was done.
    pub operation: String,
    /// The system that did it (`Seduta <version> (seduta-recordings)`).
    pub system: String,
    /// The tool that did it, with its version.
    pub tool: Option<ToolVersion>,
    /// The encoder and its settings.
    pub encoder_settings: String,
    /// Every file read (and those that should have been but were missing or damaged).
    pub sources: Vec<SourceRecord>,
    /// The file made (absent when none was).
    pub target: Option<TargetRecord>,
    /// The result.
    pub result: MigrationResult,
    /// Errors and the tool's messages.
    pub errors: Vec<String>,
}

const CLOSING: &[u8] = b"\n]\n";

/// The register's entries in `dir` (empty when there is no register yet).
pub fn read_register(dir: &Path) -> Result<Vec<RegisterEntry>, PreserveError> {
    let path = dir.join(REGISTER_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| PreserveError::RegisterDamaged {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(PreserveError::io(path, e)),
    }
}

/// Appends `entry` to the register in `dir` (creating it). A register that does not
/// read as a list of entries, or was not written by this function, is not touched.
pub fn append_entry(dir: &Path, entry: &RegisterEntry) -> Result<PathBuf, PreserveError> {
    let path = dir.join(REGISTER_FILE);
    let entry_json = serde_json::to_vec_pretty(entry).map_err(|e| PreserveError::json(&path, e))?;
    let mut bytes = match fs::read(&path) {
        Ok(old) => {
            read_register(dir)?;
            let Some(head) = old.strip_suffix(CLOSING) else {
                return Err(PreserveError::RegisterDamaged {
                    path,
                    reason: "it does not end as this register is written".into(),
                });
            };
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(b",\n");
            bytes
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => b"[\n".to_vec(),
        Err(e) => return Err(PreserveError::io(path, e)),
    };
    bytes.extend_from_slice(&entry_json);
    bytes.extend_from_slice(CLOSING);
    let tmp = dir.join(format!(".{REGISTER_FILE}.partial"));
    let mut file = fs::File::create(&tmp).map_err(|e| PreserveError::io(&tmp, e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| PreserveError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| PreserveError::io(&path, e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), PreserveError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PreserveError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attempt: u32, result: MigrationResult) -> RegisterEntry {
        RegisterEntry {
            time: "2026-03-02T10:00:00Z".into(),
            started: "2026-03-02T09:59:00Z".into(),
            attempt,
            operation: "test".into(),
            system: "test".into(),
            tool: None,
            encoder_settings: String::new(),
            sources: Vec::new(),
            target: None,
            result,
            errors: vec!["é \"quoted\"".into()],
        }
    }

    #[test]
    fn entries_are_appended_and_earlier_bytes_kept() {
        let dir = std::env::temp_dir().join(format!("seduta-register-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        let _ = std::fs::remove_file(dir.join(REGISTER_FILE));
        append_entry(&dir, &entry(1, MigrationResult::Interrupted)).expect("first");
        let first = std::fs::read(dir.join(REGISTER_FILE)).expect("register");
        append_entry(&dir, &entry(2, MigrationResult::Ok)).expect("second");
        let second = std::fs::read(dir.join(REGISTER_FILE)).expect("register");
        assert!(second.starts_with(&first[..first.len() - CLOSING.len()]));
        let entries = read_register(&dir).expect("read");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], entry(1, MigrationResult::Interrupted));
        assert_eq!(entries[1].result, MigrationResult::Ok);

        // A damaged register is left alone.
        std::fs::write(dir.join(REGISTER_FILE), b"[{\"not\": 1}]").expect("damage");
        let err = append_entry(&dir, &entry(3, MigrationResult::Ok)).expect_err("damaged");
        assert_eq!(err.code(), "preserve.register_damaged");
        assert_eq!(
            std::fs::read(dir.join(REGISTER_FILE)).expect("register"),
            b"[{\"not\": 1}]"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
