"""Screenshots of the real studio on a real X display (Xvfb): the welcome page, a table
viewer on a run's output and a figure preview on the canvas, for docs/screenshots/.

    Xvfb :99 -screen 0 1600x1000x24 & openbox &   # or any window manager
    DISPLAY=:99 python scripts/results_screenshots.py [--out docs/screenshots]

Each picture is taken of the whole screen with ImageMagick's `import -window root`, so it
shows what a person sees (window manager, dialogs on top), not a widget grab.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ui"))  # the results project of the viewer tests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()

    import qasync
    from PySide6.QtWidgets import QApplication

    from twinflow_studio.trust import TrustStore
    from twinflow_studio.ui.main_window import MainWindow
    from twinflow_studio.ui.prompts import ScriptedPrompter
    from twinflow_studio.ui.viewers import open_output

    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    args.out.mkdir(parents=True, exist_ok=True)

    def settle(seconds: float = 1.0) -> None:
        loop.run_until_complete(asyncio.sleep(seconds))

    def shot(name: str) -> None:
        settle(1.0)
        subprocess.run(["import", "-window", "root", str(args.out / name)], check=True)
        print(f"wrote {args.out / name}")

    with tempfile.TemporaryDirectory() as tmp:
        projects = Path(tmp) / "projects"
        window = MainWindow(
            prompter=ScriptedPrompter(choose_folder=[projects]),
            home=Path(tmp) / "home",
            trust=TrustStore(Path(tmp) / "trust.json"),
        )
        window.showMaximized()
        window.start(None)
        shot("studio-welcome.png")

        # Open example: copied into the chosen folder and opened.
        twin = window.open_example("hello")
        assert twin is not None

        # A run's outputs: a figure previewed on its node, a 1M-row CSV in the table view.
        from results_project import results_project

        path = results_project(Path(tmp) / "results")
        window.open_path(path, ask=False)
        loop.run_until_complete(window.run_all())
        window.runs.flush()
        window.canvas.zoom_to_fit()
        window.canvas.select(["outputs"])
        shot("studio-figure-preview.png")
        dialog = open_output(window, "big", "big")
        assert dialog is not None
        dialog.setGeometry(330, 170, 1050, 640)
        viewer = dialog.viewers["big"]
        deadline = time.monotonic() + 60
        while not getattr(viewer, "done", True) and time.monotonic() < deadline:
            settle(0.1)
        shot("studio-table-view.png")
        dialog.close()
        window.doc.undo.setClean()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
