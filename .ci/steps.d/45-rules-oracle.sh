#!/usr/bin/env bash
# Business rules (issue 16, "oracle"): the official XBau 2.6 Schematron through poststelle and
# SaxonC-HE on the 20 samples plus 720 seeded mutations aimed at its asserts; fails below 99.5 %
# agreement or on a disagreement not explained in benches/rules/disagreements.txt. Reuses the
# binary CI already built (20-conf.sh builds release; else the debug one of the test step):
# no build here. About 7 s with the debug binary.
set -euo pipefail
start=$(date +%s)
bin=target/release/poststelle
[ -x "$bin" ] || bin=target/debug/poststelle
[ -x "$bin" ] || { echo "no poststelle binary (the test step builds one)"; exit 1; }
python3 benches/rules/test_oracle.py 2>&1 | tail -n 3
python3 benches/rules/oracle.py --check --poststelle "$bin" --json target/rules-oracle.json
echo "--- rules oracle: $(( $(date +%s) - start )) s"
