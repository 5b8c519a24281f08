"""Small builders for engine tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.project import Node, Port, Project


def py(
    node_id: str,
    func: str,
    inputs: list[tuple[str, str]] = (),
    outputs: list[tuple[str, str]] = (("out", "json"),),
    **kwargs: Any,
) -> Node:  # noqa: E501
    """A node calling ``sample_nodes``, pinned to the in-process target: these tests count
    threads and share module state with the functions they run (tests/engine/
    test_process_target.py covers the worker processes)."""
    return Node(
        node_id,
        "python",
        params={"callable": f"sample_nodes:{func}", "kwargs": kwargs},
        inputs=[Port(n, t) for n, t in inputs],
        outputs=[Port(n, t) for n, t in outputs],
        target="local",
    )


def run(project: Project, folder: Path, events: list | None = None, **kwargs: Any) -> RunResult:
    engine = Engine([events.append] if events is not None else [])
    return asyncio.run(engine.run(project, project_dir=folder, **kwargs))


def value(result: RunResult, node_id: str, port: str = "out") -> Any:
    import json

    from twinflow_studio.engine.store import artifact_path

    return json.loads(artifact_path(result.output(node_id, port)).read_text())
