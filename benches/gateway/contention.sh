#!/usr/bin/env bash
# Lock/contention profile of the gateway at 8 submissions in flight (issue 18, goal 4).
#
# Runs the gateway benchmark (`cargo bench --bench gateway`) with --inflight 8, records every
# scheduler switch on the machine for a few seconds in the middle of the measured window
# (`perf record -e sched:sched_switch -a --call-graph dwarf`), and prints why the gateway's
# threads were off the CPU (benches/gateway/offcpu.py): lock waits by lock and store operation,
# idle pools, file syncs, preemption. Needs root or perf_event_paranoid <= 1, perf, python3.
#
#   bash benches/gateway/contention.sh [SECONDS] [extra bench arguments …]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-3}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
echo "building the benchmark …"
cargo bench --locked --bench gateway --no-run >/dev/null 2>&1
cargo bench --locked --bench gateway -- --submissions 300 --inflight 8 "$@" >"$work/bench.log" 2>&1 &
bench=$!
for _ in $(seq 1 600); do
  grep -q '^sending' "$work/bench.log" 2>/dev/null && break
  kill -0 "$bench" 2>/dev/null || { cat "$work/bench.log"; exit 1; }
  sleep 0.5
done
sleep 3 # past the warm-up, into the measured window
pid=$(pgrep -f 'poststelle serve --config' | head -1)
[ -n "$pid" ] || { echo "gateway process not found"; cat "$work/bench.log"; exit 1; }
echo "recording ${secs} s of scheduler switches (gateway pid $pid) …"
start=$(date +%s.%N)
perf record -q -e sched:sched_switch -a --call-graph dwarf,4096 -o "$work/sw.perf" -- sleep "$secs" 2>/dev/null
end=$(date +%s.%N)
wait "$bench"
grep -E 'measured submissions/s|ratio gateway|gateway CPU per' "$work/bench.log" || true
rate=$(awk -F'|' '/measured submissions\/s/ {gsub(/ /, "", $3); print $3}' "$work/bench.log")
perf script -i "$work/sw.perf" -F comm,pid,tid,time,trace,ip,sym 2>/dev/null >"$work/sw.txt"
n=$(python3 -c "print(${rate:-0} * ($end - $start))")
python3 "$here/offcpu.py" "$work/sw.txt" --pid "$pid" --submissions "$n"
