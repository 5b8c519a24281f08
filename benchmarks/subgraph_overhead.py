"""Subgraph flattening cost: a 10k-node DAG built from 100 instances of a 100-node subgraph
(a chain of no-op nodes, embedded in the project) against the same DAG written flat.

The subgraph DAG is measured twice: with embedded bodies and with one referenced part.
All run on the ``inprocess`` target with a subscriber (events and lineage records built, as
in the studio and the CLI), without the cache. The flat DAG uses the very ids the flattening
makes (``sN--nM``), so the only difference is reading the bodies and flattening them. Best
of 3 each. Target: ratio (subgraph time / flat time) <= 1.10. The last line is the JSON summary.
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
from twinflow_studio.project import Node, Port, Project, twinfile  # noqa: E402
from twinflow_studio.project.subgraphs import file_pin, flatten  # noqa: E402

INSTANCES = 100
SIZE = 100


def chain(prefix: str = "") -> Project:
    p = Project("chain")
    for i in range(SIZE):
        node = Node(f"{prefix}n{i}", "python", params={"callable": "_noop:noop"}, target="local")
        node.outputs = [Port("done", "any", required=False)]
        node.inputs = [Port("after", "any", required=False)]
        p.nodes[node.id] = node
        if i:
            p.connect(f"{prefix}n{i - 1}", "done", node.id, "after")
    return p


def body_document() -> dict:
    body = twinfile.to_document(chain())
    body["interface"] = {
        "inputs": [{"name": "after", "type": "any", "node": "n0", "port": "after"}],
        "outputs": [{"name": "done", "type": "any", "node": f"n{SIZE - 1}", "port": "done"}],
    }
    return body


def composed(folder: Path, how: str) -> Project:
    """100 instances of the chain: ``embedded`` bodies (read back through the file format,
    as a saved project is: each instance its own copy) or one ``part`` file referenced."""
    p = Project(f"composed-{how}")
    if how == "part":
        path = folder / "parts" / "chain.twin"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(body_document()))
        params = {"ref": "parts/chain.twin", "pin": file_pin(path.read_bytes())}
    else:
        params = {"body": body_document()}
    for s in range(INSTANCES):
        p.nodes[f"s{s}"] = Node(f"s{s}", "subgraph", params=params)
    return twinfile.loads(twinfile.dumps(p))


def flat() -> Project:
    p = Project("flat")
    for s in range(INSTANCES):
        part = chain(f"s{s}--")
        p.nodes.update(part.nodes)
        p.edges.extend(part.edges)
    return p


def run_time(project: Project, folder: Path) -> float:
    """Seconds to run ``project`` (flattening is part of the run)."""
    engine = Engine([lambda event: None])
    with tempfile.TemporaryDirectory() as store:
        started = time.perf_counter()
        result = asyncio.run(
            engine.run(project, project_dir=folder, use_cache=False, store_root=Path(store))
        )
        elapsed = time.perf_counter() - started
    assert result.ok and len(result.nodes) == INSTANCES * SIZE, result.summary["failed"][:3]
    return elapsed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="twinflow-subgraph-"))
    projects = {"flat": flat(), **{how: composed(folder, how) for how in ("embedded", "part")}}
    times: dict[str, list[float]] = {name: [] for name in projects}
    for _ in range(3):  # interleaved, so that drift on a shared machine hits all alike
        for name, project in projects.items():
            times[name].append(run_time(project, folder))
    best = {name: min(values) for name, values in times.items()}
    for name in projects:
        runs = ", ".join(f"{t:.3f}" for t in times[name])
        line = f"{name:8} 10k nodes: best {best[name]:.3f} s (runs: {runs})"
        if name != "flat":
            started = time.perf_counter()
            flatten(projects[name], folder)
            line += f"; flattening alone {time.perf_counter() - started:.3f} s"
            line += f"; ratio {best[name] / best['flat']:.3f}"
        print(line, flush=True)
    worst = max(("embedded", "part"), key=lambda name: best[name])
    print(
        json.dumps(
            {
                "metric": "subgraph_run_time_ratio_10k",
                "value": round(best[worst], 4),
                "unit": "s",
                "baseline": round(best["flat"], 4),
                "ratio": round(best[worst] / best["flat"], 3),
                "worst": worst,
            }
        )
    )


if __name__ == "__main__":
    main()
