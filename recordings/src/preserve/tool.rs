//! Running Debian's ffmpeg and ffprobe as child processes: the version for the
//! register, progress from ffmpeg's own `-progress` reports, and children that die with
//! the job (so that a killed service leaves no encoder running).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::PreserveError;

/// At most this much of a tool's stderr is kept (its last messages).
const STDERR_KEEP: usize = 16 * 1024;

/// The tool that made a copy, as the register names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolVersion {
    /// `ffmpeg`.
    pub name: String,
    /// Its version (e.g. `5.1.9-0+deb12u1`).
    pub version: String,
    /// The libraries it runs on, as `ffmpeg -version` lists them (e.g.
    /// `libavcodec 59. 37.100`).
    pub libraries: Vec<String>,
    /// The video encoder's own version, as it signs the stream (e.g.
    /// `x264 - core 164 r3095 baee400`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<String>,
}

/// The x264 version string the encoder writes into the stream (an SEI message in the
/// first frame), read from the first 16 MiB of `path`.
pub fn x264_signature(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut data = Vec::new();
    file.by_ref().take(16 << 20).read_to_end(&mut data).ok()?;
    let needle = b"x264 - core ";
    let start = data.windows(needle.len()).position(|w| w == needle)?;
    let rest = &data[start..data.len().min(start + 200)];
    let end = rest
        .windows(3)
        .position(|w| w == b" - ")
        .and_then(|first| {
            rest[first + 3..]
                .windows(3)
                .position(|w| w == b" - ")
                .map(|second| first + 3 + second)
        })?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// The version of the ffmpeg at `ffmpeg`.
pub fn ffmpeg_version(ffmpeg: &Path) -> Result<ToolVersion, PreserveError> {
    let out = Command::new(ffmpeg)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| PreserveError::ToolMissing {
            tool: ffmpeg.display().to_string(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("ffmpeg version "))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| PreserveError::Tool {
            tool: "ffmpeg".into(),
            message: "ffmpeg -version did not name a version".into(),
        })?;
    let libraries = text
        .lines()
        .filter(|line| line.starts_with("lib"))
        .filter_map(|line| line.split('/').next())
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    Ok(ToolVersion {
        name: "ffmpeg".into(),
        version: version.to_owned(),
        libraries,
        encoder: None,
    })
}

/// What a finished ffmpeg run left.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Its last messages on stderr (at `-v error`: empty when all went well).
    pub stderr: String,
    /// The last position it reported (the length of what it processed).
    pub position: Duration,
}

/// Makes `command` a child that dies with the thread that started it (PR_SET_PDEATHSIG)
/// and runs at `nice`.
fn tie_to_parent(command: &mut Command, nice: i32) {
    // SAFETY: only async-signal-safe calls between fork and exec (prctl, getppid,
    // setpriority, raise), no allocation, no locks.
    let parent = std::process::id();
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nobody would kill us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::raise(libc::SIGKILL);
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            Ok(())
        });
    }
}

/// Runs ffmpeg with `args` in `dir`, adding `-progress pipe:1 -nostats`; calls
/// `on_position` with each position ffmpeg reports (`out_time_us`). Fails when ffmpeg
/// cannot start or exits with an error.
pub fn run_ffmpeg(
    ffmpeg: &Path,
    dir: &Path,
    args: &[String],
    nice: i32,
    on_position: &mut dyn FnMut(Duration),
) -> Result<RunOutput, PreserveError> {
    let mut command = Command::new(ffmpeg);
    command
        .current_dir(dir)
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-progress",
            "pipe:1",
            "-nostats",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tie_to_parent(&mut command, nice);
    let mut child = command
        .spawn()
        .map_err(|source| PreserveError::ToolMissing {
            tool: ffmpeg.display().to_string(),
            source,
        })?;
    let stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    });
    let mut position = Duration::ZERO;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(us) = line.strip_prefix("out_time_us=")
                && let Ok(us) = us.trim().parse::<u64>()
            {
                position = Duration::from_micros(us);
                on_position(position);
            }
        }
    }
    let status = child.wait().map_err(|e| PreserveError::io(ffmpeg, e))?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(PreserveError::Tool {
            tool: "ffmpeg".into(),
            message: format!("{status}: {}", stderr.trim()),
        });
    }
    Ok(RunOutput { stderr, position })
}

/// What ffprobe says about a file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Probe {
    /// The container.
    #[serde(default)]
    pub format: ProbeFormat,
    /// The streams.
    #[serde(default)]
    pub streams: Vec<ProbeStream>,
}

/// The container, as ffprobe names it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProbeFormat {
    /// e.g. `matroska,webm`, `flac`, `mov,mp4,m4a,3gp,3g2,mj2`.
    #[serde(default)]
    pub format_name: String,
    /// Seconds, when the container says.
    #[serde(default)]
    pub duration: Option<String>,
}

/// One stream, as ffprobe describes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProbeStream {
    /// `video`, `audio`, `data`.
    #[serde(default)]
    pub codec_type: String,
    /// e.g. `vp8`, `h264`, `flac`.
    #[serde(default)]
    pub codec_name: String,
    /// e.g. `High`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Width in pixels (video).
    #[serde(default)]
    pub width: Option<u32>,
    /// Height in pixels (video).
    #[serde(default)]
    pub height: Option<u32>,
    /// e.g. `25/1`.
    #[serde(default)]
    pub r_frame_rate: Option<String>,
    /// e.g. `25/1`.
    #[serde(default)]
    pub avg_frame_rate: Option<String>,
}

impl Probe {
    /// The first stream of `codec_type`.
    pub fn stream(&self, codec_type: &str) -> Option<&ProbeStream> {
        self.streams.iter().find(|s| s.codec_type == codec_type)
    }

    /// The container's duration in seconds, when it states one.
    pub fn duration(&self) -> Option<f64> {
        self.format.duration.as_deref()?.parse().ok()
    }
}

/// Runs `ffprobe -v error <args> <path>` and returns what it printed.
fn run_ffprobe(ffprobe: &Path, args: &[&str], path: &Path) -> Result<Vec<u8>, PreserveError> {
    let out = Command::new(ffprobe)
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| PreserveError::ToolMissing {
            tool: ffprobe.display().to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(PreserveError::Tool {
            tool: "ffprobe".into(),
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}

/// Runs ffprobe on `path`.
pub fn probe(ffprobe: &Path, path: &Path) -> Result<Probe, PreserveError> {
    let entries = "format=format_name,duration:stream=codec_type,codec_name,profile,width,height,\
                   r_frame_rate,avg_frame_rate";
    let out = run_ffprobe(ffprobe, &["-show_entries", entries, "-of", "json"], path)?;
    serde_json::from_slice(&out).map_err(|e| PreserveError::Tool {
        tool: "ffprobe".into(),
        message: format!("unreadable output: {e}"),
    })
}

/// The presentation times (seconds, in order) of the packets of the first video stream
/// of `path`: read from the container, nothing decoded.
pub fn video_packet_times(ffprobe: &Path, path: &Path) -> Result<Vec<f64>, PreserveError> {
    let args = [
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time",
        "-of",
        "csv=p=0",
    ];
    let out = run_ffprobe(ffprobe, &args, path)?;
    let mut times: Vec<f64> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|line| line.trim().trim_end_matches(',').parse().ok())
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(times)
}
