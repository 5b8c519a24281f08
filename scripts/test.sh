#!/usr/bin/env bash
# The test command: installs what the tests need, starts the real services on loopback
# (Docker engine, local base image, moto server, Gremlin Server, Mosquitto), then runs pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export TWINFLOW_SERVICE_LOGS="${TWINFLOW_SERVICE_LOGS:-/tmp/twinflow-services}"
mkdir -p "$TWINFLOW_SERVICE_LOGS"

bash scripts/setup.sh
bash scripts/services/docker.sh
bash scripts/services/base-image.sh
bash scripts/services/fmpy-image.sh
if [ -f scripts/services/moto.sh ]; then
  TWINFLOW_MOTO_URL="$(bash scripts/services/moto.sh | tail -n 1)"
  export TWINFLOW_MOTO_URL
fi
if [ -f scripts/services/gremlin-server.sh ]; then
  TWINFLOW_GREMLIN_URL="$(bash scripts/services/gremlin-server.sh | tail -n 1)"
  export TWINFLOW_GREMLIN_URL
fi
if [ -f scripts/services/mosquitto.sh ]; then
  TWINFLOW_MQTT_URL="$(bash scripts/services/mosquitto.sh | tail -n 1)"
  export TWINFLOW_MQTT_URL
  export TWINFLOW_MQTT_TLS_URL="mqtts://127.0.0.1:${TWINFLOW_MQTT_TLS_PORT:-18831}"
  export TWINFLOW_MQTT_TLS_DIR="$TWINFLOW_SERVICE_LOGS/mosquitto-tls"
fi
export QT_QPA_PLATFORM=offscreen
export MPLBACKEND=Agg
python3 -m ruff check twinflow_studio tests benchmarks scripts
# The dependency rule (contracts in pyproject.toml, see docs/architecture.md).
lint-imports
# Types of project, engine, lineage and twinstat ([tool.mypy] in pyproject.toml).
python3 -m mypy
python3 -m pytest -ra "$@"
# The studio in a real X window (Xvfb + openbox + xdotool): open, run, quit during a run.
env -u QT_QPA_PLATFORM bash scripts/gui_smoke.sh
