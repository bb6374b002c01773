#!/usr/bin/env bash
# Debian package (issue 13, packaging): builds the .deb from the release binary 20-conf.sh built
# (scripts/build-deb.sh), installs it, checks contents, owners and modes, the unit
# (systemd-analyze verify and an offline exposure score of at most 2.0), and the packaged
# configuration: `serve --check` as the service user, as the unit's ExecStartPre runs it, fails
# (exit 64) on a fresh install and passes once keys and the client secret are where the
# configuration names them (README "Install as a service"), also under MemoryDenyWriteExecute
# (PR_SET_MDWE); the gateway starts as the unit starts it and exits 0 on SIGTERM; `--check
# --connect` exits 2 without a delivery service; a broken copy exits 64. Reinstalls (the upgrade
# path), then purges and checks that nothing is left. Idempotent; 20-50 s (most of it building
# and compressing the package). POSTSTELLE_DEB_BINARY packages another binary.
set -euo pipefail
start=$(date +%s)
bin="${POSTSTELLE_DEB_BINARY:-target/release/poststelle}"
# 20-conf.sh has built it in CI; build it only when this step runs on its own.
[ -x "$bin" ] || cargo build --release --locked --bin poststelle

marker=/var/lib/poststelle/.ci-80-package
if dpkg -s poststelle >/dev/null 2>&1; then
  if [ -e "$marker" ]; then
    echo "--- purging the installation an interrupted run left"
    dpkg --purge poststelle >/dev/null
  else
    echo "80-package: poststelle is installed on this machine and not by this step;" \
      "it installs and purges the package: remove it first" >&2
    exit 1
  fi
fi

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_stat PATH OWNER:GROUP MODE
expect_stat() {
  local got
  got=$(stat -c '%U:%G %a' "$1" 2>&1) || true
  [ "$got" = "$2 $3" ] || fail "$1: $got, expected $2 $3"
}
work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  if dpkg -s poststelle >/dev/null 2>&1; then dpkg --purge poststelle >/dev/null || true; fi
}
trap cleanup EXIT

deb=$(bash scripts/build-deb.sh "$bin" | tail -n 1)
echo "--- built $deb ($(du -h "$deb" | cut -f1)) after $(($(date +%s) - start)) s"
dpkg-deb --field "$deb" Depends | grep -q 'libc6 (>= ' || fail "Depends names no libc6 version"
contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for f in ./usr/bin/poststelle ./lib/systemd/system/poststelle.service \
  ./etc/poststelle/poststelle.toml ./usr/share/man/man1/poststelle.1.gz \
  ./usr/share/man/man1/poststelle-serve.1.gz ./usr/share/bash-completion/completions/poststelle \
  ./usr/share/zsh/vendor-completions/_poststelle ./usr/share/fish/vendor_completions.d/poststelle.fish \
  ./usr/share/poststelle/schemas/xgewerbeanzeige-2.2/xgewerbeanzeige-nachrichten.xsd \
  ./usr/share/doc/poststelle/config-reference.md ./usr/share/doc/poststelle/copyright; do
  grep -qxF "$f" <<<"$contents" || fail "$f not in the package"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/poststelle/poststelle.toml \
  || fail "poststelle.toml is not a conffile"

dpkg -i "$deb" >/dev/null
touch "$marker"
getent passwd poststelle | grep -q ':/usr/sbin/nologin$' || fail "no system user poststelle"
expect_stat /usr/bin/poststelle root:root 755
expect_stat /var/lib/poststelle poststelle:poststelle 700
expect_stat /etc/poststelle root:poststelle 750
expect_stat /etc/poststelle/poststelle.toml root:poststelle 640
expect_stat /lib/systemd/system/poststelle.service root:root 644
[ "$(stat -c %U:%G /var/lib/poststelle/packs/xgewerbeanzeige-2.2/pack.toml 2>&1)" = poststelle:poststelle ] \
  || fail "the bundled schema pack is not installed for the service user"
for page in /usr/share/man/man1/poststelle*.1.gz; do gzip -t "$page" || fail "$page"; done
[ "$(find /usr/share/man/man1 -name 'poststelle*.1.gz' | wc -l)" -ge 13 ] || fail "man pages missing"
bash -n /usr/share/bash-completion/completions/poststelle || fail "bash completion does not parse"
if command -v zsh >/dev/null; then
  zsh -n /usr/share/zsh/vendor-completions/_poststelle || fail "zsh completion does not parse"
fi
if command -v fish >/dev/null; then
  fish -n /usr/share/fish/vendor_completions.d/poststelle.fish || fail "fish completion does not parse"
fi
unit=/lib/systemd/system/poststelle.service
readelf -lW /usr/bin/poststelle | awk '$1 == "LOAD" || $1 == "GNU_STACK"' | grep -q 'RWE' \
  && fail "a writable and executable segment: MemoryDenyWriteExecute would kill the gateway"

if command -v systemd-analyze >/dev/null; then
  # Documentation= names a man page: checked where man is installed.
  if command -v man >/dev/null; then man=yes; else man=no; fi
  systemd-analyze verify --man="$man" "$unit" || fail "systemd-analyze verify $unit"
  systemd-analyze security --offline=true --threshold=20 "$unit" | tail -n 1 \
    || fail "exposure of $unit above 2.0"
else
  echo "--- systemd-analyze is not installed: the unit is not verified"
fi

# The checks run as the unit runs them: the service user, its working directory, the
# ExecStartPre command line; without the CI's schema fallbacks ($POSTSTELLE_SHARED).
check_cmd=$(sed -n 's/^ExecStartPre=//p' "$unit")
[ "$check_cmd" = "/usr/bin/poststelle serve --check --config /etc/poststelle/poststelle.toml" ] \
  || fail "ExecStartPre is '$check_cmd'"
as_service() {
  (cd /var/lib/poststelle && runuser -u poststelle -- env -u POSTSTELLE_SHARED -u POSTSTELLE_PACKS "$@")
}
# expect_exit CODE COMMAND...: runs it as the service, output in $work/out.
expect_exit() {
  local want=$1 got=0
  shift
  as_service "$@" >"$work/out" 2>&1 || got=$?
  [ "$got" = "$want" ] || { fail "exit $got, expected $want: $*"; cat "$work/out" >&2; }
}
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
expect_exit 64 $check_cmd
grep -q 'nil UUID, a placeholder' "$work/out" || fail "a fresh install's check does not name the placeholder destination id"

# What an operator does (README): the destination id instead of the placeholder (the nil
# UUID is refused); then the check names what is still missing, the files.
sed -i "s/^id = \"00000000-0000-0000-0000-000000000000\"/id = \"$(cat /proc/sys/kernel/random/uuid)\"/" \
  /etc/poststelle/poststelle.toml
# shellcheck disable=SC2086
expect_exit 64 $check_cmd
grep -q 'client-secret' "$work/out" || fail "the check does not name the missing client secret"
# Keys and the client secret where the configuration names them.
poststelle keys generate --out "$work/keys" >/dev/null 2>&1
install -d -o root -g poststelle -m 0750 /etc/poststelle/keys /etc/poststelle/secrets
install -o root -g poststelle -m 0640 "$work/keys/enc.private.jwk.json" \
  "$work/keys/sig.private.jwk.json" /etc/poststelle/keys/
head -c 32 /dev/urandom | base64 | install -o root -g poststelle -m 0640 /dev/stdin \
  /etc/poststelle/secrets/client-secret
# shellcheck disable=SC2086
expect_exit 0 $check_cmd
echo "--- serve --check on the packaged configuration: $(tail -n 1 "$work/out")"

# MemoryDenyWriteExecute: the same check with W+X mappings refused (Linux >= 6.3), after a
# canary child shows that the refusal holds across fork and exec.
cat >"$work/mdwe.py" <<'EOF'
import ctypes, mmap, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
canary = "import mmap\ntry:\n mmap.mmap(-1, 4096, prot=7)\nexcept OSError:\n raise SystemExit(0)\nraise SystemExit(1)"
if subprocess.run([sys.executable, "-c", canary]).returncode != 0:
    sys.exit(78)
os.execv(sys.argv[1], sys.argv[1:])
EOF
chmod 0755 "$work" && chmod 0644 "$work/mdwe.py"
mdwe=0
# Debian's python3: the service user cannot reach an interpreter under /root (pyenv).
if [ -x /usr/bin/python3 ]; then
  # shellcheck disable=SC2086
  as_service /usr/bin/python3 "$work/mdwe.py" $check_cmd >"$work/out" 2>&1 || mdwe=$?
else
  mdwe=76
fi
case $mdwe in
  0) echo "--- serve --check under PR_SET_MDWE (MemoryDenyWriteExecute): ok" ;;
  76) echo "--- /usr/bin/python3 is missing: MemoryDenyWriteExecute not checked" ;;
  77) echo "--- PR_SET_MDWE not supported by this kernel ($(uname -r)): not checked" ;;
  78) echo "--- PR_SET_MDWE does not hold across exec on this kernel ($(uname -r)): not checked" ;;
  *) fail "serve --check under PR_SET_MDWE: exit $mdwe"; cat "$work/out" >&2 ;;
esac

# The gateway itself, as the unit starts it (service user, working directory, --log-format json,
# under PR_SET_MDWE where the kernel has it): starts on the packaged configuration with the
# delivery service pointed at a closed local port (no traffic leaves the machine) and an
# ephemeral listener, opens its store in /var/lib/poststelle, and exits 0 on SIGTERM.
sed -e 's|^preset = .*|&\nsubmission_api = "https://127.0.0.1:9"\ntoken_url = "https://127.0.0.1:9/token"|' \
  -e 's|^listen = .*|listen = "127.0.0.1:0"|' \
  -e 's|^\[pipeline\]$|[pipeline]\nshutdown_grace_secs = 2|' /etc/poststelle/poststelle.toml \
  | install -o root -g poststelle -m 0640 /dev/stdin /etc/poststelle/local.toml
install -d -o poststelle -m 0700 "$work/run"
runner=()
[ "$mdwe" = 0 ] && runner=(/usr/bin/python3 "$work/mdwe.py")
# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
as_service sh -c 'echo $$ >"$0"; exec "$@"' "$work/run/pid" "${runner[@]}" /usr/bin/poststelle \
  serve --config /etc/poststelle/local.toml --log-format json >"$work/serve.log" 2>&1 &
serve_job=$!
for _ in $(seq 50); do
  grep -q 'listening on' "$work/serve.log" && break
  kill -0 "$serve_job" 2>/dev/null || break
  sleep 0.2
done
if grep -q 'listening on' "$work/serve.log"; then
  kill -TERM "$(cat "$work/run/pid")"
  serve_exit=0
  wait "$serve_job" || serve_exit=$?
  [ "$serve_exit" = 0 ] || fail "serve exited $serve_exit after SIGTERM"
  grep -q '"stopped: ' "$work/serve.log" || fail "serve did not log its shutdown"
  expect_stat /var/lib/poststelle/poststelle.db poststelle:poststelle 600
  echo "--- serve started and stopped on SIGTERM as the service user ($(grep -c . "$work/serve.log") log lines)"
else
  kill -TERM "$(cat "$work/run/pid" 2>/dev/null)" 2>/dev/null || true
  wait "$serve_job" || true
  fail "serve did not start"
fi
grep -v '^{' "$work/serve.log" >&2 && fail "serve wrote lines that are not JSON"
# --connect reaches the store (read-only, as the service user) and the delivery service, which
# is not there: exit 2.
expect_exit 2 /usr/bin/poststelle serve --check --connect --config /etc/poststelle/local.toml
echo "--- serve --check --connect without a delivery service: $(tail -n 1 "$work/out")"
rm -f /etc/poststelle/local.toml

# A broken configuration (a misspelt key, as an operator might write it) exits 64.
sed 's/^\[pipeline\]$/[pipeline]\nspool_dri = "spool"/' /etc/poststelle/poststelle.toml \
  | install -o root -g poststelle -m 0640 /dev/stdin /etc/poststelle/broken.toml
expect_exit 64 /usr/bin/poststelle serve --check --config /etc/poststelle/broken.toml
grep -q 'spool_dri' "$work/out" || fail "the broken key is not named"
rm -f /etc/poststelle/broken.toml

# The upgrade path: installing again keeps owners, modes, keys and the installed pack.
dpkg -i "$deb" >/dev/null
expect_stat /etc/poststelle/poststelle.toml root:poststelle 640
expect_stat /etc/poststelle/keys/enc.private.jwk.json root:poststelle 640
# shellcheck disable=SC2086
expect_exit 0 $check_cmd

dpkg --purge poststelle >/dev/null
for gone in /var/lib/poststelle /etc/poststelle /usr/bin/poststelle "$unit"; do
  [ ! -e "$gone" ] || fail "$gone left after purge"
done
dpkg-statoverride --list | grep -q poststelle && fail "statoverrides left after purge"
echo "--- package step: $(($(date +%s) - start)) s, $failures failure(s)"
[ "$failures" -eq 0 ]
