"""Engine overhead per node: 1k and 10k no-op in-process nodes, as a wide and a deep DAG.

Overhead = run wall time minus the time the same no-op calls take through the same thread
pool without the engine (the in-process target's ``WorkerPool``), per node. The figure against
a plain ``ThreadPoolExecutor`` with ``run_in_executor`` is printed too, for reference: that
pool costs more per call, so it flatters the engine. The last line is the JSON summary: value is the
worst 10k per-node overhead (target <= 0.2 ms), ratio is the 10k run time over the 1k run
time of the same shape, worst shape (target <= 12: linear cost).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from twinflow_studio.engine import Engine  # noqa: E402
from twinflow_studio.engine.workers import WorkerPool  # noqa: E402
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


def engine_time(project: Project, subscribed: bool = False) -> float:
    """``subscribed`` adds a subscriber that drops every event: the engine then builds the
    events (and the lineage record of each task) that the studio and the CLI receive."""
    engine = Engine([lambda event: None] if subscribed else [])
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = asyncio.run(engine.run(project, project_dir=Path(folder), use_cache=False))
        elapsed = time.perf_counter() - started
    assert result.ok, result.summary["failed"][:3]
    return elapsed


def bare_time(n: int, deep: bool, pool_kind: str = "worker") -> float:
    """The same calls through a thread pool of 8 with no engine around them."""
    from _noop import noop

    async def main() -> None:
        if pool_kind == "worker":
            workers = WorkerPool(8)
            call = functools.partial(workers.run, noop)
        else:
            executor = ThreadPoolExecutor(8)
            call = functools.partial(asyncio.get_running_loop().run_in_executor, executor, noop)
        if deep:
            for _ in range(n):
                await call()
        else:
            await asyncio.gather(*(call() for _ in range(n)))
        if pool_kind == "worker":
            workers.close()
        else:
            executor.shutdown()

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def main() -> None:
    figures = {}
    for shape in ("wide", "deep"):
        for n in (1000, 10000):
            project = build(n, shape)
            # Best of several: this machine is noisy, and a 1k run is over in a tenth of a second.
            repeat = 5
            engine_s = min(engine_time(project) for _ in range(repeat))
            bare_s = min(bare_time(n, shape == "deep") for _ in range(repeat))
            executor_s = min(bare_time(n, shape == "deep", "executor") for _ in range(repeat))
            overhead_ms = (engine_s - bare_s) / n * 1000
            figures[(shape, n)] = (engine_s, overhead_ms)
            print(
                f"{shape:5} {n:6} nodes: engine {engine_s:.3f} s, bare pool {bare_s:.3f} s, "
                f"overhead {overhead_ms:.4f} ms/node (against ThreadPoolExecutor "
                f"{executor_s:.3f} s: {(engine_s - executor_s) / n * 1000:.4f} ms/node)",
                flush=True,
            )
    for shape in ("wide", "deep"):
        subscribed_s = min(engine_time(build(10000, shape), subscribed=True) for _ in range(3))
        print(
            f"{shape:5}  10000 nodes with a subscriber (events built): engine {subscribed_s:.3f} s,"
            f" {(subscribed_s - figures[(shape, 10000)][0]) / 10:.4f} ms/node more",
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
