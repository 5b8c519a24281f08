"""A run killed with ``kill -9`` is marked ``interrupted`` by the next process that opens the
project, in ``run.json`` and in lineage; a run whose process is alive is left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from lineage_sec_helpers import chain_project, cli, cli_command, cli_env, run_summaries

from twinflow_studio.engine import Engine
from twinflow_studio.lineage import open_lineage


def _start_slow_run(twin: Path) -> tuple[subprocess.Popen[str], str]:
    """Starts a run whose first node takes a minute; returns it once that node runs."""
    proc = subprocess.Popen(
        cli_command("--run", str(twin)),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    assert proc.stderr is not None
    run_id = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("run "):
            run_id = line.split()[1].rstrip(":")
        if "n0: running" in line:
            return proc, run_id
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the slow run did not start: {proc.stderr.read()}")


def test_a_killed_run_is_marked_interrupted_by_the_next_run(tmp_path: Path) -> None:
    twin = chain_project(tmp_path / "proj", "killed", delay=120)
    fast = ["--param", 'n0.kwargs={"delay": 0}']
    slow, slow_id = _start_slow_run(twin)
    try:
        # A run beside the live one leaves it alone: its lock is held.
        beside = cli("--run", str(twin), *fast)
        assert beside.returncode == 0, beside.stderr
        summaries = run_summaries(twin.parent)
        assert summaries[slow_id]["status"] == "running"
        assert summaries[slow_id]["pid"] == slow.pid
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(30)
    assert run_summaries(twin.parent)[slow_id]["status"] == "running"  # nobody knows yet

    after = cli("--run", str(twin), *fast, "--json")
    assert after.returncode == 0, after.stderr
    assert "Traceback" not in after.stderr
    assert f"earlier run {slow_id} marked interrupted: process {slow.pid}" in after.stderr
    after_id = json.loads(after.stdout)["run_id"]
    summaries = run_summaries(twin.parent)
    killed = summaries[slow_id]
    assert killed["status"] == "interrupted"
    assert f"process {slow.pid}" in killed["error"] and "killed or crashed" in killed["error"]
    assert not list((twin.parent / ".twinflow" / "running").iterdir())  # no lock left
    assert [s["status"] for s in summaries.values()].count("succeeded") == 2

    with open_lineage(twin.parent, None) as store:
        assert store.flush(30)
        runs = {r["run_id"]: r for r in store.queries.runs("killed")}
        assert len(runs) == 3
        assert runs[slow_id]["status"] == "interrupted"
        assert runs[slow_id]["finished_at"] == killed["finished_at"]
        assert runs[after_id]["status"] == "succeeded"
        assert sum(r["status"] == "succeeded" for r in runs.values()) == 2
        for run_id, run in runs.items():
            tasks = store.queries.task_runs(run_id)
            if run["status"] == "succeeded":
                assert sorted(t["node_id"] for t in tasks) == ["n0", "n1"]
                assert all(t["status"] in ("succeeded", "cached") for t in tasks)

    # Marked once: a later start finds nothing more to do.
    assert Engine().recover_interrupted(twin.parent / ".twinflow") == []


def test_an_interrupted_run_without_lineage_still_reaches_the_graph(tmp_path: Path) -> None:
    """Killed while lineage was off: the next process records it, tied to its project."""
    twin = chain_project(tmp_path / "proj", "quiet", delay=120)
    slow = subprocess.Popen(
        cli_command("--run", str(twin), "--no-lineage"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    assert slow.stderr is not None
    deadline = time.monotonic() + 120
    while "n0: running" not in slow.stderr.readline() and time.monotonic() < deadline:
        pass
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(30)
    [slow_id] = run_summaries(twin.parent)
    events: list[object] = []
    with open_lineage(twin.parent, None) as store:
        engine = Engine([store.subscriber, events.append])
        assert engine.recover_interrupted(twin.parent / ".twinflow") == [slow_id]
        assert store.flush(30)
        [run] = store.queries.runs("quiet")
        assert run["run_id"] == slow_id and run["status"] == "interrupted"
        assert run["project_version"] == run_summaries(twin.parent)[slow_id]["project_version"]
    assert [type(e).__name__ for e in events] == ["RunInterrupted"]


def test_a_process_killed_while_it_created_the_graph_leaves_no_dead_store(tmp_path: Path) -> None:
    """``kill -9`` during graphersal's ``Store.create`` leaves the folder without its GRAPH file
    (observed: ``wal/`` and ``snapshots/`` only), which no open accepts. The next process sets
    it aside and delivers the outbox into a new store."""
    twin = chain_project(tmp_path / "proj", "early")
    done = cli("--run", str(twin), "--no-lineage", "--json")
    assert done.returncode == 0, done.stderr
    lineage = twin.parent / ".twinflow" / "lineage"
    (lineage / "graph" / "wal").mkdir(parents=True)
    (lineage / "graph" / "snapshots").mkdir()
    again = cli("--run", str(twin), "--json")
    assert again.returncode == 0 and "not reachable" not in again.stderr, again.stderr
    with open_lineage(twin.parent, None) as store:
        [run] = store.queries.runs("early")
        assert run["run_id"] == json.loads(again.stdout)["run_id"]
    assert [p.name.split("-")[0] for p in lineage.glob("graph.unfinished-*")] == [
        "graph.unfinished"
    ]
