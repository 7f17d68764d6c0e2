//! Streams a package carrying a large recording into a counting sink and prints the
//! process's peak memory, to show that the zip does not grow with the files:
//!
//! `cargo run --release -p seduta-archive --example zip_memory -- 2048` (MiB)

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;

use seduta_archive::{FileFormat, FileRole, IncludedFile, Package};

struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir()?;
    let big = dir.path().join("big.mp4");
    let mut f = std::fs::File::create(&big)?;
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    for _ in 0..mib {
        f.write_all(&chunk)?;
    }
    drop(f);
    let files = vec![IncludedFile {
        source: big,
        name: "registrazioni/seduta.mp4".into(),
        format: FileFormat::mp4(),
        role: FileRole::PreservationRecording,
        description: "Registrazione".into(),
    }];
    let start = std::time::Instant::now();
    let package = Package::build(&common::record(), &files, &common::settings())?;
    let built = start.elapsed();
    let Count(bytes) = package.write_zip(Count(0))?;
    println!(
        "carried {mib} MiB: built (hashed) in {:.2} s, zip {bytes} bytes written in {:.2} s, peak RSS {}",
        built.as_secs_f64(),
        (start.elapsed() - built).as_secs_f64(),
        peak_rss_kib()
    );
    Ok(())
}
