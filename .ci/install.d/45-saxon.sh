#!/usr/bin/env bash
# Business-rules oracle (issue 16): SaxonC-HE 13.1.1 from PyPI (`saxonche`, MPL-2.0; a native
# image, no JVM) runs the XBau Schematron for benches/rules/oracle.py and the (c) column of
# `cargo bench --bench rules`. About 5 s when missing (one wheel, ~30 MB).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_python
pip_pin saxonche 13.1.1
python3 -c 'import saxonche; saxonche.PySaxonProcessor(license=False)'
