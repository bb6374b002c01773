#!/usr/bin/env bash
# Published test vectors (about 10 s):
#   1. the independent Python cross-check (jwcrypto, jsonschema, xmllint; none of our code) agrees
#      with every jwe, set, metadata, callback, json, reply, reply-admission and xsd case of the
#      manifest (reply-valid: jwcrypto decrypts a reply poststelle sealed);
#   2. `poststelle vectors verify` passes the whole suite through the CLI (the library run is
#      `cargo test --test vectors`, part of `cargo test --locked`).
set -euo pipefail
python3 test-vectors/crosscheck.py --xmllint
cargo run --locked --quiet --bin poststelle -- vectors verify --quiet test-vectors
