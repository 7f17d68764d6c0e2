//! The preservation copy: after close, a background job migrates the session's working
//! masters (WebM/Matroska, VP8/H.264, Opus) into `preservation.mp4` — MP4 with H.264
//! **High** video (a grid composite of the cameras and screen shares, each tile labelled
//! with the participant's name, at least 1280x720 at 25 fps) and the FLAC of the mix,
//! with the chapters — and enters the migration in the session's register.
//!
//! The toolkit is Debian's ffmpeg (libx264, libavformat's MP4 muxer, ffprobe), run as a
//! child process: see `docs/recording.md` for why. The job
//!
//! - survives a restart: its state is in `preservation.job.json` (queued, running, done,
//!   failed; stage; progress), it writes to a temporary file and renames it to
//!   `preservation.mp4` only once verified; after a restart [`resume_pending`] enters
//!   the interruption in the register and starts the job again from the beginning;
//! - verifies its output (ffprobe: h264 High, ≥1280x720, 25 fps, FLAC, the mix's
//!   length; ffmpeg decodes it end to end without a message; the decoded audio is the
//!   mix's, sample for sample) before it is kept;
//! - enters every migration in `register.json` (append-only): time, tool and version,
//!   sources and target with formats, codecs and SHA-256, result and errors; missing or
//!   undecodable sources are entered as errors.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use std::path::Path;
//! use seduta_recordings::preserve::{self, PreservationRequest};
//!
//! # fn main() -> Result<(), seduta_recordings::preserve::PreserveError> {
//! let session = Path::new("/var/lib/seduta/recordings/3f2a");
//! // At close, once the recorder has stopped (and the chapters are written):
//! let names = BTreeMap::from([("p1".to_owned(), "Sindaca Anna Bianchi".to_owned())]);
//! preserve::enqueue(session, PreservationRequest::new(names))?;
//! // On a thread of its own (minutes for a long session):
//! let outcome = preserve::run(session, &mut |p| println!("{:?} {:.0} %", p.stage, p.fraction * 100.0))?;
//! println!("{} {}", outcome.target.display(), outcome.sha256);
//!
//! // At startup, on a thread of its own: jobs queued or cut by a restart.
//! for (dir, result) in preserve::resume_pending(Path::new("/var/lib/seduta/recordings"), &mut |_, _| {})? {
//!     if let Err(e) = result { eprintln!("{}: {}", dir.display(), e.code()); }
//! }
//! # Ok(())
//! # }
//! ```

mod compose;
mod error;
mod hash;
mod job;
mod layout;
mod register;
mod settings;
pub(crate) mod sidecars;
mod sources;
mod state;
mod tool;
mod verify;

pub use error::PreserveError;
pub use hash::sha256_file;
pub use job::{
    JobResults, MAX_ATTEMPTS, PreservationOutcome, Progress, enqueue, pending_jobs, resume_pending,
    run, status,
};
pub use layout::{Tile, grid};
pub use register::{
    MigrationResult, REGISTER_FILE, RegisterEntry, SourceRecord, TargetRecord, append_entry,
    read_register,
};
pub use settings::{PreservationRequest, PreservationSettings};
pub use sidecars::{SidecarEnd, SidecarRecord, SourceKind, read_sidecars};
pub use state::{JOB_FILE, JobError, JobState, JobStatus, LOCK_FILE, Stage, TARGET_FILE, Verified};
pub use tool::{ToolVersion, ffmpeg_version};

/// The job's scratch folder in the session folder (graph, labels, digests), removed when
/// the job ends.
pub const WORK_DIR: &str = ".preservation.work";
