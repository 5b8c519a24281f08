# Shared by the service scripts. A script defines `pidfile`, `url`, `log_msg`, `running_pid`
# and `start`, then ends with `service_main "$action"`.

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
