//! Writing a package: as a folder, or as a zip streamed to any writer.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::entry::{PackageEntry, Source};
use super::{Package, PackageError};

/// Copies a carried file into `to`, checking that it still has the digest and size
/// the manifest records.
fn copy_checked(entry: &PackageEntry, path: &Path, to: impl Write) -> Result<(), PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let (sha256, size) = crate::digest::copy_hashing(file, to).map_err(io)?;
    if sha256 != entry.sha256 || size != entry.size {
        return Err(PackageError::FileChanged(entry.name.clone()));
    }
    Ok(())
}

impl Package {
    /// Writes the package as a folder at `dir`, which must not exist or be empty.
    /// Each file is followed by its `.hash` companion. On error the folder holds
    /// what was written so far and should be removed by the caller.
    pub fn write_folder(&self, dir: &Path) -> Result<(), PackageError> {
        let io = |path: PathBuf| {
            move |source| PackageError::Io {
                path: path.clone(),
                source,
            }
        };
        if dir.exists() {
            let mut listing = fs::read_dir(dir).map_err(io(dir.to_owned()))?;
            if listing.next().is_some() {
                return Err(PackageError::FolderNotEmpty(dir.to_owned()));
            }
        }
        for entry in &self.entries {
            let target = entry.name.split('/').fold(dir.to_owned(), |p, s| p.join(s));
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(io(parent.to_owned()))?;
            }
            let mut out = File::create(&target).map_err(io(target.clone()))?;
            match &entry.source {
                Source::Memory(bytes) => out.write_all(bytes).map_err(io(target.clone()))?,
                Source::Disk(path) => copy_checked(entry, path, &mut out)?,
            }
            out.sync_all().map_err(io(target.clone()))?;
            let hash_path = target.with_file_name(format!(
                "{}{}",
                target
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                super::layout::HASH_SUFFIX
            ));
            fs::write(&hash_path, entry.sha256.as_bytes()).map_err(io(hash_path.clone()))?;
        }
        Ok(())
    }

    /// Streams the package as a zip into `out` (a file, a socket, an HTTP body
    /// writer) without holding it in memory: carried files are copied through a
    /// fixed buffer; entries use data descriptors, so `out` needs no `Seek`.
    /// Returns `out` once the central directory is written.
    ///
    /// From an async runtime, run this on a blocking thread and forward the bytes
    /// through a bounded channel (a `Write` that sends each buffer) to the async body.
    pub fn write_zip<W: Write>(&self, out: W) -> Result<W, PackageError> {
        let mut zip = ZipWriter::new_stream(out);
        let time = zip_time(&self.manifest.built_at);
        let base = SimpleFileOptions::default()
            .last_modified_time(time)
            .unix_permissions(0o644);
        for entry in &self.entries {
            let options = match &entry.source {
                // Media and PDFs are compressed already; JSON, CSV and XML deflate well.
                Source::Disk(_) => base
                    .compression_method(CompressionMethod::Stored)
                    .large_file(entry.size >= u64::from(u32::MAX)),
                Source::Memory(_) if entry.name.ends_with(".pdf") => {
                    base.compression_method(CompressionMethod::Stored)
                }
                Source::Memory(_) => base.compression_method(CompressionMethod::Deflated),
            };
            zip.start_file(entry.name.as_str(), options)?;
            match &entry.source {
                Source::Memory(bytes) => zip.write_all(bytes).map_err(zip_io(&entry.name))?,
                Source::Disk(path) => copy_checked(entry, path, &mut zip)?,
            }
            zip.start_file(
                entry.hash_name(),
                base.compression_method(CompressionMethod::Stored),
            )?;
            zip.write_all(entry.sha256.as_bytes())
                .map_err(zip_io(&entry.name))?;
        }
        let stream = zip.finish()?;
        Ok(stream.into_inner())
    }
}

fn zip_io(name: &str) -> impl Fn(io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: PathBuf::from(name),
        source,
    }
}

/// The zip timestamp of `built_at` (local time as written); 1980-01-01 when it does
/// not parse or is out of the zip range.
fn zip_time(built_at: &str) -> zip::DateTime {
    crate::time::parse_time(built_at)
        .and_then(|t| {
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}
