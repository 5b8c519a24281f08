"""Run the real studio (ui.app.launch) on a project, start a run, and quit while it runs.

Used by test_quit_during_run.py in a subprocess, because quitting ends the Qt application
and its event loop. argv: PROJECT ANSWER[,ANSWER...] (the answers to "a run is in progress").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from twinflow_studio.ui.app import launch
from twinflow_studio.ui.prompts import ScriptedPrompter


def main() -> int:
    project, answers = Path(sys.argv[1]), sys.argv[2].split(",")
    app = QApplication(sys.argv[:1])
    prompter = ScriptedPrompter(quit_during_run=answers)
    report: dict[str, object] = {"closes": []}

    def window():
        return next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")

    def start() -> None:
        window().run_all()
        QTimer.singleShot(100, quit_when_running)

    def quit_when_running() -> None:
        w = window()
        if not any("running" in states for states in w.runs.history.values()):
            QTimer.singleShot(50, quit_when_running)
            return
        report["closes"].append(w.close())  # type: ignore[union-attr]
        report.setdefault("busy_after_first_close", w.runs.busy)
        if len(report["closes"]) < len(answers):  # type: ignore[arg-type]
            QTimer.singleShot(300, quit_when_running)

    QTimer.singleShot(200, start)
    code = launch(project, prompter)
    report["asked"] = [q[0] for q in prompter.asked]
    print(json.dumps(report), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
