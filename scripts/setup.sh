#!/usr/bin/env bash
# Installs TwinFlow Studio and its test tools into the current Python (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c "import twinflow_studio, PySide6, NodeGraphQt, qasync, moto, pytest_timeout, fmpy" \
    >/dev/null 2>&1 || [ "${TWINFLOW_REINSTALL:-}" = 1 ]; then
  echo "setup: pip install -e .[gui,dev]"
  "$PY" -m pip install --disable-pip-version-check -q -e ".[gui,dev]"
else
  # Keep the editable install's metadata in step with pyproject.toml.
  "$PY" -m pip install --disable-pip-version-check -q --no-deps -e . >/dev/null
fi
# The FMU tests and examples compile their small FMUs from C.
if ! command -v gcc >/dev/null 2>&1; then
  echo "setup: apt-get install -y gcc"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
fi
