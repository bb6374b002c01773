#!/usr/bin/env bash
# JOSE interop oracle: Python jwcrypto, pinned (tests/it/jose_interop_python.rs and
# .ci/steps.d/30-jose.sh drive tests/interop/jwcrypto_interop.py). About 5 s when missing.
set -euo pipefail
JWCRYPTO_VERSION=1.6.1
if ! command -v python3 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
fi
have=$(python3 -m pip show jwcrypto 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "$have" != "$JWCRYPTO_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "jwcrypto==$JWCRYPTO_VERSION" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "jwcrypto==$JWCRYPTO_VERSION"
fi
python3 -c 'import jwcrypto.jwe, jwcrypto.jws'
