#!/usr/bin/env bash
# Create .venv/ from the pinned requirements.lock. A first install takes minutes and pip is
# quiet, so a line every 20 s says it is still going.
set -euo pipefail
python3 -m venv .venv
(while sleep 20; do echo "  installing the pinned packages into .venv/ (${SECONDS} s)"; done) &
beat=$!
trap 'kill "$beat" 2>/dev/null || true' EXIT
quiet_pip() {
  .venv/bin/python -m pip install --quiet "$@" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
}
quiet_pip -r requirements.lock
quiet_pip --no-deps -e .
echo "installed .venv/ in ${SECONDS} s"
