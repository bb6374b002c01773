#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 30) from its seed corpus.
# Seeds: fuzz/seeds/<target>/ (committed, our own files) plus, where a target says so, the XBau
# samples from ../shared (read in place, never copied into the repository).
set -euo pipefail
cd fuzz
secs="${FUZZ_SECONDS:-30}"
shared="${POSTSTELLE_SHARED:-$(cd ../.. && pwd)/shared}"
for target in $(cargo +nightly fuzz list); do
  corpus="target/corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$target" ] && seeds+=("seeds/$target")
  case "$target" in
    xml_reader|validate_xbau) seeds+=("$shared/xoev/samples/xbau/fv-testdateien" "$shared/xoev/samples/xbau/negative") ;;
  esac
  echo "fuzzing $target for ${secs}s"
  cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 2>&1 | tail -n 12
done
