#!/usr/bin/env bash
# Install everything the test suite needs into .venv (and the data-plane binaries), then run it.
# Idempotent: a second run reuses what is there. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH"
python -m pip install --quiet --disable-pip-version-check --upgrade pip
python -m pip install --quiet --disable-pip-version-check -e '.[test]'
bash scripts/setup-dataplane.sh
bash scripts/setup-report-tools.sh
bash scripts/setup-monitoring.sh
# Generated artefacts (deploy/ RBAC and PrometheusRules, README and deploy/README tables) must
# be current: fail
# fast with a diff instead of deep inside pytest.
python scripts/generate.py --check
if [ "$#" -eq 0 ]; then
    # The slow tests (marker `slow`: pre-commit building its hook environment from the
    # registry) are skipped by a plain `pytest`; the full run takes them first, then the rest.
    python -m pytest -q -m slow
fi
exec python -m pytest -q "$@"
