"""Nothing recorded is lost: not when the database is away, not when the process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from lineage_helpers import RunScript, closed_port, gremlin_url

from twinflow_studio.lineage import open_lineage
from twinflow_studio.lineage import schema as s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.gremlin_server
def test_outbox_delivers_in_order_after_the_server_was_down(tmp_path):
    live = gremlin_url()
    down = {
        "backend": "gremlin-server",
        "url": f"ws://127.0.0.1:{closed_port()}/gremlin",
        "timeout": 2,
    }
    store = open_lineage(tmp_path, down).start()
    script = RunScript()
    runs = [script.run(store.subscriber) for _ in range(3)]
    assert not store.flush(1.5)
    assert store.pending_bytes() > 0
    assert store.last_error is not None
    store.close(timeout=0.5)  # the engine ends; records stay in the outbox on disk

    store = open_lineage(tmp_path, {"backend": "gremlin-server", "url": live}).start()
    try:
        assert store.flush(30), store.last_error
        assert store.pending_bytes() == 0
        q = store.queries
        assert {r["run_id"] for r in q.runs(script.project)} == {r["run_id"] for r in runs}
        # RunFinished came after RunStarted: delivered in order, the status is the final one.
        assert {r["status"] for r in q.runs(script.project)} == {"succeeded"}
        for run in runs:
            assert len(q.task_runs(run["run_id"])) == 2
        # Re-delivering everything (as after a crash before the cursor moved) adds nothing.
        g = q.g
        before = g.V(s.project_uid(script.project)).in_(s.PART_OF).count().next()
        for run in runs:
            for event in run["events"]:
                store.subscriber(event)
        assert store.flush(30), store.last_error
        assert g.V(s.project_uid(script.project)).in_(s.PART_OF).count().next() == before == 3
    finally:
        store.close()


def test_kill_9_during_a_run_loses_no_committed_record(tmp_path):
    project = f"killed-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, str(HERE / "lineage_killed_writer.py"), str(tmp_path), project],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    appended: list[str] = []
    committed: list[str] = []
    deadline = time.monotonic() + 60
    assert child.stdout is not None
    while len(committed) < 8 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        kind, run_id = line.split()
        (appended if kind == "appended" else committed).append(run_id)
    os.kill(child.pid, signal.SIGKILL)  # mid-run: the child never stops writing
    child.wait(10)
    rest = child.stdout.read()
    appended += [ln.split()[1] for ln in rest.splitlines() if ln.startswith("appended")]
    committed += [ln.split()[1] for ln in rest.splitlines() if ln.startswith("committed")]
    assert len(committed) >= 8, child.stderr.read() if child.stderr else ""

    store = open_lineage(tmp_path, {"backend": "embedded"})
    try:
        q = store.queries
        present = {r["run_id"] for r in q.runs(project)}
        assert set(committed) <= present  # committed before the kill: in the graph already
        store.start()  # the outbox still holds what was appended but not yet delivered
        assert store.flush(30), store.last_error
        runs = q.runs(project)
        assert set(appended) <= {r["run_id"] for r in runs}
        for run_id in appended:
            assert len(q.task_runs(run_id)) == 2
        assert store.connection().store.verify()["ok"]
    finally:
        store.close()
