#!/usr/bin/env bash
# Build the one-folder bundle (unless --no-build) and check that it starts: --help, a
# headless --run of the hello example from the bundle, and the GUI opening offscreen.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${TWINFLOW_BUNDLE_DIR:-$ROOT/build}"
BIN="$OUT/dist/twinflow-studio/twinflow-studio"

if [[ "${1:-}" != "--no-build" ]]; then
  pyinstaller --noconfirm --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/pyi" \
    "$ROOT/packaging/twinflow-studio.spec"
fi
[[ -x "$BIN" ]] || { echo "FAIL: no bundle at $BIN" >&2; exit 1; }

echo "== --help"
"$BIN" --help | grep -q -- "--run" || { echo "FAIL: --help does not mention --run" >&2; exit 1; }

echo "== --run hello (from the bundle's own copy of the example)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$(dirname "$BIN")/_internal/resources/examples/hello" "$WORK/hello"
rm -rf "$WORK/hello/.twinflow"
"$BIN" --run "$WORK/hello/hello.twin" --trust --json > "$WORK/run.json"
python3 - "$WORK/run.json" <<'PY'
import json, sys
summary = json.loads(open(sys.argv[1]).read())
assert summary.get("status") == "succeeded", summary
print("run status:", summary["status"], summary.get("counts"))
PY

echo "== GUI starts and quits (offscreen)"
QT_QPA_PLATFORM=offscreen TWINFLOW_STUDIO_HOME="$WORK/home" timeout 60 "$BIN" \
  "$WORK/hello/hello.twin" &
PID=$!
sleep 8
if ! kill -0 "$PID" 2>/dev/null; then
  wait "$PID"; echo "FAIL: the GUI exited early ($?)" >&2; exit 1
fi
kill "$PID"
wait "$PID" 2>/dev/null || true
echo "OK: bundle at $(dirname "$BIN")"
