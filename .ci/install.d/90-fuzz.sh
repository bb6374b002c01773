#!/usr/bin/env bash
# cargo-fuzz for the fuzz targets (run on nightly, which the machine image ships).
set -euo pipefail
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
