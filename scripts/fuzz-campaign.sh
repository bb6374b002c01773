#!/usr/bin/env bash
# A longer fuzzing campaign: every target (or those named) for SECONDS each with a random
# libFuzzer seed, keeping the corpus between runs (fuzz/target/corpus/<target>), and a summary
# table at the end: target, runs, coverage (cov, ft), corpus size, findings.
#
#   scripts/fuzz-campaign.sh [-t SECONDS] [-j JOBS] [-w WORKERS] [target …]
#
#   -t  seconds per target (default 300)
#   -j  targets fuzzed at the same time (default 1)
#   -w  libFuzzer workers per target (default 1; each needs a core)
#
# Findings (crashes, timeouts, out-of-memory) land in fuzz/artifacts/<target>/ and are listed
# with the command that reproduces them. Logs: fuzz/target/campaign/<target>.log.
#
# Run it from a clone of the commit to fuzz, not from a working tree being edited: the build
# reads the sources as they are when it gets to them. Do not pause the fuzzers (SIGSTOP, e.g.
# for a benchmark): libFuzzer times a unit on the wall clock, so a pause longer than -timeout
# ends the run with a false timeout. Lower their priority (renice) instead.
set -euo pipefail
secs=300
jobs=1
workers=1
while getopts "t:j:w:" opt; do
  case "$opt" in
    t) secs="$OPTARG" ;;
    j) jobs="$OPTARG" ;;
    w) workers="$OPTARG" ;;
    *) sed -n '2,18p' "$0"; exit 64 ;;
  esac
done
shift $((OPTIND - 1))
cd "$(dirname "$0")/../fuzz"
# shellcheck source=fuzz-dirs.sh
source ../scripts/fuzz-dirs.sh
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
cargo +nightly fuzz build
bin="target/$triple/release"
logs="target/campaign"
mkdir -p "$logs"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

run_one() {
  local target="$1"
  local corpus="target/corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  local dirs
  mapfile -t dirs < <(fuzz_dirs "$target")
  local extra=()
  if [ "$workers" -gt 1 ]; then
    extra=(-fork="$workers" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  "$bin/$target" "$corpus" "${dirs[@]}" -seed=0 -max_total_time="$secs" \
    -rss_limit_mb=2048 -max_len=262144 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" "${extra[@]}" >"$logs/$target.log" 2>&1 || true
}

running=0
for target in "${targets[@]}"; do
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

printf '\n%-18s %10s %8s %8s %8s %s\n' target runs cov ft corpus findings
status=0
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  [ -n "$runs" ] || runs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  ft="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  corpus="$(find "target/corpus/$target" -type f | wc -l)"
  findings="$(find "artifacts/$target" -type f | wc -l)"
  printf '%-18s %10s %8s %8s %8s %s\n' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$findings"
  [ "$findings" -eq 0 ] || status=1
done
for target in "${targets[@]}"; do
  for a in artifacts/"$target"/*; do
    [ -f "$a" ] || continue
    echo "finding: (cd fuzz && $bin/$target $a)"
  done
done
exit "$status"
