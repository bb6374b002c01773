#!/usr/bin/env bash
# JOSE interop oracle: Python jwcrypto, pinned (tests/it/jose_interop_python.rs and
# .ci/steps.d/30-jose.sh drive tests/interop/jwcrypto_interop.py). About 5 s when missing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_python
pip_pin jwcrypto 1.6.1
python3 -c 'import jwcrypto.jwe, jwcrypto.jws'
