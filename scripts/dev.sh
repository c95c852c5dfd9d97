#!/usr/bin/env bash
# esp-tls-hil: set up what is missing, then run.
#
#   scripts/dev.sh demo [hil run options]   the founding report on the host twin, diagnosed
#   scripts/dev.sh test [pytest options]    the whole test suite
#   scripts/dev.sh setup                    only the set-up
#
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail

# stdout belongs to the command run at the end (`demo --json` prints one JSON
# document): every set-up step (apt, pip, hil setup) writes to stderr instead.
exec 3>&1 1>&2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="$here/.venv"

say() { printf '\033[1m[hil-setup]\033[0m %s\n' "$*" >&2; }
die() { printf '[hil-setup] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $* (install sudo, or run this as root)"
  fi
}

# -- system packages ---------------------------------------------------------------------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2"); }
need_file() { [ -e "$1" ] || missing+=("$2"); }
need_cmd tshark tshark
need_cmd dumpcap tshark
need_cmd apache2 apache2
need_cmd openssl openssl
need_cmd g++ g++
need_cmd ip iproute2
need_cmd socat socat
# The report test opens timeline.html in Debian's chromium (Playwright cannot download one).
need_cmd chromium chromium
need_file /usr/include/bearssl.h libbearssl-dev
need_file /usr/include/mbedtls/ssl.h libmbedtls-dev
# `hil setup` fetches Debian's mbedTLS 3 source package and builds it (the esp32 3.x twin).
need_cmd dpkg-source dpkg-dev
need_cmd make make
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  || die "Python 3.11 or newer is needed as python3 (Debian 12 and Ubuntu 24.04 have it)"
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing system packages: ${pkgs[*]}"
  # dumpcap's setuid question would stop a non-interactive install; we capture as root.
  echo "wireshark-common wireshark-common/install-setuid boolean false" \
    | as_root debconf-set-selections
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${pkgs[@]}"
fi

# -- the virtual environment -------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.hil-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing the harness and its Python dependencies into .venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi

# -- PlatformIO's offline pieces, mbedTLS 3 -----------------------------------------------
"$venv/bin/hil" setup

# -- run ---------------------------------------------------------------------------------
cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)
    exec "$venv/bin/hil" run founding-report "$@" 1>&3 3>&-
    ;;
  test)
    set +e
    "$venv/bin/python" -m pytest "$@" 1>&3
    rc=$?
    # pytest's 5 means no test ran: for us that is a failure, never a pass.
    [ $rc -eq 5 ] && say "pytest collected no tests: failing" && exit 1
    exit $rc
    ;;
  setup) say "set-up complete" ;;
  *) die "usage: scripts/dev.sh demo|test|setup [options]" ;;
esac
