# Shared helpers of the install scripts (.ci/install.d/*.sh source this file).

# apt_need PKG:CMD ...: installs each Debian package whose command (or, with a leading /, whose
# file) is missing; one `apt-get update` for all of them.
apt_need() {
  local missing=() spec pkg probe
  for spec in "$@"; do
    pkg="${spec%%:*}" probe="${spec#*:}"
    if [[ "$probe" == /* ]]; then [ -e "$probe" ] && continue
    else command -v "$probe" >/dev/null && continue; fi
    missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# need_python: python3 with pip (Debian's, when the machine has neither).
need_python() {
  python3 -m pip --version >/dev/null 2>&1 && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
}

# pip_pin NAME VERSION: installs exactly that version from PyPI unless it is already there
# (falls back to --break-system-packages on an externally managed Python).
pip_pin() {
  local have
  have=$(python3 -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p' || true)
  if [ "$have" != "$2" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "$1==$2" \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$1==$2"
  fi
}
