//! CPU time of the load generator's own threads.
//!
//! The embedded staging server may run in the same process; its runtime's
//! threads are named `msgperf-server` and are left out, so the figure tells
//! whether the *generator* ran out of CPU. Linux reads per-thread times from
//! `/proc/self/task`; elsewhere the whole process is measured.

use std::time::Instant;

/// Thread-name prefix of threads that are not the load generator's.
pub use crate::staging::SERVER_THREAD_NAME;

/// Measures generator CPU between samples.
#[derive(Debug)]
pub struct CpuMeter {
    start_cpu_ns: u64,
    start: Instant,
    last_cpu_ns: u64,
    last: Instant,
}

impl CpuMeter {
    /// Starts measuring now.
    pub fn start() -> Self {
        let cpu = generator_cpu_ns();
        let now = Instant::now();
        CpuMeter {
            start_cpu_ns: cpu,
            start: now,
            last_cpu_ns: cpu,
            last: now,
        }
    }

    /// Percent of one core used since the previous sample.
    pub fn sample_percent(&mut self) -> f64 {
        let cpu = generator_cpu_ns();
        let now = Instant::now();
        let pct = percent(cpu - self.last_cpu_ns.min(cpu), now - self.last);
        self.last_cpu_ns = cpu;
        self.last = now;
        pct
    }

    /// CPU nanoseconds and percent of one core since [`CpuMeter::start`].
    pub fn total(&self) -> (u64, f64) {
        let used = generator_cpu_ns().saturating_sub(self.start_cpu_ns);
        (used, percent(used, self.start.elapsed()))
    }
}

fn percent(cpu_ns: u64, wall: std::time::Duration) -> f64 {
    let wall_ns = wall.as_nanos().max(1) as f64;
    (cpu_ns as f64 / wall_ns * 1000.0).round() / 10.0
}

/// CPU nanoseconds used so far by every thread of this process except the
/// embedded server's.
pub fn generator_cpu_ns() -> u64 {
    linux_threads_cpu_ns(&|name| !name.starts_with(SERVER_THREAD_NAME))
        .unwrap_or_else(process_cpu_ns)
}

/// CPU nanoseconds of the live threads whose name `counts`; `None` off Linux.
fn linux_threads_cpu_ns(counts: &dyn Fn(&str) -> bool) -> Option<u64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !counts(name.trim_end()) {
            continue;
        }
        // schedstat's first field is the thread's run time in ns; stat's
        // utime+stime have only clock-tick (10 ms) resolution.
        if let Some(ns) = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        {
            total += ns;
        } else if let Some(ns) = stat_cpu_ns(&dir) {
            total += ns;
        }
    }
    Some(total)
}

fn stat_cpu_ns(dir: &std::path::Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * 1_000_000_000 / hz)
}

fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_cpu_ns() -> u64 {
        // SAFETY: clock_gettime writes into the timespec we own.
        let ts = unsafe {
            let mut ts: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
            ts
        };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_named_thread_is_measured_alone() {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (spun_tx, spun_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("cpu-probe-x".into())
            .spawn(move || {
                // Spin for 200 ms of this thread's own CPU time (wall time
                // would depend on how busy the machine is).
                let mut x = 0u64;
                while thread_cpu_ns() < 200_000_000 {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                spun_tx.send(()).unwrap();
                // Stay alive (and idle) until measured: /proc forgets ended threads.
                let _ = done_rx.recv();
            })
            .unwrap();
        spun_rx.recv().unwrap();
        let ns = linux_threads_cpu_ns(&|name| name == "cpu-probe-x").unwrap();
        done_tx.send(()).unwrap();
        worker.join().unwrap();
        assert!((190_000_000..260_000_000).contains(&ns), "{ns}");
        assert_eq!(linux_threads_cpu_ns(&|_| false), Some(0));
    }

    #[test]
    fn meter_reports_percent_of_one_core() {
        let meter = CpuMeter::start();
        let spin_from = thread_cpu_ns();
        while thread_cpu_ns() - spin_from < 50_000_000 {
            std::hint::black_box(0u64);
        }
        let (ns, pct) = meter.total();
        assert!(ns >= 45_000_000, "{ns}");
        // 50 ms of CPU in at least 50 ms of wall time: at most 100% of a core
        // from this thread; other test threads may add to it.
        assert!(pct > 0.0 && pct <= 100.0 * 64.0, "{pct}");
    }
}
