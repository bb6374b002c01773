#!/usr/bin/env bash
# Gateway crash safety (issue 6, acceptance 2): 200 submissions through sandbox → `poststelle
# serve` (a child process, SIGKILLed at random moments at least 5 times and restarted) → HTTP
# sink, on SQLite and on PostgreSQL (POSTSTELLE_TEST_DATABASE_URL, set by .ci/run). Each test
# prints its seed and counts (kills, restarts, forwarded keys, duplicates, acknowledgements)
# and is bounded to well under 4 minutes (debug build). Replay a schedule with
# POSTSTELLE_CRASH_SEED=<seed>.
set -euo pipefail
start=$(date +%s)
cargo test --locked --test it gateway_crash -- --ignored --test-threads=1 --nocapture
echo "--- gateway crash tests: $(( $(date +%s) - start )) s"
