#!/usr/bin/env bash
# The main job: install, then check every graph in graphs/ and print the tables, then draw
# every graph into out/graphs/ (see docs/rendering.md): NAME.svg/.png (values and gradients),
# NAME.blank.svg/.png (a worksheet: every gradient a numbered blank), NAME.key.json (its
# answers) and index.html (all of them on one page); last, the gradients of the LeNet lab's real
# layers, three ways (see docs/lenet.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
status=0
.venv/bin/gradlab check graphs/ "$@" || status=$?
echo
.venv/bin/gradlab render graphs/ -o out/graphs/ --title || status=$?
echo
.venv/bin/gradlab lenet gradcheck || status=$?
exit "$status"
