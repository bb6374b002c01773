#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 30) from its seed corpus.
# Seeds: fuzz/seeds/<target>/ (committed, our own files) plus, where a target says so, the XBau
# samples from ../shared (read in place, never copied into the repository).
# The CI gate uses a fixed libFuzzer seed (FUZZ_SEED, default 1) so that a failure here is
# reproducible with the same command; exploratory runs set FUZZ_SEED=0 (random) and run longer.
# A failing run prints the fuzzer's report and the crashing input (hex), which belongs in a
# regression test (src/fuzzing.rs) once fixed.
set -euo pipefail
cd fuzz
secs="${FUZZ_SECONDS:-30}"
seed="${FUZZ_SEED:-1}"
shared="${POSTSTELLE_SHARED:-$(cd ../.. && pwd)/shared}"
logs="$(mktemp -d)"
for target in $(cargo +nightly fuzz list); do
  corpus="target/corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$target" ] && seeds+=("seeds/$target")
  case "$target" in
    xml_reader|validate_xbau) seeds+=("$shared/xoev/samples/xbau/fv-testdateien" "$shared/xoev/samples/xbau/negative") ;;
    # Our own JWE test vectors, encrypted for the key the target uses.
    jwe_stream) seeds+=("../test-vectors/jwe") ;;
  esac
  echo "fuzzing $target for ${secs}s (seed $seed)"
  log="$logs/$target.log"
  if cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
    -seed="$seed" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -n 8 "$log"
  else
    echo "fuzz target $target FAILED; the fuzzer's report:"
    grep -v '^#[0-9]' "$log" | tail -n 80
    for a in artifacts/"$target"/*; do
      [ -f "$a" ] || continue
      echo "crashing input $a ($(wc -c <"$a") bytes), first 4 KiB as hex:"
      head -c 4096 "$a" | od -An -tx1 | head -n 64
    done
    exit 1
  fi
done
