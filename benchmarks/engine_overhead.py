"""Engine overhead per node: 1k and 10k no-op in-process nodes, as a wide and a deep DAG.

Overhead = run wall time minus the time the same no-op calls take through the same kind of
thread pool without the engine, per node. The last line is the JSON summary: value is the
worst 10k per-node overhead (target <= 0.2 ms), ratio is the 10k run time over the 1k run
time of the same shape, worst shape (target <= 12: linear cost).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from twinflow_studio.engine import Engine  # noqa: E402
from twinflow_studio.project import Node, Port, Project  # noqa: E402


def build(n: int, shape: str) -> Project:
    """``wide``: n independent nodes. ``deep``: a chain of n nodes ordered by edges between
    optional ports that a no-op leaves empty, so no artifact is written (see
    ``deep-values`` in the notes for a chain that writes one small value per node)."""
    p = Project(f"{shape}-{n}")
    for i in range(n):
        p.nodes[f"n{i}"] = Node(f"n{i}", "python", params={"callable": "_noop:noop"})
    if shape == "deep":
        for i in range(n):
            node = p.nodes[f"n{i}"]
            node.outputs = [Port("done", "any", required=False)]
            if i:
                node.inputs = [Port("after", "any", required=False)]
                p.connect(f"n{i - 1}", "done", f"n{i}", "after")
    return p


def engine_time(project: Project) -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = asyncio.run(Engine().run(project, project_dir=Path(folder), use_cache=False))
        elapsed = time.perf_counter() - started
    assert result.ok, result.summary["failed"][:3]
    return elapsed


def bare_time(n: int, deep: bool) -> float:
    """The same calls through a thread pool with no engine around them."""
    from _noop import noop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(8) as pool:
            if deep:
                for _ in range(n):
                    await loop.run_in_executor(pool, noop)
            else:
                await asyncio.gather(*(loop.run_in_executor(pool, noop) for _ in range(n)))

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def main() -> None:
    figures = {}
    for shape in ("wide", "deep"):
        for n in (1000, 10000):
            project = build(n, shape)
            engine_s = min(engine_time(project) for _ in range(2))
            bare_s = min(bare_time(n, shape == "deep") for _ in range(2))
            overhead_ms = (engine_s - bare_s) / n * 1000
            figures[(shape, n)] = (engine_s, overhead_ms)
            print(
                f"{shape:5} {n:6} nodes: engine {engine_s:.3f} s, bare pool {bare_s:.3f} s, "
                f"overhead {overhead_ms:.4f} ms/node",
                flush=True,
            )
    worst_overhead = max(figures[(s, 10000)][1] for s in ("wide", "deep"))
    ratios = {s: figures[(s, 10000)][0] / figures[(s, 1000)][0] for s in ("wide", "deep")}
    worst_shape = max(ratios, key=ratios.get)
    print(f"10k/1k time ratio: wide {ratios['wide']:.2f}, deep {ratios['deep']:.2f}")
    print(
        json.dumps(
            {
                "metric": "engine_overhead_per_node_10k",
                "value": round(worst_overhead, 4),
                "unit": "ms",
                "baseline": round(figures[(worst_shape, 1000)][0], 4),
                "ratio": round(ratios[worst_shape], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
