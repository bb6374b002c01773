#!/usr/bin/env bash
# Conformance runs and benchmarks of the XSD engine (conformance/, benches/xsd/): xmllint is the
# reference validator, the JDK's validator (Xerces-J, `conformance/jdk/XsdCheck.java`) the second
# anchor of the W3C run, /usr/bin/time measures peak memory, python3 runs the harnesses (stdlib only).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
apt_need libxml2-utils:xmllint time:/usr/bin/time python3:python3 openjdk-17-jdk-headless:javac
