#!/usr/bin/env bash
# Debian package step (.ci/steps.d/80-package.sh, scripts/build-deb.sh): dpkg-shlibdeps for
# Depends, objcopy/readelf, adduser for postinst, systemd-analyze to verify the unit (installs
# nothing when they are there, as on this kind of machine); zsh and fish, so that the generated
# completions are parsed by their shells (cli::generate tests, about 10 s when missing).
set -euo pipefail
# shellcheck disable=SC1091 # .ci/lib.sh, as in the other install scripts
source "$(dirname "$0")/../lib.sh"
apt_need dpkg-dev:dpkg-shlibdeps binutils:objcopy adduser:adduser systemd:systemd-analyze \
  zsh:zsh fish:fish
