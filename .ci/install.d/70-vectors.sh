#!/usr/bin/env bash
# Test-vector cross-check (test-vectors/crosscheck.py): Python jwcrypto + jsonschema, pinned;
# xmllint (libxml2) for the verdicts of the xsd cases. A few seconds when missing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_python
apt_need libxml2-utils:xmllint
pip_pin jwcrypto 1.6.1
pip_pin jsonschema 4.26.0
python3 -c 'import jwcrypto.jwe, jwcrypto.jws, jsonschema'
