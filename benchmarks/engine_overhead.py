"""Engine overhead per node: 1k and 10k no-op nodes, as a wide and a deep DAG, on the
``inprocess`` target (threads) and on the ``process`` target (worker processes).

Overhead = run wall time minus the time the same no-op calls take through the same thread
pool without the engine (the in-process target's ``WorkerPool``), per node. The figure against
a plain ``ThreadPoolExecutor`` with ``run_in_executor`` is printed too, for reference: that
pool costs more per call, so it flatters the engine. The last line is the JSON summary: value is the
worst 10k per-node overhead (target <= 0.2 ms), ratio is the 10k run time over the 1k run
time of the same shape, worst shape (target <= 12: linear cost).

The ``process`` target: overhead = run wall time per node, all of it (a no-op costs nothing,
so everything is the engine plus the hop to a worker process and back). Target <= 1 ms at
10k nodes, wide and deep. Printed apart: the bare round trip of one no-op task to a warm
worker with no engine around it, and the engine process's own CPU time per node (what the
studio's loop pays). It is under "process" in the JSON line. ``--only inprocess|process``
runs one of the two.
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


def build(n: int, shape: str, target: str = "local") -> Project:
    """``wide``: n independent nodes. ``deep``: a chain of n nodes ordered by edges between
    optional ports that a no-op leaves empty, so no artifact is written (see
    ``deep-values`` in the notes for a chain that writes one small value per node)."""
    p = Project(f"{shape}-{n}")
    for i in range(n):
        p.nodes[f"n{i}"] = Node(f"n{i}", "python", params={"callable": "_noop:noop"}, target=target)
    if shape == "deep":
        for i in range(n):
            node = p.nodes[f"n{i}"]
            node.outputs = [Port("done", "any", required=False)]
            if i:
                node.inputs = [Port("after", "any", required=False)]
                p.connect(f"n{i - 1}", "done", f"n{i}", "after")
    return p


FOLDER = Path(tempfile.mkdtemp(prefix="twinflow-overhead-"))


def engine_time(
    project: Project, subscribed: bool = False, cpu: list[float] | None = None
) -> float:
    """``subscribed`` adds a subscriber that drops every event: the engine then builds the
    events (and the lineage record of each task) that the studio and the CLI receive.
    Runs share one project folder, so the process target's pool is warm after the first."""
    engine = Engine([lambda event: None] if subscribed else [])
    with tempfile.TemporaryDirectory() as store:
        started, used = time.perf_counter(), time.process_time()
        result = asyncio.run(
            engine.run(project, project_dir=FOLDER, use_cache=False, store_root=Path(store))
        )
        elapsed = time.perf_counter() - started
        if cpu is not None:
            cpu.append(time.process_time() - used)
    assert result.ok, result.summary["failed"][:3]
    return elapsed


def bare_process_roundtrip(n: int) -> float:
    """Seconds per no-op task sent to one warm worker process and answered, no engine."""
    from twinflow_studio.engine.process_pool import WorkerProcess

    worker = WorkerProcess(FOLDER, 0)
    task = {
        "executor": "twinflow_studio.engine.executors:run_python_callable",
        "run_id": "bench",
        "node_id": "n",
        "node_kind": "python",
        "params": {"callable": "_noop:noop", "kwargs": {}},
        "inputs": {},
        "output_ports": {},
        "output_dir": str(FOLDER / "out"),
        "project_dir": str(FOLDER),
        "previous_outputs": {},
        "attempt": 1,
        "memory_mib": 512,
        "profile": "default",
        "modules": None,
    }

    async def main() -> float:
        loop = asyncio.get_running_loop()

        async def once() -> None:
            done = loop.create_future()
            worker.start(loop, lambda m: done.done() or done.set_result(m), task)
            assert (await done)[0] == "done"

        for _ in range(50):  # warm: the worker has started and imported the executor
            await once()
        started = time.perf_counter()
        for _ in range(n):
            await once()
        return (time.perf_counter() - started) / n

    try:
        return asyncio.run(main())
    finally:
        worker.kill()


def process_figures() -> dict:
    figures: dict = {}
    for shape in ("wide", "deep"):
        for n in (1000, 10000):
            project = build(n, shape, "workers")
            cpu: list[float] = []
            engine_s = min(engine_time(project, cpu=cpu) for _ in range(2 if n > 1000 else 3))
            per_node = engine_s / n * 1000
            figures[f"{shape}_{n}_ms"] = round(per_node, 4)
            figures[f"{shape}_{n}_engine_cpu_ms"] = round(min(cpu) / n * 1000, 4)
            print(
                f"process {shape:5} {n:6} nodes: engine {engine_s:.3f} s, {per_node:.4f} ms/node "
                f"(engine process CPU {min(cpu) / n * 1000:.4f} ms/node)",
                flush=True,
            )
    roundtrip = bare_process_roundtrip(2000) * 1000
    figures["bare_roundtrip_ms"] = round(roundtrip, 4)
    print(f"process bare round trip to a warm worker: {roundtrip:.4f} ms/task", flush=True)
    figures["value"] = max(figures["wide_10000_ms"], figures["deep_10000_ms"])
    return figures


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
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=("inprocess", "process"))
    args = parser.parse_args()
    process = process_figures() if args.only in (None, "process") else None
    if args.only == "process":
        assert process is not None
        print(
            json.dumps(
                {
                    "metric": "engine_overhead_per_node_10k_process",
                    "value": process["value"],
                    "unit": "ms",
                    "baseline": process["bare_roundtrip_ms"],
                    "ratio": round(process["value"] / process["bare_roundtrip_ms"], 3),
                    "process": process,
                }
            )
        )
        return
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
                "process": process,
            }
        )
    )


if __name__ == "__main__":
    main()
