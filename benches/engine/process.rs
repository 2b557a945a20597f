//! What the benchmark reads off processes: CPU time (this one's from
//! `getrusage`, another's from `/proc/<pid>/stat`), resident memory, and
//! pinning to one core.

/// This process's resource usage so far (all its threads).
fn rusage() -> libc::rusage {
    // SAFETY: getrusage writes into the zeroed struct we own.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    }
}

/// This process's (user, kernel) CPU time so far, µs.
pub fn process_cpu() -> (u64, u64) {
    let u = rusage();
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(u.ru_utime), us(u.ru_stime))
}

/// This process's (voluntary, involuntary) context switches so far: a
/// voluntary one is a thread going to sleep (to wait for I/O, a timer, a lock).
pub fn context_switches() -> (u64, u64) {
    let u = rusage();
    (u.ru_nvcsw as u64, u.ru_nivcsw as u64)
}

/// This process's user + kernel CPU time so far, µs.
pub fn process_cpu_us() -> u64 {
    let (user, sys) = process_cpu();
    user + sys
}

/// This process's resident set, KiB.
pub fn rss_kib() -> u64 {
    rss_kib_of("self")
}

/// The resident set of process `pid` (a number, or `self`), KiB.
pub fn rss_kib_of(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Another process's user + kernel CPU time so far, µs (all its threads;
/// clock-tick resolution, 10 ms at the usual 100 Hz).
pub fn pid_cpu_us(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: fields are counted after its ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    (ticks(11) + ticks(12)) * 1_000_000 / hz
}

/// The cores this machine has online (at least 1), whatever this process
/// is pinned to.
pub fn cores() -> usize {
    // SAFETY: sysconf only reads a constant of the system.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(1).max(1)
}

/// Pins the calling process (all its future threads) to `core`. Does
/// nothing on a one-core machine, where both sides must share it.
pub fn pin_to(core: usize) {
    if cores() < 2 {
        return;
    }
    // SAFETY: the set is a zeroed bitmask we own; pid 0 is this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
