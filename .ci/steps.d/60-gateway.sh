#!/usr/bin/env bash
# Gateway process tests (issue 6), `poststelle serve` as a child process (debug build):
# - crash safety (acceptance 2): 200 submissions through sandbox → serve (SIGKILLed at random
#   moments at least 5 times and restarted) → HTTP sink, on SQLite and on PostgreSQL
#   (POSTSTELLE_TEST_DATABASE_URL, set by .ci/run). Each test prints its seed and counts (kills,
#   restarts, forwarded keys, duplicates, acknowledgements) and is bounded to well under 4
#   minutes. Replay a schedule with POSTSTELLE_CRASH_SEED=<seed>.
# - bounded memory (scope; issue 19 budget: four 60 MiB deflate bombs and a 14 MiB text node
#   keep peak RSS <= 256 MiB): a 96 MiB attachment must not raise serve's peak RSS by a third of
#   its size (prints the figures).
set -euo pipefail
start=$(date +%s)
cargo test --locked --test it gateway_crash -- --ignored --test-threads=1 --nocapture
echo "--- gateway crash tests: $(( $(date +%s) - start )) s"
# - replies (issue 15, acceptance 3): 50 answers handed in through the reply API and sent over
#   the sandbox while serve is SIGKILLed at least 5 times: exactly one reply per submission at
#   the sender, all submitted in the store (needs ../shared for XBau; prints seed and counts).
start=$(date +%s)
cargo test --locked --test it gateway_replies -- --ignored --test-threads=1 --nocapture
echo "--- gateway reply crash test: $(( $(date +%s) - start )) s"
start=$(date +%s)
cargo test --locked --test it gateway_memory -- --ignored --test-threads=1 --nocapture
echo "--- gateway memory test: $(( $(date +%s) - start )) s"
