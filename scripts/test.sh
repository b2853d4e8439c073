#!/usr/bin/env bash
# Install, then run the whole test suite (two workers: this machine has 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -n 2 "$@"
