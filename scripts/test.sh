#!/usr/bin/env bash
# Install, then lint (ruff: pyflakes and import order) and type-check (mypy) the code, then run the whole
# test suite (two workers: this machine has 2 cores), then the tests that
# compare printed output with the docs a second time on other kernels: torch's generic ones
# (ATEN_CPU_CAPABILITY=default) and OpenBLAS's oldest x86-64 core type. Results differ across CPUs in
# their last digits; no test may depend on them, and this pass catches one that does on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ $# -eq 0 ]; then
    echo "== ruff (pyflakes, import order) and mypy"
    .venv/bin/ruff check gradlab tests benchmarks
    .venv/bin/mypy
fi
.venv/bin/python -m pytest -n 2 "$@"
if [ $# -eq 0 ]; then
    echo "== the doc-output tests again, on torch's generic kernels and OpenBLAS's Prescott core type"
    ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Prescott .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider \
        tests/test_docs.py tests/test_docs_tensor.py tests/test_docs_worksheet_tensor.py tests/test_doctests.py \
        tests/testing/test_testing_plugin.py tests/test_printout.py tests/test_golden.py
fi
