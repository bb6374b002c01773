#!/usr/bin/env bash
# XSD engine conformance (issue 2): the W3C XML Schema 1.0 suite (msData, boeingData) through
# poststelle, xmllint and the JDK (Xerces-J), failing on results not in conformance/w3c-xfail.tsv; then the XBau
# mutation differential against libxml2, failing on disagreements not explained in
# conformance/libxml2-disagreements.md. See README "Conformance and benchmarks" for timings.
# CONF_W3C_ENGINE=poststelle skips the xmllint and JDK runs (about 90 s and 2 min).
set -euo pipefail
start=$(date +%s)
status=0
python3 conformance/test_harness.py 2>&1 | tail -n 3 || status=1
cargo build --release --locked --bin poststelle
bin="$PWD/target/release/poststelle"
echo "--- release build done after $(( $(date +%s) - start )) s"
python3 conformance/w3c.py --engine "${CONF_W3C_ENGINE:-all}" --poststelle "$bin" --check \
  --quiet --tsv target/w3c-results.tsv || status=1
echo "--- W3C suite done after $(( $(date +%s) - start )) s"
python3 conformance/xbau_mutations.py --engine both --poststelle "$bin" --check \
  --results target/xbau-mutations.json || status=1
echo "--- conformance steps: $(( $(date +%s) - start )) s, status $status"
exit $status
