"""What a finished run hands back, seen from outside the engine."""

from __future__ import annotations

from pathlib import Path

from helpers import py, run

from twinflow_studio.project import Project


def test_a_large_run_result_has_a_short_repr(tmp_path: Path) -> None:
    """asyncio.run formats the repr of the task's result when it restores the SIGINT
    handler: the repr of a run's result must not grow with its nodes."""
    p = Project("many")
    for i in range(300):
        p.add_node(py(f"n{i}", "const", value=i))
    result = run(p, tmp_path)
    assert result.ok
    shown = repr(result)
    assert result.run_id in shown and "succeeded" in shown and "nodes=300" in shown
    assert len(shown) < 300, shown
