"""Helpers shared by the studio tests: small projects whose nodes are in-process Python."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from twinflow_studio.project import Node, Port, Project, save

MODULE = textwrap.dedent(
    """
    import time

    def make(n=3, ctx=None):
        if ctx is not None:
            ctx.log(f"making {n} numbers")
        time.sleep(0.05)
        return list(range(n))

    def total(values, ctx=None):
        if ctx is not None:
            ctx.log(f"adding {len(values)} numbers")
        time.sleep(0.05)
        return sum(values)

    def boom(values):
        raise RuntimeError("the sensor file is empty")
    """
)


def chain_project(folder: Path, module: str, fail: bool = False) -> Path:
    """make -> total (-> boom when ``fail``), saved as ``folder/chain.twin``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(MODULE, encoding="utf-8")
    p = Project(name="chain")
    p.add_node(
        Node(
            "make",
            "python",
            params={"callable": f"{module}:make", "kwargs": {"n": 4}},
            outputs=[Port("values", "json")],
        )
    )
    p.add_node(
        Node(
            "total",
            "python",
            params={"callable": f"{module}:total"},
            inputs=[Port("values", "json")],
            outputs=[Port("sum", "json")],
        )
    )
    p.connect("make", "values", "total", "values")
    p.layout["nodes"] = {"make": {"x": 0, "y": 0}, "total": {"x": 300, "y": 0}}
    if fail:
        p.add_node(
            Node(
                "boom",
                "python",
                params={"callable": f"{module}:boom"},
                inputs=[Port("values", "json")],
                outputs=[Port("out", "json")],
            )
        )
        p.connect("make", "values", "boom", "values")
        p.layout["nodes"]["boom"] = {"x": 300, "y": 150}
    path = folder / "chain.twin"
    save(p, path)
    return path


def run_to_end(loop: asyncio.AbstractEventLoop, task: object, timeout: float = 120) -> None:
    """Run the qasync loop (Qt events included) until the run task finishes."""
    assert task is not None, "the run did not start"
    loop.run_until_complete(asyncio.wait_for(task, timeout))
