//! `seduta verify` on an exported attendance log: intact, then with one byte altered.

use std::path::PathBuf;
use std::process::Command;

use seduta_signaling::attendance::AttendanceLog;
use serde_json::json;

/// The `seduta` binary next to this test's own executable.
fn seduta_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    dir.join("seduta")
}

#[test]
fn verify_accepts_an_intact_log_and_names_the_altered_entry() -> anyhow::Result<()> {
    let mut log = AttendanceLog::new("giunta-demo");
    log.append(
        "2026-03-12T09:00:00Z",
        "checked_in",
        json!({"participant": "sindaco"}),
    )?;
    log.append(
        "2026-03-12T09:01:00Z",
        "admitted",
        json!({"participant": "assessore-1"}),
    )?;
    log.append(
        "2026-03-12T09:05:00Z",
        "disconnected",
        json!({"participant": "assessore-1"}),
    )?;
    log.seal("2026-03-12T10:00:00Z")?;
    let dir = std::env::temp_dir().join(format!("seduta-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("log.jsonl");
    let text = log.to_jsonl();
    std::fs::write(&file, &text)?;

    let ok = Command::new(seduta_bin())
        .arg("verify")
        .arg(&file)
        .output()?;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("4 eventi"));

    // One byte of the second entry changed: "assessore-1" becomes "assessore-2".
    let at = text
        .find("assessore-1")
        .ok_or_else(|| anyhow::anyhow!("name"))?
        + 10;
    let mut bytes = text.into_bytes();
    bytes[at] = b'2';
    std::fs::write(&file, bytes)?;
    let bad = Command::new(seduta_bin())
        .arg("verify")
        .arg(&file)
        .output()?;
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("entry 2"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
