#!/usr/bin/env bash
# Installs (Debian `mosquitto` and `mosquitto-clients`, when missing) and starts (if not running) an Eclipse Mosquitto
# MQTT broker for the MQTT tests, bound to 127.0.0.1 only: a plain listener (anonymous
# clients allowed) and a TLS listener that requires a client certificate signed by a test CA.
# The CA, the server certificate (CN and SAN 127.0.0.1/localhost) and one client certificate
# are made here with openssl into the state folder, once. Prints the mqtt:// URL last.
#
# Environment:
#   TWINFLOW_MQTT_PORT      plain port (default 18830)
#   TWINFLOW_MQTT_TLS_PORT  TLS port (default 18831)
#   TWINFLOW_SERVICE_LOGS   folder for the log, pid, config and certificates
#                           (default /tmp/twinflow-services; certificates in mosquitto-tls/)
# The TLS files (ca.crt, client.crt, client.key, server.*) are in "$TWINFLOW_MQTT_TLS_DIR"
# as scripts/test.sh exports it: $TWINFLOW_SERVICE_LOGS/mosquitto-tls.
# Usage: scripts/services/mosquitto.sh [start|stop|status]
set -euo pipefail

action="${1:-start}"
port="${TWINFLOW_MQTT_PORT:-18830}"
tls_port="${TWINFLOW_MQTT_TLS_PORT:-18831}"
run_dir="${TWINFLOW_SERVICE_LOGS:-/tmp/twinflow-services}"
tls_dir="$run_dir/mosquitto-tls"
conf="$run_dir/mosquitto-$port.conf"
log="$run_dir/mosquitto-$port.log"
pidfile="$run_dir/mosquitto-$port.pid"
persist="$run_dir/mosquitto-$port-data/"
url="mqtt://127.0.0.1:$port"
cmdline_pattern="mosquitto -c $conf"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log_msg() { echo "mosquitto.sh: $*" >&2; }

broker() { command -v mosquitto 2>/dev/null || ls /usr/sbin/mosquitto 2>/dev/null; }

# Answers once a client can connect on the plain port (paho, as the code under test uses).
answers() {
  python3 - "$port" <<'EOF' >/dev/null 2>&1
import socket, sys
# An MQTT 3.1.1 CONNECT (clean session, keepalive 5 s, client id "probe"); a broker
# answers CONNACK (0x20) with return code 0.
packet = bytes([0x10, 17, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 5, 0, 5]) + b"probe"
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    s.sendall(packet)
    reply = s.recv(4)
    sys.exit(0 if reply[:1] == b"\x20" and reply[3:4] == b"\x00" else 1)
EOF
}

# The broker, and mosquitto_pub for benchmarks/mqtt_ingest.py.
install() {
  if [[ -n "$(broker)" ]] && command -v mosquitto_pub >/dev/null; then
    return
  fi
  local packages=(mosquitto mosquitto-clients)
  log_msg "installing Debian ${packages[*]}"
  if [[ "$(id -u)" = 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >&2 || {
      apt-get update -q >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >&2
    }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >&2
  fi
}

# A CA, a server certificate for 127.0.0.1/localhost and a client certificate, once.
make_certs() {
  if [[ -f "$tls_dir/.complete" ]]; then
    return
  fi
  command -v openssl >/dev/null || { log_msg "openssl not found on PATH"; exit 1; }
  rm -rf "$tls_dir"
  mkdir -p "$tls_dir"
  (
    cd "$tls_dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=TwinFlow test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
      -subj "/CN=twinflow-test-client" 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -out client.crt 2>/dev/null
    rm -f ./*.csr server.ext
    chmod 600 ./*.key
    # The broker may drop privileges to the `mosquitto` user: it must read its own key.
    if [[ "$(id -u)" = 0 ]] && id mosquitto >/dev/null 2>&1; then
      chown mosquitto server.key
    fi
  )
  touch "$tls_dir/.complete"
}

write_config() {
  mkdir -p "$persist"
  if [[ "$(id -u)" = 0 ]] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto "$persist"
  fi
  cat >"$conf" <<EOF
# Written by scripts/services/mosquitto.sh; loopback only.
per_listener_settings true
persistence true
persistence_location $persist
autosave_interval 5
# Room for bursts: 10,000 QoS 1 messages queued for an offline session; a window of
# unacknowledged messages wide enough that storing a batch durably (fsync) before
# acknowledging it does not starve the subscriber.
max_queued_messages 1000000
max_inflight_messages 20000
log_dest stderr
log_type error
log_type warning

listener $port 127.0.0.1
allow_anonymous true

listener $tls_port 127.0.0.1
allow_anonymous true
cafile $tls_dir/ca.crt
certfile $tls_dir/server.crt
keyfile $tls_dir/server.key
require_certificate true
use_identity_as_username true
EOF
}

start() {
  mkdir -p "$run_dir"
  if pid="$(running_pid)"; then
    log_msg "already running (pid $pid)"
  elif answers; then
    log_msg "port $port already answers MQTT but was not started here; using it"
    echo "$url"
    return
  else
    install
    make_certs
    write_config
    log_msg "starting on 127.0.0.1:$port (TLS 127.0.0.1:$tls_port; log: $log)"
    # setsid: the broker outlives this script and the shell that ran it.
    setsid "$(broker)" -c "$conf" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  service_wait 40 0.25 mosquitto
}

service_main "$action"
