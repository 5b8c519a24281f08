"""Opening a project in the studio marks its killed runs ``interrupted`` (run.json, lineage)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twinflow_studio.project import Node, Port, Project, save

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.gui
def test_opening_a_project_marks_its_killed_run_interrupted(window, tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "slow_mod.py").write_text(
        "import time\n"
        "def slow(ctx):\n"
        "    for _ in range(6000):\n"
        "        ctx.check_cancelled()\n"
        "        time.sleep(0.02)\n"
        "    return {}\n"
    )
    project = Project("opened")
    project.add_node(
        Node("s", "python", params={"callable": "slow_mod:slow"}, outputs=[Port("o", "json")])
    )
    twin = folder / "opened.twin"
    save(project, twin)
    from twinflow_studio.cli import build_parser

    trust = ["--trust"] if "--trust" in build_parser().format_help() else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "twinflow_studio", "--run", str(twin), *trust],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while "s: running" not in proc.stderr.readline() and time.monotonic() < deadline:
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    [run_json] = (folder / ".twinflow" / "runs").glob("*/run.json")
    assert json.loads(run_json.read_text())["status"] == "running"

    assert window.open_path(twin)
    store = window.lineage_store  # opens the graph, which looks for killed runs
    assert store is not None
    summary = json.loads(run_json.read_text())
    assert summary["status"] == "interrupted"
    assert store.flush(30)
    [run] = store.queries.runs("opened")
    assert run["run_id"] == summary["run_id"] and run["status"] == "interrupted"
