#!/usr/bin/env bash
# Builds the tbnsim extension module (crate sim/python, pyo3) with maturin and
# installs the package into the project virtualenv (editable: python/src stays live).
#   python/install.sh                      release build (default)
#   TBNSIM_PROFILE=dev python/install.sh   faster build, slower Rust code
#   VENV=/path/to/venv python/install.sh   another virtualenv
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "no virtualenv at $VENV: run scripts/setup.sh (or python3 -m venv $VENV) first" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/maturin" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"
fi
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
ARGS=()
if [ "${TBNSIM_PROFILE:-release}" = "release" ]; then
    ARGS+=(--release)
fi
cd "$HERE"
"$VENV/bin/maturin" develop "${ARGS[@]}"
"$VENV/bin/python" -c "import tbnsim; print('tbnsim', tbnsim.__version__, 'installed in', '$VENV')"
