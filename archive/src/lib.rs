//! The record of a closed session, made fit for preservation: the package the
//! preservation provider receives, the draft verbale, and the check of the
//! signatures that come back.
//!
//! - [`SessionRecord`] is what the server assembles at close: the organ, the
//!   people, attendance at the opening and per item, every vote by name, the art. 78
//!   abstentions, suspensions and disconnections, the quorum checks, and the sealed
//!   attendance log (checked again here, see [`log`]).
//! - [`Package::build`] makes the package from a record and the files made
//!   elsewhere (recordings, chapters, the migration register): `manifest.json` with
//!   the AgID Allegato 5 metadata and every file's SHA-256, a UNI SInCRO
//!   `sincro.xml`, the draft verbale as PDF/A-2b, the log as JSON Lines and CSV, the
//!   quorum timeline, votes, agenda and events, each with its `name.ext.hash`.
//!   [`Package::write_folder`] and [`Package::write_zip`] write it (the zip is
//!   streamed to any `Write`, carried files never held in memory).
//! - [`Package::to_sign`] says what is to be signed: the preservation recording and
//!   the verbale, each by the presiding member and the segretario, detached.
//! - [`signature::verify_detached`] checks an uploaded CAdES `.p7s` over a file.
//!
//! ```no_run
//! use seduta_archive::{FileFormat, FileRole, IncludedFile, Package, PackageSettings, SessionRecord};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let record: SessionRecord = serde_json::from_slice(&std::fs::read("record.json")?)?;
//! let files = vec![IncludedFile {
//!     source: "/data/rec/seduta.mp4".into(),
//!     name: "registrazioni/seduta.mp4".into(),
//!     format: FileFormat::new("video/mp4", "MP4 (H.264 High, FLAC)"),
//!     role: FileRole::PreservationRecording,
//!     description: "Registrazione audio-video della seduta".into(),
//! }];
//! let settings = PackageSettings::new("2026-03-12T12:00:00+01:00", &record.ente.name);
//! let package = Package::build(&record, &files, &settings)?;
//! package.write_zip(std::fs::File::create("seduta.zip")?)?;
//! for request in package.to_sign() {
//!     println!("{} ({}) to be signed", request.file, request.sha256);
//! }
//!
//! let report = seduta_archive::signature::verify_detached(
//!     &std::fs::read("seduta.mp4.presidente.p7s")?,
//!     std::fs::File::open("/data/rec/seduta.mp4")?,
//!     &seduta_archive::signature::TrustList::none(),
//! )?;
//! for s in &report.signers {
//!     println!("signed by {:?} at {:?}", s.signer.common_name, s.signing_time);
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod digest;
pub mod format;
pub mod log;
pub mod metadata;
pub mod package;
pub mod record;
pub mod signature;
pub mod time;
pub mod timestamp;
pub mod verbale;

pub use format::FileFormat;
pub use package::{FileRole, IncludedFile, Package, PackageError, PackageSettings};
pub use record::SessionRecord;
