"""The cost of verifying cached artifacts: every cache hit re-hashes its outputs and compares
them with the hashes recorded when they were stored (``engine/integrity.py``).

Cached runs (every node a cache hit) of 10k in-process nodes with one tiny output each (a
JSON value, then a small file), and of a few nodes with one large file each, timed with the
check and without it (the check swapped, in this same process, for the existence test the
engine did before). Best of several runs each; the page cache is warm, as it is on a rerun.
The time spent in the check is also measured inside the cached runs: on a loaded machine the
difference of two whole runs is mostly noise (both are printed).

The last line is the JSON summary: value is the time in the check per cached node on the 10k
tiny values (ms), baseline the per-node time of the same cached run without the check (ms,
best of the A/B runs in this process), ratio (baseline + value) / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from twinflow_studio.engine import Engine, scheduler  # noqa: E402
from twinflow_studio.engine.events import ArtifactRef  # noqa: E402
from twinflow_studio.engine.store import artifact_path  # noqa: E402
from twinflow_studio.project import Node, Port, Project  # noqa: E402

VERIFY = scheduler.verify_cached


async def exists_only(refs: Sequence[ArtifactRef]) -> str | None:
    """What a cache hit checked before verification: that each file is still there."""
    for ref in refs:
        if not artifact_path(ref).exists():
            return "missing"
    return None


def build(n: int, func: str, port_type: str, **kwargs: int) -> Project:
    p = Project(f"{func}-{n}")
    for i in range(n):
        p.nodes[f"n{i}"] = Node(
            f"n{i}",
            "python",
            params={"callable": f"_cache_nodes:{func}", "kwargs": {"i": i, **kwargs}},
            outputs=[Port("out", port_type)],
        )
    return p


def run_once(project: Project, folder: Path) -> tuple[float, dict[str, int]]:
    engine = Engine()
    started = time.perf_counter()
    result = asyncio.run(engine.run(project, project_dir=folder))
    elapsed = time.perf_counter() - started
    assert result.ok, result.summary["failed"][:3]
    return elapsed, result.summary["counts"]


def cached_times(project: Project, repeat: int) -> tuple[float, float, float]:
    """(best cached run with the check, best without, best time spent in the check per
    node within a run), the runs alternating so that drift in the machine's load hits both."""
    spent = [0.0]

    async def timed(refs: Sequence[ArtifactRef]) -> str | None:
        started = time.perf_counter()
        try:
            return await VERIFY(refs)
        finally:
            spent[0] += time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run_once(project, folder)  # fills the store and the cache index
        with_check, without, in_check = [], [], []
        for _ in range(repeat):
            scheduler.verify_cached = timed
            spent[0] = 0.0
            elapsed, counts = run_once(project, folder)
            assert counts == {"cached": len(project.nodes)}, counts
            with_check.append(elapsed)
            in_check.append(spent[0] / len(project.nodes))
            scheduler.verify_cached = exists_only
            elapsed, counts = run_once(project, folder)
            assert counts == {"cached": len(project.nodes)}, counts
            without.append(elapsed)
        scheduler.verify_cached = VERIFY
    return min(with_check), min(without), min(in_check)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", type=int, default=10000, help="nodes in the tiny runs")
    parser.add_argument("--large", type=int, default=3, help="nodes in the large-file run")
    parser.add_argument("--mib", type=int, default=100, help="size of each large file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    figures = {}
    for label, func, port_type in (
        ("tiny values", "tiny_value", "json"),
        ("tiny files", "tiny_file", "file"),
    ):
        n = args.tiny
        check_s, plain_s, per_node_s = cached_times(build(n, func, port_type), args.repeat)
        figures[label] = (check_s, plain_s, per_node_s)
        print(
            f"{n} cached nodes, {label}: {check_s:.3f} s with the check, {plain_s:.3f} s "
            f"without (A/B ratio {check_s / plain_s:.3f}); time in the check "
            f"{per_node_s * 1000:.4f} ms per node, {per_node_s / (plain_s / n):.1%} of a "
            "cached node without it",
            flush=True,
        )
    n, mib = args.large, args.mib
    check_s, plain_s, per_node_s = cached_times(
        build(n, "large_file", "file", mib=mib), max(2, args.repeat // 2)
    )
    # The nodes are independent: their checks run at once on worker threads, so the run's
    # extra time, not the time each check took, is the cost.
    extra = check_s - plain_s
    print(
        f"{n} cached nodes, one {mib} MiB file each: {check_s:.3f} s with the check, "
        f"{plain_s:.3f} s without: +{extra / n * 1000:.0f} ms per node ({n * mib / extra:.0f} "
        f"MiB/s hashed; each check {per_node_s * 1000:.0f} ms on a worker thread, the event "
        "loop free meanwhile)",
        flush=True,
    )
    check_s, plain_s, per_node_s = figures["tiny values"]
    baseline = plain_s / args.tiny
    print(
        json.dumps(
            {
                "metric": "cache_verify_cost_per_cached_node_10k_tiny",
                "value": round(per_node_s * 1000, 4),
                "unit": "ms",
                "baseline": round(baseline * 1000, 4),
                "ratio": round((baseline + per_node_s) / baseline, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
