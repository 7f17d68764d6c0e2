//! The folder sink: `<session>-v<version>.zip` and its `.zip.hash`, each written under
//! a temporary name, synced, then renamed into place, so a reader of the folder
//! never sees a partial package.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::FolderSinkConfig;
use crate::error::SinkError;
use crate::record::Delivery;

/// A configured folder.
#[derive(Debug)]
pub(crate) struct FolderSink {
    dir: PathBuf,
}

impl FolderSink {
    pub(crate) fn new(config: &FolderSinkConfig) -> Self {
        FolderSink {
            dir: config.path.clone(),
        }
    }

    pub(crate) async fn deliver(&self, job: &Delivery) -> Result<String, SinkError> {
        let dir = self.dir.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || write_package(&dir, &job))
            .await
            .map_err(|e| SinkError::retry("internal", format!("folder task failed: {e}")))?
    }
}

fn write_package(dir: &Path, job: &Delivery) -> Result<String, SinkError> {
    // A missing folder is most often an unmounted share: wait for it, never create
    // it (the package would land on the wrong disk).
    if !dir.is_dir() {
        return Err(SinkError::retry(
            "folder_unavailable",
            format!("{} is not a folder", dir.display()),
        ));
    }
    let name = job.package.file_name();
    let target = dir.join(&name);
    let hash_target = dir.join(format!("{name}.hash"));
    let io_err = |what: &str, e: io::Error| SinkError::retry("folder_io", format!("{what}: {e}"));

    match sha256_of(&target) {
        Ok(existing) if existing == job.package_sha256 => {
            // Delivered before (the outcome was lost); make sure the digest is there.
            write_atomically(dir, &hash_target, job, |f| {
                f.write_all(job.package_sha256.as_bytes())
            })
            .map_err(|e| io_err("writing the .hash file", e))?;
            return Ok(format!("{} (already present)", target.display()));
        }
        Ok(_) => {
            return Err(SinkError::permanent(
                "conflict",
                format!(
                    "{} exists with other content; it is not overwritten",
                    target.display()
                ),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("reading the existing package", e)),
    }

    let source = Path::new(&job.package_path);
    let mut input =
        File::open(source).map_err(|e| SinkError::permanent("package_missing", format!("{e}")))?;
    let mut copied = Sha256::new();
    let mut copy_failed = None;
    write_atomically(dir, &hash_target, job, |f| {
        f.write_all(job.package_sha256.as_bytes())
    })
    .map_err(|e| io_err("writing the .hash file", e))?;
    write_atomically(dir, &target, job, |out| {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            copied.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        if hex::encode(copied.clone().finalize()) != job.package_sha256 {
            copy_failed = Some(());
            return Err(io::Error::other("package changed"));
        }
        Ok(())
    })
    .map_err(|e| match copy_failed {
        Some(()) => SinkError::permanent(
            "package_changed",
            "the package file no longer has the content that was enqueued",
        ),
        None => io_err("writing the package", e),
    })?;
    Ok(target.display().to_string())
}

/// Writes `target` through a temporary file in the same folder: fill, sync,
/// rename, then sync the folder so the rename itself is durable.
fn write_atomically(
    dir: &Path,
    target: &Path,
    job: &Delivery,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{base}.{}.part", job.id));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, target)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn sha256_of(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
