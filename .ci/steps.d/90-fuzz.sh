#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 20) from its seed
# corpus, after one `cargo fuzz build` of all targets.
# Seeds: fuzz/seeds/<target>/ (committed, our own data, written by
# `POSTSTELLE_WRITE_FUZZ_SEEDS=1 cargo test --lib write_fuzz_seeds -- --ignored`) plus, where a
# target says so (scripts/fuzz-dirs.sh), files read in place: the XBau samples from ../shared
# (never copied into the repository) and the project's own test vectors.
# The CI gate uses a fixed libFuzzer seed (FUZZ_SEED, default 1) so that a failure here is
# reproducible with the same command; exploratory runs use scripts/fuzz-campaign.sh.
# A failing run prints the fuzzer's report and the crashing input (hex), which belongs in a
# regression test (src/fuzzing/) once fixed.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
# shellcheck source=../../scripts/fuzz-dirs.sh
source ../scripts/fuzz-dirs.sh
secs="${FUZZ_SECONDS:-20}"
seed="${FUZZ_SEED:-1}"
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
cargo +nightly fuzz build
bin="target/$triple/release"
logs="$(mktemp -d)"
printf '%-18s %10s %8s %8s\n' target runs cov ft
for target in $(cargo +nightly fuzz list); do
  corpus="target/corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  mapfile -t dirs < <(fuzz_dirs "$target")
  log="$logs/$target.log"
  if "$bin/$target" "$corpus" "${dirs[@]}" -seed="$seed" -max_total_time="$secs" \
    -rss_limit_mb=2048 -max_len=262144 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    ft="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    printf '%-18s %10s %8s %8s\n' "$target" "$runs" "$cov" "$ft"
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
