"""A run whose asyncio task is cancelled (the studio quitting, a caller giving up) still ends
recorded: run.json and RunFinished say "cancelled", and the caller sees CancelledError."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from twinflow_studio.engine import Engine, RunFinished
from twinflow_studio.project import Node, Port, Project


def test_cancelling_the_run_task_records_the_run_as_cancelled(tmp_path: Path) -> None:
    (tmp_path / "task_cancel_mod.py").write_text(
        "import time\n"
        "def wait(ctx):\n"
        "    for _ in range(3000):\n"
        "        ctx.check_cancelled()\n"
        "        time.sleep(0.01)\n"
        "    return 1\n"
    )
    p = Project("cancel")
    p.add_node(
        Node(
            "wait",
            "python",
            params={"callable": "task_cancel_mod:wait"},
            outputs=[Port("o", "json")],
        )
    )
    events: list[object] = []
    engine = Engine([events.append])

    async def main() -> None:
        task = asyncio.ensure_future(engine.run(p, project_dir=tmp_path))
        while not any(getattr(e, "state", "") == "running" for e in events):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    [finished] = [e for e in events if isinstance(e, RunFinished)]
    assert finished.status == "cancelled"
    [summary_file] = (tmp_path / ".twinflow" / "runs").glob("*/run.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "cancelled"
    assert summary["nodes"]["wait"]["state"] == "cancelled"
    assert engine.active_runs == []
