#!/usr/bin/env bash
# Installs everything the tests need, then runs the linters, the type checker and the whole
# test suite. This is the README's test command, and CI runs exactly this (.ci/run).
#   bash scripts/test.sh            # everything, Python packages from the lock (requirements/)
#   bash scripts/test.sh -m "not browser and not multiprocess"   # extra args go to pytest
#   bash scripts/test.sh --latest   # the same with the newest release of every Python package,
#                                   # in a throwaway virtualenv: finds drift on purpose
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--latest" ]; then
  shift
  work="$(mktemp -d -t p2pshare-latest-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  python3 -m venv "$work/venv"
  # shellcheck disable=SC1091
  . "$work/venv/bin/activate"
  python3 -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/all.txt
  echo "== newest releases (resolved now, not the lock)"
  python3 scripts/lock.py --latest "$work/lock"
  export P2PSHARE_LOCK_DIR="$work/lock"  # tests/test_lock.py checks the environment against it
fi
lock_dir="${P2PSHARE_LOCK_DIR:-requirements}"

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

apt_install() {
  # Another apt/dpkg may hold the lock on a fresh machine: retry for a while.
  for attempt in $(seq 1 30); do
    if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"; then
      return 0
    fi
    echo "apt-get failed (attempt $attempt), retrying in 10 s..." >&2
    sleep 10
  done
  return 1
}

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)  # Debian ships it apart from nodejs (ESLint below)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

bash scripts/install.sh --dev --lock "$lock_dir"

echo "== versions"
echo "python:   $(python3 --version 2>&1) ($(command -v python3))"
echo "chromium: $(chromium --version 2>/dev/null | head -1)"  # its wrapper warns on stderr
echo "node:     $(node --version 2>&1)"
echo "nginx:    $(nginx -v 2>&1 | head -1)"
echo "haproxy:  $(haproxy -v 2>&1 | head -1)"
echo "packages: $(python3 -m pip list --format=freeze --disable-pip-version-check 2>/dev/null \
  | grep -iE '^(trio|hypercorn|msgspec|aioice|cryptography|trio-websocket|playwright|pytest|hypothesis|mypy|ruff)==' \
  | tr '\n' ' ')(lock: $lock_dir)"

echo "== lint and types"
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 scripts/vendor.py --check
# ESLint for web/js (names not defined or imported, unused variables), pinned by its lock.
npm ci --prefix scripts/lint-js --ignore-scripts --no-audit --no-fund --loglevel=error
npx --prefix scripts/lint-js eslint -c scripts/lint-js/eslint.config.mjs web/js web/sw.js

echo "== tests"
python3 -m pytest "$@"  # not exec: the --latest trap removes its virtualenv
