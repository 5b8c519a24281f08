#!/usr/bin/env bash
# Installs TwinFlow Studio and its test tools into the current Python (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
# One module per line (each new dependency adds a line): any missing means install.
MODULES=(
  twinflow_studio PySide6 NodeGraphQt qasync moto pytest_timeout fmpy skops hypothesis
  filterpy chaospy SALib paho.mqtt importlinter mypy
  watchdog qtawesome
)
if ! "$PY" -c "import $(IFS=,; echo "${MODULES[*]}")" >/dev/null 2>&1 \
    || ! command -v py-spy >/dev/null || [ "${TWINFLOW_REINSTALL:-}" = 1 ]; then
  echo "setup: pip install -e .[gui,dev]"
  "$PY" -m pip install --disable-pip-version-check -q -e ".[gui,dev]"
else
  # Keep the editable install's metadata in step with pyproject.toml.
  "$PY" -m pip install --disable-pip-version-check -q --no-deps -e . >/dev/null
fi

# The real-window smoke test (scripts/gui_smoke.sh): an X server, a window manager, a
# keyboard/mouse driver and screenshots, plus the libraries Qt's xcb platform plugin loads.
GUI_DEBS=(xvfb xdotool openbox imagemagick x11-utils
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
  libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core)
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for deb in "${GUI_DEBS[@]}"; do
    dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  echo "setup: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The FMU tests and examples compile their small FMUs from C.
if ! command -v gcc >/dev/null 2>&1; then
  echo "setup: apt-get install -y gcc"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
fi
