"""Quitting while a run is in progress: the studio asks (wait / cancel and quit / keep
running), never cancels silently, and the run always ends recorded in run.json and lineage."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from twinflow_studio.project import Node, Port, Project, save

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

SLOW = (
    "import time\n"
    "def wait(ctx, seconds=2.0):\n"
    "    end = time.time() + seconds\n"
    "    while time.time() < end:\n"
    "        ctx.check_cancelled()\n"
    "        time.sleep(0.01)\n"
    "    return 1\n"
)


def slow_project(folder: Path, module: str, seconds: float = 30.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(SLOW)
    p = Project(name="slow")
    p.add_node(
        Node(
            "wait",
            "python",
            params={"callable": f"{module}:wait", "kwargs": {"seconds": seconds}},
            outputs=[Port("out", "json")],
        )
    )
    path = folder / "slow.twin"
    save(p, path)
    return path


def run_summaries(folder: Path) -> list[dict]:
    return [
        json.loads(f.read_text())
        for f in sorted((folder / ".twinflow" / "runs").glob("*/run.json"))
    ]


def lineage_statuses(folder: Path) -> dict[str, str]:
    from twinflow_studio.lineage import open_lineage
    from twinflow_studio.ui.lineage_source import GraphLineage

    store = open_lineage(folder, {}).start()
    try:
        return {r.run_id: r.status for r in GraphLineage(store.queries, "slow").runs()}
    finally:
        store.close(timeout=5.0)


@pytest.fixture(autouse=True)
def _closing_a_window_does_not_quit(qapp):
    # In the app, closing the last window ends the loop; here later tests still need it.
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(True)


def _wait_for(qt_loop, condition, timeout: float = 30.0) -> None:
    """Turn the qasync loop (where the run and Qt's events go on) until ``condition()``."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    qt_loop.run_until_complete(asyncio.wait_for(poll(), timeout))


def _wait_until_running(qt_loop, window) -> None:
    _wait_for(qt_loop, lambda: "running" in window.runs.history.get("wait", []))


def test_quit_asks_and_keep_running_keeps_the_studio_open(make_window, qt_loop, tmp_path):
    window = make_window(quit_during_run=["keep", "cancel"])
    assert window.open_path(slow_project(tmp_path / "k", "ui_mod_quit_keep"))
    window.run_all()
    _wait_until_running(qt_loop, window)
    assert not window.close()  # keep running: nothing is cancelled
    # (the project runs Python code, so the trust question came first)
    assert [q[0] for q in window.prompter.asked] == ["trust_project", "quit_during_run"]
    assert window.isVisible() and window.runs.busy
    qt_loop.run_until_complete(asyncio.sleep(0.2))
    assert window.runs.busy and "cancelled" not in window.runs.history["wait"]

    assert not window.close()  # cancel and quit: the window closes once the run has stopped
    _wait_for(qt_loop, lambda: not window.isVisible())
    assert not window.runs.busy
    assert window.runs.last_summary["status"] == "cancelled"
    [summary] = run_summaries(tmp_path / "k")
    assert summary["status"] == "cancelled"
    assert lineage_statuses(tmp_path / "k") == {summary["run_id"]: "cancelled"}


def test_keep_running_takes_back_an_earlier_wait(make_window, qt_loop, tmp_path):
    window = make_window(quit_during_run=["wait", "keep"])
    assert window.open_path(slow_project(tmp_path / "t", "ui_mod_quit_back", seconds=1.0))
    window.run_all()
    _wait_until_running(qt_loop, window)
    assert not window.close()  # wait, then quit
    assert not window.close()  # no: keep the studio open after all
    _wait_for(qt_loop, lambda: not window.runs.busy)
    qt_loop.run_until_complete(asyncio.sleep(0.2))
    assert window.isVisible()
    [summary] = run_summaries(tmp_path / "t")
    assert summary["status"] == "succeeded"


def test_wait_then_quit_lets_the_run_finish(make_window, qt_loop, tmp_path):
    window = make_window(quit_during_run=["wait"])
    assert window.open_path(slow_project(tmp_path / "w", "ui_mod_quit_wait", seconds=1.0))
    window.run_all()
    _wait_until_running(qt_loop, window)
    assert not window.close()
    assert window.isVisible()
    _wait_for(qt_loop, lambda: not window.isVisible())
    [summary] = run_summaries(tmp_path / "w")
    assert summary["status"] == "succeeded"


def test_the_question_is_a_real_dialog_whose_escape_keeps_running(window, qtbot):
    from twinflow_studio.ui.prompts import Prompter

    answers = []

    def click(text: str | None) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, lambda: click(text))
            return
        assert "run is in progress" in box.text()
        if text is None:
            box.reject()  # Escape / the window's close button
            return
        [button] = [b for b in box.buttons() if b.text() == text]
        button.click()

    prompter = Prompter(window)
    for text in ("Wait, then quit", "Cancel run and quit", "Keep running", None):
        QTimer.singleShot(20, lambda t=text: click(t))
        answers.append(prompter.quit_during_run())
    assert answers == ["wait", "cancel", "keep", "keep"]


def _quit_app(folder: Path, project: Path, answers: str, tmp_path: Path):
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        QT_QPA_PLATFORM="offscreen",
        TWINFLOW_STUDIO_HOME=str(tmp_path / "home"),
    )
    return subprocess.run(
        [sys.executable, str(HERE / "quit_during_run_app.py"), str(project), answers],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=folder,
    )


def test_the_real_app_cancels_and_quits_cleanly(tmp_path):
    folder = tmp_path / "app"
    done = _quit_app(folder, slow_project(folder, "ui_mod_quit_app"), "cancel", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "terminate called" not in done.stderr, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["asked"] == ["trust_project", "quit_during_run"]
    assert report["closes"] == [False]
    [summary] = run_summaries(folder)
    assert summary["status"] == "cancelled"
    assert summary["nodes"]["wait"]["state"] == "cancelled"
    assert lineage_statuses(folder) == {summary["run_id"]: "cancelled"}


def test_a_docker_run_is_cancelled_cleanly_on_quit(tmp_path, docker_client, base_image):
    folder = tmp_path / "docker"
    folder.mkdir()
    p = Project(name="slow")
    p.add_node(
        Node(
            "sleeper",
            "container",
            params={"image": base_image, "command": ["sleep", "60"]},
            outputs=[Port("out", "file", required=False)],
        )
    )
    save(p, folder / "slow.twin")
    done = _quit_app(folder, folder / "slow.twin", "cancel", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "closing target" not in done.stderr and "terminate called" not in done.stderr
    [summary] = run_summaries(folder)
    assert summary["status"] == "cancelled"
    assert lineage_statuses(folder) == {summary["run_id"]: "cancelled"}
    # The container was stopped and removed.
    mine = {"label": f"twinflow.run={summary['run_id']}"}
    assert docker_client.containers.list(all=True, filters=mine) == []
