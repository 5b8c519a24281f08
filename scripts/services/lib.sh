# Shared by the service scripts. A script defines `pidfile`, `url`, `cmdline_pattern` (what
# its server's command line contains), `log_msg` and `start`, then sources this file and ends
# with `service_main "$action"`.

# The pid of our running server, if any: the pid file may be stale and its pid reused.
running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$cmdline_pattern" || return 1
  echo "$pid"
}

# Waits until `answers` succeeds (prints the URL) or the server dies or times out (exit 1).
# Usage: service_wait TRIES SECONDS_BETWEEN NAME
service_wait() {
  local tries="$1" pause="$2" name="$3"
  for _ in $(seq 1 "$tries"); do
    if answers; then
      echo "$url"
      return
    fi
    if ! running_pid >/dev/null; then
      log_msg "$name exited; last log lines:"
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep "$pause"
  done
  log_msg "$name did not answer within $(python3 -c "print(f'{$tries * $pause:g}')") s; see $log"
  exit 1
}

service_stop() {
  if pid="$(running_pid)"; then
    kill "$pid"
    rm -f "$pidfile"
    log_msg "stopped (pid $pid)"
  else
    log_msg "not running"
  fi
}

service_main() {
  case "$1" in
    start) start ;;
    stop) service_stop ;;
    status)
      if pid="$(running_pid)"; then echo "running pid $pid $url"; else echo "stopped"; exit 1; fi
      ;;
    *) log_msg "unknown action '$1' (expected start, stop or status)"; exit 2 ;;
  esac
}
