"""Screenshots of the real studio on the hello example, for docs/screenshots/ and the README.

Runs offscreen: `python scripts/screenshots.py [--out docs/screenshots]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--example", type=Path, default=ROOT / "resources" / "examples" / "hello")
    args = parser.parse_args()

    import qasync
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from twinflow_studio.project import Edge, Port
    from twinflow_studio.trust import TrustStore
    from twinflow_studio.ui.main_window import MainWindow
    from twinflow_studio.ui.prompts import ScriptedPrompter

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / args.example.name
        shutil.copytree(
            args.example, work, ignore=shutil.ignore_patterns(".twinflow", "__pycache__")
        )
        twin = next(work.glob("*.twin"))
        window = MainWindow(
            prompter=ScriptedPrompter(),  # says yes when asked to trust the example
            home=Path(tmp) / "home",
            trust=TrustStore(Path(tmp) / "trust.json"),
        )
        window.resize(1500, 920)
        window.show()
        app.processEvents()  # it fits itself to the (offscreen, small) screen on show
        window.resize(1500, 920)
        window.open_path(twin, ask=False)

        def shot(name: str) -> None:
            # Let the dock layout settle (else the first grab can show the Run/Live tab bar
            # of the tabified docks at a stale place, over the palette).
            loop.run_until_complete(asyncio.sleep(0.5))
            for _ in range(5):
                app.processEvents()
            path = args.out / name
            window.grab().save(str(path))
            print(f"wrote {path}")

        window.canvas.zoom_to_fit()
        window.canvas.select(["fit"])
        shot("studio-editor.png")

        task = window.run_all()
        loop.run_until_complete(asyncio.wait_for(task, 120))
        window.runs.flush()
        window.canvas.select(["report"])
        window.run_panel.show_node_log("fit")
        window.docks["lineage"].raise_()
        shot("studio-run-lineage.png")

        node = window.add_node("python", QPointF(300, 420))
        window.doc.change_node(
            node, "ports", lambda n: setattr(n, "inputs", [Port("model", "model")])
        )
        reason = window.canvas.request_connection(Edge("sensor", "data", node, "model"))
        window.show_message(f"Connection refused: {reason}")
        window.set_theme("light")
        window.canvas.zoom_to_fit()  # the new node went to free space below the others
        window.canvas.select([node])
        window.docks["properties"].raise_()
        shot("studio-light-properties.png")
        window.doc.undo.setClean()
        window.set_theme("dark")
        calibration_shot(window, loop, Path(tmp) / "calibration", shot)
        window.doc.undo.setClean()
        window.close()
    loop.close()
    return 0


LINE_MODEL = "def line(theta, x):\n    return theta[0] * x + theta[1]\n"


def write_line_data(path: Path, slope: float, seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.linspace(0, 10, 40)
    y = slope * x + 1.0 + rng.normal(0, 0.3, x.size)
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in zip(x, y, strict=True))
    path.write_text("x,y\n" + rows + "\n", encoding="utf-8")


def calibration_shot(window: object, loop: object, folder: Path, shot: object) -> None:
    """A real Bayesian calibration, run twice (new data, then recalibration)."""
    from twinflow_studio.project import Node, Project, save

    folder.mkdir(parents=True)
    (folder / "line_model.py").write_text(LINE_MODEL, encoding="utf-8")
    write_line_data(folder / "data.csv", 2.0, 1)
    p = Project(name="line-calibration")
    p.add_node(Node("data", "datasource", name="Measurements", params={"path": "data.csv"}))
    p.add_node(
        Node(
            "calibrate",
            "calibration",
            name="Calibrate line",
            params={
                "model": "line_model:line",
                "priors": [
                    {"name": "slope", "dist": "normal", "mean": 1.0, "sd": 2.0},
                    {"name": "offset", "dist": "normal", "mean": 0.0, "sd": 2.0},
                ],
                "x_columns": ["x"],
                "y_column": "y",
                "noise": {"sigma": 0.3},
                "n_walkers": 16,
                "n_steps": 600,
                "figures": False,
            },
        )
    )
    p.connect("data", "data", "calibrate", "data")
    p.layout["nodes"] = {"data": {"x": 0, "y": 0}, "calibrate": {"x": 320, "y": 0}}
    save(p, folder / "line.twin")
    window.open_path(folder / "line.twin", ask=False)
    for slope, seed in ((2.0, 1), (2.3, 2)):  # the second batch of data has drifted
        write_line_data(folder / "data.csv", slope, seed)
        task = window.run_all()
        loop.run_until_complete(asyncio.wait_for(task, 300))
        window.runs.flush()
        if window.runs.last_summary["status"] != "succeeded":
            print("calibration run failed:", window.runs.last_summary.get("failed"))
            return
    window.canvas.zoom_to_fit()
    window.canvas.select(["calibrate"])
    window.docks["calibration"].raise_()
    window.calibration.tabs.setCurrentIndex(3)  # history across recalibrations
    shot("studio-calibration.png")


if __name__ == "__main__":
    raise SystemExit(main())
