"""Screenshots of the real studio on a real X display (Xvfb): the welcome page, a table
viewer on a run's output and a figure preview on the canvas, for docs/screenshots/; the
badges (with the tooltip of a real mouse hover, via xdotool), the node menu, a muted run
in the light theme and a subgraph's body on the hello example, for docs/img/.

    Xvfb :99 -screen 0 1600x1000x24 & openbox &   # or any window manager
    DISPLAY=:99 python scripts/results_screenshots.py [--out docs/screenshots] [--img docs/img]

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
    parser.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
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

    def shot(name: str, folder: Path | None = None) -> None:
        settle(1.0)
        path = (folder or args.out) / name
        subprocess.run(["import", "-window", "root", str(path)], check=True)
        print(f"wrote {path}")

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

        if twin is not None:
            args.img.mkdir(parents=True, exist_ok=True)
            badges_shots(window, twin, settle, lambda name: shot(name, args.img))
        window.doc.undo.setClean()
        window.close()
        settle(0.5)  # the viewer's and the badges' workers end
        # qasync's default executor is a pool of QThreads: shut it down before the
        # interpreter exits, else Qt aborts ("QThread: Destroyed while thread is still running").
        loop.close()
    return 0


def badges_shots(window: object, twin: Path, settle: object, shot: object) -> None:
    """hello after a run, then edited: a changed parameter (changed badges, with the
    tooltip of a real hover), a muted node, an invalid node fed by a backward pipe; the
    node menu; the muted run in the light theme."""
    from PySide6.QtCore import QPointF

    from twinflow_studio.project import Edge, Port
    from twinflow_studio.ui.badges import shown_badges

    loop = asyncio.get_event_loop()
    window.open_path(twin, ask=False)
    loop.run_until_complete(window.run_all())
    window.runs.flush()
    window.doc.change_node(
        "fit", "params", lambda n: n.params.update(kwargs={"ambient_c": 21.0}), "Edit kwargs"
    )
    window.canvas_menus.toggle_mute("stats")
    export = window.add_node("python", QPointF(300, 400))
    assert export is not None

    def ports(n: object) -> None:
        n.name = "Export"
        n.inputs = [Port("anomalies", "json")]
        n.outputs = [Port("out", "json")]

    window.doc.change_node(export, "ports", ports)
    window.doc.connect(Edge("anomalies", "anomalies", export, "anomalies"))
    window.badges.check_now()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        settle(0.2)
        view = window.canvas.node_view("anomalies")
        if view is not None and any(b.text == "changed" for b in shown_badges(view)):
            break
    window.canvas.zoom_to_fit()
    window.canvas.select([])
    settle(0.5)
    # Hover the "changed" pill of Anomalies with the real pointer: its tooltip says why.
    view = window.canvas.node_view("anomalies")
    pill = next(p for p in view._pills if p.badge.text == "changed")
    viewer = window.canvas.viewer
    at = viewer.mapToGlobal(viewer.mapFromScene(pill.sceneBoundingRect().center()))
    subprocess.run(["xdotool", "mousemove", str(at.x() - 3), str(at.y())], check=True)
    settle(0.3)
    subprocess.run(["xdotool", "mousemove", str(at.x()), str(at.y())], check=True)
    settle(2.0)
    shot("studio-badges.png")

    # The node menu, opened on Cooling fit (popup: the script goes on while it is open).
    subprocess.run(["xdotool", "mousemove", "5", "5"], check=True)
    settle(0.5)
    window.canvas.select(["fit"])
    fit = window.canvas.node_view("fit").view
    at = viewer.mapToGlobal(viewer.mapFromScene(fit.sceneBoundingRect().center()))
    menu = window.canvas_menus.node_menu("fit")
    menu.popup(at)
    shot("studio-node-menu.png")
    menu.close()

    # A muted run in the light theme: Statistics and Report are skipped, the run succeeds.
    window.doc.remove_nodes([export])
    window.set_theme("light")
    loop.run_until_complete(window.run_all())
    window.runs.flush()
    window.canvas.zoom_to_fit()
    window.canvas.select([])
    shot("studio-muted-run-light.png")
    window.set_theme("dark")

    # Cooling fit and Anomalies made into a subgraph, its body open with the breadcrumb.
    window.canvas_menus.toggle_mute("stats")
    window.canvas.select(["fit", "anomalies"])
    sub = window.composition.make_subgraph()
    assert sub is not None
    window.doc.change_node(sub, "name", lambda n: setattr(n, "name", "Analysis"), "Rename")
    window.composition.open_body(sub)
    settle(0.5)
    window.edit_canvas.zoom_to_fit()
    window.edit_canvas.select(["fit"])
    window.docks["properties"].raise_()
    shot("subgraph-body.png")


if __name__ == "__main__":
    raise SystemExit(main())
