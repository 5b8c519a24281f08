"""The studio runs Python nodes in worker processes: its loop keeps turning while heavy
modules load for a first run, a node's traceback reaches the log view, and two projects with
a module of the same name each run their own."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlparse

from ui_helpers import run_to_end

from twinflow_studio.project import Node, Port, Project, save

HEAVY = textwrap.dedent(
    """
    import time

    import scipy.optimize
    import sklearn.ensemble

    time.sleep(1.5)  # an import that takes its time, as big libraries do on a cold start

    def fit(ctx):
        ctx.log("fitted")
        return scipy.optimize.minimize_scalar(lambda x: (x - 3.0) ** 2).x
    """
)


def one_node_project(folder: Path, module: str, source: str, func: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    p = Project(name=folder.name)
    p.add_node(
        Node("n", "python", params={"callable": f"{module}:{func}"}, outputs=[Port("out", "json")])
    )
    p.layout["nodes"] = {"n": {"x": 0, "y": 0}}
    save(p, folder / f"{folder.name}.twin")
    return folder / f"{folder.name}.twin"


def output_value(window: object, node: str = "n", port: str = "out") -> object:
    uri = window.runs.last_summary["nodes"][node]["outputs"][port]
    return json.loads(Path(unquote(urlparse(uri).path)).read_text())


async def _lags(task: object, lags: list[float], period: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while not task.done():
        t = loop.time()
        await asyncio.sleep(period)
        lags.append(loop.time() - t - period)


def test_a_first_run_with_heavy_imports_does_not_freeze_the_studio(window, qt_loop, tmp_path):
    window.open_path(one_node_project(tmp_path / "heavy", "ui_mod_heavy", HEAVY, "fit"))
    task = window.run_all()
    lags: list[float] = []
    qt_loop.run_until_complete(asyncio.gather(task, _lags(task, lags)))
    window.runs.flush()
    assert window.runs.last_summary["status"] == "succeeded", window.runs.last_summary
    assert abs(output_value(window) - 3.0) < 1e-3
    # The user's module was imported by the worker, never by the studio.
    assert "ui_mod_heavy" not in sys.modules
    # The import took 1.5 s and more: a loop that stopped for it would show it here.
    assert len(lags) > 50
    assert max(lags) < 1.0, f"the studio loop stalled for {max(lags):.2f} s"
    assert any("fitted" in line for line in window.run_panel.lines["n"])


def test_a_traceback_reaches_the_log_view(window, qt_loop, tmp_path):
    source = "def bad():\n    print('about to fail')\n    return 1 / 0\n"
    window.open_path(one_node_project(tmp_path / "bad", "ui_mod_bad", source, "bad"))
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    assert window.runs.last_summary["status"] == "failed"
    window.run_panel.show_node_log("n")
    text = window.run_panel.log.toPlainText()
    assert "about to fail" in text
    assert "Traceback (most recent call last):" in text
    assert "ZeroDivisionError: division by zero" in text


def test_two_projects_with_the_same_module_name_each_run_their_own(window, qt_loop, tmp_path):
    for name in ("north", "south"):
        source = f"def which():\n    return {name!r}\n"
        path = one_node_project(tmp_path / name, "tank_models", source, "which")
        window.open_path(path, ask=False)
        run_to_end(qt_loop, window.run_all())
        window.runs.flush()
        assert window.runs.last_summary["status"] == "succeeded"
        assert output_value(window) == name
        window.doc.undo.setClean()
    # Edited, then run again in the same window: the new code runs.
    path = tmp_path / "south" / "tank_models.py"
    path.write_text("def which():\n    return 'south, edited'\n", encoding="utf-8")
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    assert window.runs.last_summary["nodes"]["n"]["state"] == "succeeded"
    assert output_value(window) == "south, edited"
