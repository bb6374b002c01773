#!/usr/bin/env bash
# XSD engine (issue 2), CLI contract on XBau 2.6: the 20 samples are valid (exit 0), every
# negative case is invalid (exit 1), a broken schema exits 2, --json is one parseable document.
# Takes about 3 s after the build (compile of the XBau set + 30 validations, debug build).
set -euo pipefail
shared="${POSTSTELLE_SHARED:-$(cd .. && pwd)/shared}"
cargo build --locked --bin poststelle
bin=target/debug/poststelle
xsd="$shared/xoev/xbau-2.6/xsd_dev"
samples="$shared/xoev/samples/xbau"
"$bin" validate --schema-dir "$xsd" "$samples"/fv-testdateien/*.xml "$samples"/fv-generated/*.xml
for f in "$samples"/negative/*.xml; do
  set +e
  "$bin" validate --schema-dir "$xsd" "$f" > /dev/null 2>&1
  code=$?
  set -e
  [ "$code" -eq 1 ] || { echo "expected exit 1 for $f, got $code"; exit 1; }
done
json_out=$("$bin" validate --json --schema-dir "$xsd" "$samples"/negative/m1_fixed_listURI.xml || true)
printf '%s' "$json_out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["files"][0]["valid"] is False; assert d["files"][0]["errors"][0]["kind"]=="fixed-value"' \
  || { echo "--json contract broken"; exit 1; }
tmp=$(mktemp -d)
printf '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="nope"/></xs:schema>' > "$tmp/bad.xsd"
set +e
"$bin" validate --schema "$tmp/bad.xsd" 2> /dev/null
code=$?
set -e
rm -rf "$tmp"
[ "$code" -eq 2 ] || { echo "expected exit 2 for a broken schema, got $code"; exit 1; }
echo "validate CLI contract ok"
