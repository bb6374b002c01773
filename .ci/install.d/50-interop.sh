#!/usr/bin/env bash
# FIT-Connect interop oracle: the PyPI SDK fitconnect 0.4.2 (EUPL-1.2) as a sender against our
# sandbox (tests/it/interop_python_fitconnect.rs; under CI=true a missing package fails that
# test). Pulls jsonschema, jwcrypto (<2; 30-jose.sh pins 1.6.1), requests, semver, strictyaml.
# About 10 s when missing.
set -euo pipefail
FITCONNECT_VERSION=0.4.2
if ! command -v python3 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
fi
have=$(python3 -m pip show fitconnect 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "$have" != "$FITCONNECT_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "fitconnect==$FITCONNECT_VERSION" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "fitconnect==$FITCONNECT_VERSION"
fi
python3 -c 'import fitconnect.fitconnect'
