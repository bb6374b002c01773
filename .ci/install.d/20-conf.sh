#!/usr/bin/env bash
# Conformance runs and benchmarks of the XSD engine (conformance/, benches/xsd/): xmllint is the
# reference validator, /usr/bin/time measures peak memory, python3 runs the harnesses (stdlib only).
set -euo pipefail
need=()
command -v xmllint >/dev/null || need+=(libxml2-utils)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
