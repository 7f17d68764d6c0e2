//! What the kernel says about this process and its threads: CPU time and memory.

use std::time::Duration;

/// A thread of this process whose CPU time can be read from any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadId(pub u32);

impl ThreadId {
    /// The calling thread.
    pub fn current() -> anyhow::Result<Self> {
        // SAFETY: gettid has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        Ok(Self(u32::try_from(tid)?))
    }

    /// CPU time (user and system) the thread has used, in nanoseconds, from the
    /// scheduler's own accounting (`/proc/self/task/TID/schedstat`), or from
    /// `stat` in clock ticks when schedstat is missing.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let base = format!("/proc/self/task/{}", self.0);
        if let Ok(text) = std::fs::read_to_string(format!("{base}/schedstat"))
            && let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok())
        {
            return Ok(Duration::from_nanos(ns));
        }
        let stat = std::fs::read_to_string(format!("{base}/stat"))?;
        ticks_of_stat(&stat)
    }
}

/// utime + stime of a `stat` line.
fn ticks_of_stat(stat: &str) -> anyhow::Result<Duration> {
    // The command name may hold spaces; fields count from after its closing ')'.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("unexpected stat format"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(n)
            .ok_or_else(|| anyhow::anyhow!("short stat line"))?
            .parse()?)
    };
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the name.
    let ticks = field(11)? + field(12)?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// CPU time of the whole process (every thread, live or gone), from getrusage.
pub fn process_cpu() -> Duration {
    // SAFETY: a zeroed rusage is a valid out-parameter for getrusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident set size of the process, in bytes (`VmRSS`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The 1-minute load average (`/proc/loadavg`): other work competing for the CPUs.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// UDP datagrams the kernel dropped in this network namespace (`/proc/net/snmp`):
/// receive buffers full, send buffers full, and other receive errors. In the private
/// namespace of a run, that is the run's own traffic only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UdpDrops {
    /// Of all drops, those of the SFU's socket (from `/proc/net/udp`).
    pub sfu_socket: u64,
    /// Those of every other socket (the synthetic peers', the relay's).
    pub other_sockets: u64,
    /// `RcvbufErrors`: a socket's receive buffer was full (its reader lagged).
    pub rcvbuf_errors: u64,
    /// `SndbufErrors`: a socket's send buffer was full.
    pub sndbuf_errors: u64,
    /// `InErrors`: every receive error, the above included.
    pub in_errors: u64,
}

impl UdpDrops {
    /// The counters now (zeros when unreadable); `sfu_port` tells the SFU's socket.
    pub fn now(sfu_port: u16) -> Self {
        let (sfu_socket, other_sockets) = socket_drops(sfu_port);
        let text = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
        let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
        let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
            return Self::default();
        };
        let field = |name: &str| {
            names
                .split_whitespace()
                .position(|n| n == name)
                .and_then(|i| values.split_whitespace().nth(i)?.parse().ok())
                .unwrap_or(0)
        };
        Self {
            sfu_socket,
            other_sockets,
            rcvbuf_errors: field("RcvbufErrors"),
            sndbuf_errors: field("SndbufErrors"),
            in_errors: field("InErrors"),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            sfu_socket: self.sfu_socket.saturating_sub(earlier.sfu_socket),
            other_sockets: self.other_sockets.saturating_sub(earlier.other_sockets),
            rcvbuf_errors: self.rcvbuf_errors.saturating_sub(earlier.rcvbuf_errors),
            sndbuf_errors: self.sndbuf_errors.saturating_sub(earlier.sndbuf_errors),
            in_errors: self.in_errors.saturating_sub(earlier.in_errors),
        }
    }
}

/// Datagrams dropped so far by the UDP socket bound to `port`, and by all the
/// others, in this network namespace (`/proc/net/udp`, the `drops` column).
pub fn socket_drops(port: u16) -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let (mut mine, mut others) = (0, 0);
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(drops)) = (fields.get(1), fields.last()) else {
            continue;
        };
        let local_port = local
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        let drops: u64 = drops.parse().unwrap_or(0);
        if local_port == Some(port) {
            mine += drops;
        } else {
            others += drops;
        }
    }
    (mine, others)
}

/// The machine, for the report: logical CPUs and the CPU model.
pub fn machine() -> (usize, String) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    (cpus, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_thread_uses_cpu_and_stat_lines_parse() -> anyhow::Result<()> {
        let me = ThreadId::current()?;
        let before = me.cpu()?;
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(me.cpu()? > before);
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(
            ticks_of_stat(stat)?,
            Duration::from_secs_f64(300.0 / clock_ticks())
        );
        assert!(rss_bytes() > 0);
        Ok(())
    }
}
