#!/usr/bin/env bash
# Installs Debian's docker.io when missing and starts dockerd without a bridge network
# (containers use network_mode none or host; nothing listens beyond the local socket).
set -euo pipefail
SOCK=/var/run/docker.sock
if docker version >/dev/null 2>&1; then
  echo "docker: engine already running"
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "docker: installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi
LOG="${TWINFLOW_SERVICE_LOGS:-/tmp/twinflow-services}/dockerd.log"
mkdir -p "$(dirname "$LOG")"
nohup dockerd --bridge=none --iptables=false --ip-masq=false -H "unix://$SOCK" >"$LOG" 2>&1 &
for _ in $(seq 1 60); do
  if docker version >/dev/null 2>&1; then echo "docker: engine started"; exit 0; fi
  sleep 1
done
echo "docker: dockerd did not come up; last log lines:" >&2
tail -20 "$LOG" >&2
exit 1
