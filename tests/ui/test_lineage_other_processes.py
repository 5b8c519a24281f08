"""The studio and other processes on one project: opening it marks its killed runs
``interrupted`` (run.json, lineage); a CLI run beside the open studio records its lineage
(the studio, holding the graph, delivers it)."""

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


@pytest.mark.gui
def test_a_cli_run_beside_the_studio_records_its_lineage(window, tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "quick_mod.py").write_text("def quick():\n    return {'ok': True}\n")
    project = Project("beside")
    project.add_node(
        Node("q", "python", params={"callable": "quick_mod:quick"}, outputs=[Port("o", "json")])
    )
    twin = folder / "beside.twin"
    save(project, twin)
    assert window.open_path(twin)
    store = window.lineage_store
    assert store is not None and store.outbox.owner  # the studio holds the graph
    from twinflow_studio.cli import build_parser

    trust = ["--trust"] if "--trust" in build_parser().format_help() else []
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(twin), "--json", *trust],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr
    assert "not recorded" not in done.stderr and "not reachable" not in done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    [run] = store.queries.runs("beside")  # delivered by the studio before the CLI exited
    assert run["run_id"] == run_id and run["status"] == "succeeded"
    assert [t["node_id"] for t in store.queries.task_runs(run_id)] == ["q"]
