"""The cost of the studio's "changed since its last run" badges (``engine/freshness.py``).

A 1,000-node project (25 chains of 40 in-process Python nodes) is run once to fill the cache;
then its freshness is computed (every node's cache key, looked up read-only in the run
cache: what the badges do on a worker thread after each edit) and, as the baseline, the
same project is run again with every node a cache hit (what a Run would do to find out).
Best of several of each. Also printed: the time the UI thread spends on its part, the copy
of the project handed to the worker (``ui.badges.worker_copy``). Target: freshness <= the
cached run (ratio <= 1), and the copy <= 5 ms.

The last line is one JSON object: value is the freshness time (s), baseline the cached run
(s), ratio value / baseline.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from twinflow_studio.engine import Engine  # noqa: E402
from twinflow_studio.engine.freshness import FRESH, freshness  # noqa: E402
from twinflow_studio.project import Node, Port, Project, TargetConfig  # noqa: E402
from twinflow_studio.ui.badges import worker_copy  # noqa: E402

NODES = 1000
WIDTH = 25
REPEAT = 3


def build() -> Project:
    p = Project(f"freshness-{NODES}")
    p.targets["local"] = TargetConfig("local", "inprocess", vcpus=4.0, memory_mib=8192)
    for i in range(NODES):
        has_input = i >= WIDTH
        p.add_node(
            Node(
                f"n{i}",
                "python",
                params={"callable": "_noop:noop", "kwargs": {"i": i}},
                inputs=[Port("x", "json", required=False)] if has_input else [],
                outputs=[Port("y", "json", required=False)],
                target="local",
            )
        )
        if has_input:
            p.connect(f"n{i - WIDTH}", "y", f"n{i}", "x")
    return p


def best(work: object) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    project = build()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = asyncio.run(Engine().run(project, project_dir=folder))
        if not first.ok:
            raise SystemExit(f"the first run failed: {first.summary['status']}")
        found = freshness(project, folder, folder / ".twinflow")
        if {f.state for f in found.values()} != {FRESH}:
            raise SystemExit("after a run every node must be fresh")

        def cached_run() -> None:
            result = asyncio.run(Engine().run(project, project_dir=folder))
            if set(result.summary["counts"]) != {"cached"}:
                raise SystemExit(f"the rerun was not all cached: {result.summary['counts']}")

        value = best(lambda: freshness(project, folder, folder / ".twinflow"))
        baseline = best(cached_run)
        copy_s = best(lambda: worker_copy(project))
    print(
        f"freshness of {NODES} nodes: {value:.3f} s; cached run: {baseline:.3f} s; "
        f"project copy on the UI thread: {copy_s * 1000:.1f} ms"
    )
    print(
        json.dumps(
            {
                "metric": f"freshness_{NODES}_nodes",
                "value": round(value, 4),
                "unit": "s",
                "baseline": round(baseline, 4),
                "ratio": round(value / baseline, 3),
                "ui_thread_copy_ms": round(copy_s * 1000, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
