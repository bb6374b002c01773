//! CPU time for the benches, from `clock_gettime` (nanosecond resolution on Linux). The
//! scheduler statistics in `/proc/*/schedstat` and `getrusage` advance in whole scheduler ticks
//! on some kernels: a 2.8 ms operation then reads as 0 or 4 ms.

/// CPU seconds the calling thread has used.
#[allow(dead_code)]
pub(crate) fn thread_cpu_secs() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// CPU seconds this process has used (all threads).
#[allow(dead_code)]
pub(crate) fn process_cpu_secs() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Operations per second of `op` on this thread: (per CPU second, per wall-clock second).
#[allow(dead_code)]
pub(crate) fn rate(duration: std::time::Duration, mut op: impl FnMut()) -> (f64, f64) {
    let start = std::time::Instant::now();
    let cpu = thread_cpu_secs();
    let mut n = 0u32;
    while start.elapsed() < duration {
        op();
        n += 1;
    }
    (
        f64::from(n) / (thread_cpu_secs() - cpu),
        f64::from(n) / start.elapsed().as_secs_f64(),
    )
}

/// CPU seconds (user + system) a whole other process has used so far, from
/// `/proc/<pid>/stat` (USER_HZ ticks: a resolution of 10 ms, small against the
/// seconds a benchmark window takes).
#[allow(dead_code)]
pub(crate) fn other_process_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it start past the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `(comm) `.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // `/proc` counts in USER_HZ, 100 per second on Linux whatever the kernel's tick rate.
    Some((utime + stime) / 100.0)
}
