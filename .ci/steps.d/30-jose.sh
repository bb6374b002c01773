#!/usr/bin/env bash
# JOSE end to end through the CLI against Python jwcrypto (about 15 s):
#   keys generate → keys check → jwcrypto encrypts (plain and zip: DEF) → poststelle decrypt
#   → poststelle encrypt → jwcrypto decrypts. Fails on any mismatch.
# The Rust-level interop (josekit and jwcrypto, all four directions incl. PS512 SETs) runs in
# `cargo test` (tests/it/jose_interop_*.rs). The benchmark is not run here (see README:
# `cargo bench --bench jose`).
set -euo pipefail
cargo build --locked --quiet --bin poststelle
bin=target/debug/poststelle
py=tests/interop/jwcrypto_interop.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" keys generate --out "$work/keys" 2>/dev/null
"$bin" keys check --dangerous-allow-self-signed "$work/keys/enc.public.jwk.json" 2>/dev/null
"$bin" keys check --dangerous-allow-self-signed "$work/keys/sig.public.jwk.json" 2>/dev/null
if "$bin" keys check "$work/keys/enc.public.jwk.json" >/dev/null 2>&1; then
  echo "FAIL: self-signed key accepted without the dangerous switch"; exit 1
fi

printf '{"contentStructure":{"attachments":[]},"x":"%s"}' "$(head -c 3000 /dev/zero | tr '\0' 'a')" > "$work/plain.json"
for zip in nozip zip; do
  python3 "$py" encrypt "$work/keys/enc.public.jwk.json" "$work/plain.json" "$zip" > "$work/$zip.jwe"
  "$bin" decrypt --key "$work/keys/enc.private.jwk.json" "$work/$zip.jwe" > "$work/$zip.out" 2>/dev/null
  cmp "$work/plain.json" "$work/$zip.out"
done
"$bin" encrypt --key "$work/keys/enc.public.jwk.json" --cty application/json "$work/plain.json" > "$work/ours.jwe"
python3 "$py" decrypt "$work/keys/enc.private.jwk.json" "$work/ours.jwe" > "$work/ours.out"
cmp "$work/plain.json" "$work/ours.out"
# The PEM form of the same key decrypts too.
"$bin" decrypt --key "$work/keys/enc.private.pem" "$work/ours.jwe" 2>/dev/null | cmp - "$work/plain.json"
echo "jose CLI interop with jwcrypto: ok"
