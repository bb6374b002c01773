#!/usr/bin/env python3
"""Off-CPU (blocking) profile of one process from `perf script` output of a system-wide
`sched:sched_switch` recording with call graphs (issue 18, goal 4: does the pipeline serialise
on one lock or one connection?).

For each thread of the process, every interval from the moment it is switched out until it is
switched in again is attributed to why it left the CPU, read from the innermost frames of its
stack at the switch: waiting on a lock (a `Mutex` in the contended path, with the Rust caller
that holds the wait), a condition variable (idle pool threads), epoll (an idle runtime worker),
a file sync, or being preempted while runnable. Prints one table: seconds off CPU per class in
the window, and per submission when `--submissions` gives how many completed in the window.

Record (see contention.sh):
  perf record -e sched:sched_switch -a --call-graph dwarf,4096 -o sw.perf -- sleep 3
  perf script -i sw.perf -F comm,pid,tid,time,trace,ip,sym > sw.txt
  python3 offcpu.py sw.txt --pid PID [--submissions N]
"""

import argparse
import collections
import re
import sys

SWITCH = re.compile(
    r"^\S.*?\s(\d+)/(\d+)\s+([\d.]+):\s+prev_comm=.*? prev_pid=(\d+) .*? prev_state=(\S+) "
    r"==> next_comm=.*? next_pid=(\d+) "
)

# Frames that say nothing about the reason (the scheduler, syscall entry, the futex wrappers).
PLUMBING = re.compile(
    r"^(__schedule|schedule|schedule_.*|do_syscall_64|entry_SYSCALL.*|__x64_sys_.*|"
    r"futex_.*|do_futex|__futex.*|syscall|\[unknown\]|__GI___.*|__libc_.*|"
    r"std::sys::pal::unix::futex::futex_wait|std::sys::sync::.*::wait.*|"
    r"core::ptr::.*|.*::\{\{closure\}\})$"
)


def classify(state, frames):
    """(class, detail) for one switch-out: state is prev_state, frames innermost first."""
    joined = " ".join(frames)
    if state in ("R", "R+"):
        return "preempted (runnable)", ""
    if "Condvar" in joined and "blocking::pool" in joined:
        # An idle pool thread waiting for work (also when it re-takes the pool's lock on wake).
        return "idle: blocking-pool thread", ""
    if "lock_contended" in joined:
        # The type behind the lock (`lock<T>`), and for the store's connection the operation.
        held = next((m.group(1) for f in frames for m in [re.match(r"^lock<(.+)>$", f)] if m), "?")
        op = re.search(r"sqlite::\{impl#\d+\}::(\w+)", joined)
        site = held + (f" ({op.group(1)})" if op else "")
        if held == "rusqlite::Connection":
            return "lock wait: the SQLite connection", site
        if "blocking::pool" in held or "blocking::pool::Inner::run" in joined:
            return "lock wait: tokio blocking-pool queue", site
        return "lock wait: other std Mutex", site
    if "ep_poll" in joined or "epoll_wait" in joined:
        return "idle: runtime worker in epoll", ""
    if "blocking::pool" in joined or "wait_timeout" in joined:
        return "idle: blocking-pool thread", ""
    if "Parker" in joined or "park" in joined:
        return "idle: parked runtime thread", ""
    if "fsync" in joined or "fdatasync" in joined or "file_write_and_wait" in joined:
        return "file sync (fsync/fdatasync)", ""
    if state.startswith("D"):
        for f in frames:
            if f.startswith(("ext4", "jbd2", "filemap", "folio", "blk", "io_schedule")):
                return "disk I/O wait (D)", f
        return "uninterruptible (D), other", frames[3] if len(frames) > 3 else ""
    if "futex" in joined:
        for f in frames:
            if "::" in f and not PLUMBING.match(f) and not f.startswith("std::"):
                return "futex wait, other", f[:100]
        return "futex wait, other", "?"
    return "other sleep", next((f for f in frames if "::" in f), frames[0] if frames else "")[:100]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("script", help="perf script output")
    ap.add_argument("--pid", type=int, required=True, help="the gateway's process id")
    ap.add_argument("--submissions", type=float, help="submissions completed in the window")
    a = ap.parse_args()

    out = {}  # tid -> (time switched out, class, detail)
    total = collections.Counter()
    detail = collections.defaultdict(collections.Counter)
    first = last = None
    threads = set()
    with open(a.script, errors="replace") as f:
        block = []
        for line in f:
            if line.strip():
                block.append(line.rstrip("\n"))
                continue
            handle(block, a.pid, out, total, detail, threads)
            if block:
                m = SWITCH.match(block[0])
                if m:
                    t = float(m.group(3))
                    first = t if first is None else first
                    last = t
            block = []
        handle(block, a.pid, out, total, detail, threads)
    if first is None:
        sys.exit("no sched_switch events in the input")
    window = last - first
    print(f"off-CPU profile of pid {a.pid}: {len(threads)} threads, window {window:.2f} s")
    print("| why a thread was off the CPU | thread-seconds | share of thread time |"
          + (" ms per submission |" if a.submissions else ""))
    print("|---|---|---|" + ("---|" if a.submissions else ""))
    thread_time = window * max(len(threads), 1)
    for cls, secs in total.most_common():
        row = f"| {cls} | {secs:.3f} | {100 * secs / thread_time:.1f} % |"
        if a.submissions:
            row += f" {1000 * secs / a.submissions:.2f} |"
        print(row)
    for cls in sorted(detail):
        print(f"\n{cls}, by site:")
        for site, secs in detail[cls].most_common(8):
            print(f"  {secs:8.4f} s  {site}")


def handle(block, pid, out, total, detail, threads):
    if not block:
        return
    m = SWITCH.match(block[0])
    if not m:
        return
    ev_pid, _tid, t = int(m.group(1)), int(m.group(2)), float(m.group(3))
    prev, state, nxt = int(m.group(4)), m.group(5), int(m.group(6))
    if nxt in out:
        since, cls, site = out.pop(nxt)
        total[cls] += t - since
        if site:
            detail[cls][site] += t - since
    if ev_pid == pid and prev != 0:
        threads.add(prev)
        frames = []
        for line in block[1:]:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                frames.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1]).split(" (")[0])
        cls, site = classify(state, frames)
        out[prev] = (t, cls, site)


if __name__ == "__main__":
    main()
