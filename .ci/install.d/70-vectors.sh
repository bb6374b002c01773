#!/usr/bin/env bash
# Test-vector cross-check (test-vectors/crosscheck.py): Python jwcrypto + jsonschema, pinned;
# xmllint (libxml2) for the verdicts of the xsd cases. A few seconds when missing.
set -euo pipefail
JWCRYPTO_VERSION=1.6.1
JSONSCHEMA_VERSION=4.26.0
if ! command -v python3 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
fi
if ! command -v xmllint >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils
fi
pin() {
  local have
  have=$(python3 -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p' || true)
  if [ "$have" != "$2" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "$1==$2" \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$1==$2"
  fi
}
pin jwcrypto "$JWCRYPTO_VERSION"
pin jsonschema "$JSONSCHEMA_VERSION"
python3 -c 'import jwcrypto.jwe, jwcrypto.jws, jsonschema'
