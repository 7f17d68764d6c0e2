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
