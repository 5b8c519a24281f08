#!/usr/bin/env bash
# Starts (if not running) moto_server on 127.0.0.1 for the AWS Batch, S3 and CloudWatch Logs
# tests. Its Batch runs each job's container for real on the local Docker engine, with host
# networking (dockerd here has no bridge), so a container reaches moto's S3 on 127.0.0.1.
# Needs moto with the server extras: pip install "moto[server,batch,s3,logs]" (flask,
# flask-cors and the docker SDK). Prints the endpoint URL last.
#
# Environment:
#   TWINFLOW_MOTO_PORT   port to listen on (default 15000)
#   TWINFLOW_SERVICE_LOGS  folder for the log and pid files (default /tmp/twinflow-services)
#   DOCKER_HOST          Docker engine moto's Batch uses (default unix:///var/run/docker.sock)
# Usage: scripts/services/moto.sh [start|stop|status]
set -euo pipefail

action="${1:-start}"
port="${TWINFLOW_MOTO_PORT:-15000}"
run_dir="${TWINFLOW_SERVICE_LOGS:-/tmp/twinflow-services}"
log="$run_dir/moto-$port.log"
pidfile="$run_dir/moto-$port.pid"
url="http://127.0.0.1:$port"
cmdline_pattern="moto_server.*-p $port"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log_msg() { echo "moto.sh: $*" >&2; }

# The dashboard page: small, and only moto serves it (data.json grows with all state).
answers() {
  python3 - "$url" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).read()
EOF
}


start() {
  mkdir -p "$run_dir"
  if pid="$(running_pid)"; then
    log_msg "already running (pid $pid)"
  elif answers; then
    log_msg "port $port already answers as moto but was not started here; using it"
    echo "$url"
    return
  else
    command -v moto_server >/dev/null || {
      log_msg "moto_server not found; pip install 'moto[server,batch,s3,logs]'"
      exit 1
    }
    python3 -c "import flask, flask_cors, docker" 2>/dev/null || {
      log_msg "moto's server extras are missing; pip install 'moto[server,batch,s3,logs]'"
      exit 1
    }
    log_msg "starting on 127.0.0.1:$port (log: $log)"
    # setsid: the server outlives this script and the shell that ran it.
    MOTO_DOCKER_NETWORK_MODE=host \
      MOTO_PORT="$port" \
      DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}" \
      setsid moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  service_wait 60 0.5 moto_server
}

service_main "$action"
