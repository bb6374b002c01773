#!/usr/bin/env bash
# Attack harness of the HTTP listeners (issue 19, scope 3): `poststelle serve` and
# `poststelle sandbox` as child processes (debug build), each under 1,200 silent and 300
# slow-body connections (loopback only, about 20 s per scenario, stops by itself). `/health`
# must keep p99 <= 1 s on the probe listener, on the main port against one attacker address,
# and on the sandbox; the figures are printed. Needs ~4,096 open files: the soft limit is
# raised to the hard one here when it is lower.
set -euo pipefail
want=8192
soft=$(ulimit -Sn)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -Sn "$want"; else ulimit -Sn "$hard"; fi
fi
start=$(date +%s)
cargo test --locked --test it attack_http -- --ignored --test-threads=1 --nocapture
echo "--- attack harness: $(( $(date +%s) - start )) s"
