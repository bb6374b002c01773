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
