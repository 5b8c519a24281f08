"""What the desktop check costs at studio start-up (ui/desktop.py: open the xcb plugin's
libraries and reach the display, before Qt starts), against the alternative it replaces: a
subprocess that creates a QApplication to see whether Qt's platform plugin loads.

Runs offscreen-safe: the check is timed on its library part (the display part is one socket
connect). Last line: {"metric","value","unit","baseline","ratio"}; value is the median check
time in a fresh interpreter, baseline the median probe subprocess time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

CHECK = (
    "import time; t = time.perf_counter()\n"
    "from twinflow_studio.ui.desktop import missing_packages\n"
    "missing_packages()\n"
    "print(time.perf_counter() - t)\n"
)
PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"


def main() -> int:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    check, probe = [], []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=True
        )
        check.append(float(done.stdout.strip()))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", PROBE], capture_output=True, env=env, check=True)
        probe.append(time.perf_counter() - started)
    value, baseline = statistics.median(check), statistics.median(probe)
    print(
        json.dumps(
            {
                "metric": "desktop_check_s",
                "value": round(value, 4),
                "unit": "s",
                "baseline": round(baseline, 4),
                "ratio": round(value / baseline, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
