#!/usr/bin/env bash
# Installs p2pshare into the current Python environment from the lock (requirements/), every
# package pinned and checked against its hash. scripts/lock.py explains and refreshes the lock.
#   bash scripts/install.sh                 # the server: its dependencies, then p2pshare
#   bash scripts/install.sh --peer          # the same, and `p2pshare send` / `receive`
#   bash scripts/install.sh --dev           # everything: tests, benchmarks, build tools; editable
#   bash scripts/install.sh --dev --lock DIR   # the same from another lock (test.sh --latest)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=serve
lock=requirements
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) mode=dev ;;
    --peer) mode=peer ;;
    --lock) lock="$2"; shift ;;
    *) echo "usage: bash scripts/install.sh [--dev | --peer] [--lock DIR]" >&2; exit 2 ;;
  esac
  shift
done

pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
if [ "$mode" = dev ]; then
  pip_install --require-hashes -r "$lock/all.txt"
  # --no-build-isolation: the build backend comes from the lock too, not a fresh download.
  pip_install --no-deps --no-build-isolation -e .
elif [ "$mode" = peer ]; then
  pip_install --require-hashes -r "$lock/peer.txt" -r "$lock/build.txt"
  pip_install --no-deps --no-build-isolation .
else
  pip_install --require-hashes -r "$lock/runtime.txt" -r "$lock/build.txt"
  pip_install --no-deps --no-build-isolation .
fi
