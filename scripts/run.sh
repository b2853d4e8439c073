#!/usr/bin/env bash
# The main job: install, then check every graph in graphs/ and print the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/gradlab check graphs/ "$@"
