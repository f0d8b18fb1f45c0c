#!/usr/bin/env bash
# Installs everything the tests need, then runs the linters, the type checker and the whole
# test suite. This is the README's test command, and CI runs exactly this (.ci/run).
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -m "not browser and not multiprocess"   # extra args go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

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
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== lint and types"
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 scripts/vendor.py --check

echo "== tests"
exec python3 -m pytest "$@"
