#!/usr/bin/env bash
# The store test suite against the local PostgreSQL server (127.0.0.1:5432, trust auth,
# database `test`); SQLite runs in the plain `cargo test`. Each test works in its own schema
# and drops it. About 10 s once built.
set -euo pipefail
export POSTSTELLE_TEST_DATABASE_URL="${POSTSTELLE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test --locked --test it store_
