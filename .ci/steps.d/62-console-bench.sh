#!/usr/bin/env bash
# Console page latency (issue 17): 10,000 submissions (16 KB envelopes, dead letters, XML
# Fachdaten) on SQLite and on PostgreSQL (POSTSTELLE_TEST_DATABASE_URL, set by .ci/run; under
# CI an unreachable PostgreSQL fails); every console page's median must stay within 100 ms.
# Dev profile: reuses the library the test step built (about 10 s to link the bench), and the
# console's own code unoptimised is stricter than release. About 50 s on the 2-core machine (fill included).
set -euo pipefail
start=$(date +%s)
cargo bench --locked --profile dev --bench console
echo "--- console bench: $(( $(date +%s) - start )) s"
