"""`launch()` starts the real app (qasync loop, main window, project) and returns on close."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ui_helpers import chain_project

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    def check_and_close():
        (window,) = [w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow"]
        print("TITLE", window.windowTitle())
        print("NODES", len(window.canvas._views))
        app.closeAllWindows()
    QTimer.singleShot(1500, check_and_close)
    from twinflow_studio.ui.app import launch
    print("RC", launch(Path(sys.argv[1])))
    """
)


def test_launch_opens_the_project_and_exits_cleanly(tmp_path):
    path = chain_project(tmp_path / "p", "ui_mod_launch")
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        TWINFLOW_STUDIO_HOME=str(tmp_path / "home"),
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TITLE chain.twin — TwinFlow Studio" in done.stdout
    assert "NODES 2" in done.stdout
    assert "RC 0" in done.stdout
    assert (tmp_path / "home" / "settings.ini").exists()  # window layout remembered
