#!/usr/bin/env bash
# Operator console in a real browser (issue 17, tests/it/console_browser.rs): Debian's Chromium
# driven by playwright-core (npm, no bundled browser download) and axe-core, both pinned in
# tests/browser/package-lock.json. About 1–2 min when Chromium is missing, a few seconds for npm.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
apt_need chromium:/usr/bin/chromium nodejs:node npm:npm
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
/usr/bin/chromium --version
