#!/usr/bin/env bash
# Real-window smoke test of the studio: an X server (Xvfb), a window manager (openbox) and
# xdotool drive the installed `twinflow-studio` as a person would, on a copy of the hello
# example with one extra node that holds a run open on demand:
#   open -> F5 (first run, must succeed) -> F5 again (second run, held open) -> Ctrl+Q
#   during it -> if the studio asks, "Cancel run and quit" -> the studio exits cleanly and
#   the second run is recorded as cancelled (or interrupted) in its run.json.
# Screenshots of each step go to $TWINFLOW_SMOKE_OUT (default /tmp/twinflow-gui-smoke).
# Every wait is bounded; the script exits non-zero with one clear line only on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${TWINFLOW_SMOKE_OUT:-/tmp/twinflow-gui-smoke}"
APP="${TWINFLOW_STUDIO:-twinflow-studio}"
mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/studio.log

fail() {
  echo "gui_smoke: FAILED: $*" >&2
  [ -n "${DISPLAY:-}" ] && shot "99-failure" || true
  if [ -f "$OUT/studio.log" ]; then
    echo "gui_smoke: last lines of $OUT/studio.log:" >&2
    tail -n 20 "$OUT/studio.log" >&2
  fi
  exit 1
}

for tool in Xvfb openbox xdotool import xdpyinfo; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (run scripts/setup.sh)"
done
command -v "$APP" >/dev/null 2>&1 || fail "$APP is not installed (pip install -e .[gui])"

WORK="$(mktemp -d /tmp/twinflow-gui-smoke.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.2
  done
}

shot() {
  import -display "$DISPLAY" -window root "$OUT/$1.png" 2>/dev/null || true
}

# --- the project: hello, plus a node that holds the run while tick.csv says "hold" -------
cp -r resources/examples/hello "$WORK/hello"
rm -rf "$WORK/hello/.twinflow" "$WORK/hello/__pycache__"
printf 'mode\nfast\n' >"$WORK/hello/tick.csv"
cat >"$WORK/hello/smoke_hold.py" <<'PY'
"""Holds a run open (until cancelled, at most 90 s) when tick.csv says "hold"."""

import time


def hold(tick, ctx=None):
    if str(tick["mode"].iloc[0]) == "hold":
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if ctx is not None:
                ctx.check_cancelled()
            time.sleep(0.1)
    return {"mode": str(tick["mode"].iloc[0])}
PY
python3 - "$WORK/hello/hello.twin" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path, encoding="utf-8"))
doc["nodes"].append({"id": "tick", "kind": "datasource", "name": "Tick",
                     "params": {"path": "tick.csv"}})
doc["nodes"].append({"id": "hold", "kind": "python", "name": "Hold",
                     "params": {"callable": "smoke_hold:hold"},
                     "inputs": [{"name": "tick", "type": "dataframe"}],
                     "outputs": [{"name": "done", "type": "json"}]})
doc["edges"].append({"source": "tick", "source_port": "data",
                     "target": "hold", "target_port": "tick"})
doc["layout"]["nodes"]["tick"] = {"x": 0, "y": 330}
doc["layout"]["nodes"]["hold"] = {"x": 300, "y": 330}
json.dump(doc, open(path, "w", encoding="utf-8"), indent=1, sort_keys=True)
PY
RUNS="$WORK/hello/.twinflow/runs"

# --- X server and window manager ---------------------------------------------------------
display=""
for n in $(seq 91 120); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then
    display=":$n"
    break
  fi
done
[ -n "$display" ] || fail "no free X display number in :91-:120"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
PIDS+=($!)
export DISPLAY="$display"
wait_for 20 "the X server on $display" xdpyinfo
openbox >"$OUT/openbox.log" 2>&1 &
PIDS+=($!)
sleep 1

# --- the studio ----------------------------------------------------------------------------
env -u QT_QPA_PLATFORM QT_QPA_PLATFORM=xcb TWINFLOW_STUDIO_HOME="$WORK/home" \
  XDG_CONFIG_HOME="$WORK/config" \
  "$APP" "$WORK/hello/hello.twin" >"$OUT/studio.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
wait_for 60 "the studio window" xdotool search --onlyvisible --name "hello.twin"
WID="$(xdotool search --onlyvisible --name "hello.twin" | head -n 1)"
xdotool windowactivate --sync "$WID" >/dev/null 2>&1 || true
sleep 2
shot "01-opened"

# Evaluated at each poll (not once when wait_for is called).
run_jsons_at_least() {
  # run.json is written when a run starts (status "running"); count the finished ones.
  local finished
  finished="$(find "$RUNS" -mindepth 2 -maxdepth 2 -name run.json 2>/dev/null |
    xargs -r grep -L '"status": "running"' | wc -l)"
  [ "$finished" -ge "$1" ]
}
run_dirs_at_least() {
  [ "$(find "$RUNS" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)" -ge "$1" ]
}

# First run: F5, every node succeeds.
xdotool windowactivate --sync "$WID" >/dev/null 2>&1 || true
xdotool key --clearmodifiers F5
# hello runs Python code: the studio asks once whether to trust the project (the default
# button is "Do not run"); answer "Trust and run" as a person would.
wait_for 30 "the trust question" xdotool search --onlyvisible --name "Trust this project"
TRUST="$(xdotool search --onlyvisible --name "Trust this project" | head -n 1)"
xdotool windowactivate --sync "$TRUST" >/dev/null 2>&1 || true
sleep 0.5
shot "01b-trust-question"
xdotool key --clearmodifiers shift+Tab space
wait_for 90 "the first run to finish" run_jsons_at_least 1
first="$(find "$RUNS" -mindepth 2 -maxdepth 2 -name run.json | head -n 1)"
grep -q '"status": "succeeded"' "$first" || fail "the first run did not succeed: $first"
sleep 1
shot "02-first-run"

# Second run, held open by the Hold node; quit during it.
printf 'mode\nhold\n' >"$WORK/hello/tick.csv"
xdotool windowactivate --sync "$WID" >/dev/null 2>&1 || true
xdotool key --clearmodifiers F5
wait_for 30 "the second run to start" run_dirs_at_least 2
sleep 2
shot "03-second-run"
kill -0 "$APP_PID" 2>/dev/null || fail "the studio exited during the second run"
xdotool windowactivate --sync "$WID" >/dev/null 2>&1 || true
xdotool key --clearmodifiers ctrl+q

# The studio may ask what to do with the run; the answer is "Cancel run and quit".
deadline=$((SECONDS + 10))
dialog=""
while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$APP_PID" 2>/dev/null; do
  dialog="$(xdotool search --onlyvisible --name "run is in progress" 2>/dev/null | head -n 1 || true)"
  [ -n "$dialog" ] && break
  sleep 0.2
done
if [ -n "$dialog" ]; then
  xdotool windowactivate --sync "$dialog" >/dev/null 2>&1 || true
  sleep 0.5
  shot "04-quit-dialog"
  # Keyboard only: focus the button by its label's place in the box (the default button,
  # "Keep running", has focus; "Cancel run and quit" is the one before it).
  xdotool key --clearmodifiers shift+Tab
  sleep 0.2
  shot "05-quit-choice"
  xdotool key --clearmodifiers space
fi

deadline=$((SECONDS + 45))
while kill -0 "$APP_PID" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the studio did not quit within 45 s of Ctrl+Q during a run"
  sleep 0.2
done
set +e
wait "$APP_PID"
status=$?
set -e
[ "$status" -eq 0 ] || fail "the studio exited with status $status"
if grep -E -q "Traceback|terminate called|Aborted|Segmentation" "$OUT/studio.log"; then
  fail "the studio printed an error while quitting (see $OUT/studio.log)"
fi

second="$(find "$RUNS" -mindepth 1 -maxdepth 1 -type d ! -path "$(dirname "$first")" | head -n 1)"
[ -n "$second" ] || fail "no folder for the second run"
[ -f "$second/run.json" ] || fail "the run cancelled by quitting has no run.json ($second)"
grep -E -q '"status": "(cancelled|interrupted)"' "$second/run.json" ||
  fail "the run cancelled by quitting is not recorded as cancelled: $(grep -o '"status": "[a-z]*"' "$second/run.json" | head -n 1)"
echo "gui_smoke: ok (screenshots in $OUT)"
