#!/usr/bin/env bash
# FIT-Connect interop oracle: the PyPI SDK fitconnect 0.4.2 (EUPL-1.2) as a sender against our
# sandbox (tests/it/interop_python_fitconnect.rs; under CI=true a missing package fails that
# test). Pulls jsonschema, jwcrypto (<2; 30-jose.sh pins 1.6.1), requests, semver, strictyaml.
# About 10 s when missing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_python
pip_pin fitconnect 0.4.2
python3 -c 'import fitconnect.fitconnect'
