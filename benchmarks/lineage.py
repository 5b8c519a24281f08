"""Lineage benchmark: task-run records written per second and a 5-hop provenance query.

1. Records/s: ``--records`` task records (one input, one output, one image each, in runs of
   ``--chain`` tasks) go through the real path: engine subscriber -> durable outbox -> writer
   thread -> batched upserts, timed until ``flush()`` returns. Target >= 5,000/s embedded.
   Baseline in the same run: the same vertices and edges inserted into a graphersal Store
   with plain ``addV``/``addE`` script statements in one commit per batch (no outbox, no
   translation, no idempotence).
2. Query: ``LineageQueries.provenance(artifact, max_depth=5)`` (vertices with properties and
   the edges between them) on a graph of ``--vertices`` vertices (default 100,000), median of
   ``--repeat`` calls. Target <= 10 ms.

With ``TWINFLOW_GREMLIN_URL`` set, both are also measured on that Gremlin Server (smaller record
count; the 100k graph is loaded once, namespaced by a unique project, and dropped afterwards).
Every line is JSON; the last line is the records/s figure of the embedded backend.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graphersal  # noqa: E402
from gremlin_python.process.anonymous_traversal import traversal  # noqa: E402
from gremlin_python.process.graph_traversal import __  # noqa: E402

from twinflow_studio.engine.events import (  # noqa: E402
    ArtifactRef,
    NodeStateChanged,
    RunFinished,
    RunStarted,
    TaskRecord,
)
from twinflow_studio.lineage import open_lineage  # noqa: E402
from twinflow_studio.lineage import schema as s  # noqa: E402
from twinflow_studio.lineage.records import RecordConverter  # noqa: E402
from twinflow_studio.lineage.writer import write_ops  # noqa: E402


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_events(project: str, records: int, chain: int) -> list[object]:
    """Runs of a linear pipeline: each task reads the previous task's output."""
    events: list[object] = []
    image = f"sha256:{sha(project + 'image')}"
    made = 0
    run_number = 0
    while made < records:
        run_id = f"{project}-run{run_number}"
        run_number += 1
        now = time.time()
        nodes = tuple(f"n{i}" for i in range(min(chain, records - made)))
        events.append(RunStarted(run_id, project, "v1", None, nodes, now))
        previous = ArtifactRef("data", "table", f"file:///raw/{run_id}", sha(run_id + "raw"), 1)
        for index, node in enumerate(nodes):
            out = ArtifactRef("out", "table", f"file:///{run_id}/{node}", sha(run_id + node), 10)
            record = TaskRecord(
                node,
                "python",
                "docker",
                "docker",
                "small",
                sha(node),
                image,
                1,
                "succeeded",
                now + index,
                now + index + 1,
                0,
                None,
                (previous,),
                (out,),
                metrics={"rows": index},
            )
            events.append(NodeStateChanged(run_id, node, "succeeded", 1, now, record=record))
            previous = out
            made += 1
        events.append(RunFinished(run_id, "succeeded", now + chain, {}))
    return events


def records_per_second(
    project_dir: Path, config: dict, events: list[object], records: int
) -> float:
    store = open_lineage(project_dir, config).start()
    try:
        start = time.perf_counter()
        for event in events:
            store.subscriber(event)
        appended = time.perf_counter() - start
        if not store.flush(600):
            raise RuntimeError(f"lineage writer did not finish: {store.last_error}")
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    print(
        json.dumps(
            {"detail": "subscriber_us_per_event", "value": round(appended / len(events) * 1e6, 1)}
        ),
        flush=True,
    )
    return records / elapsed


def raw_graphersal_per_second(
    directory: Path, events: list[object], records: int, batch: int = 2000
) -> float:
    """Baseline: the same elements as plain addV/addE statements, one commit per batch."""
    converter = RecordConverter()
    ops = s.merge_ops(op for event in events for op in converter.ops_for(event))

    def literal(value: object) -> str:
        return json.dumps(value) if not isinstance(value, bool) else str(value).lower()

    statements = []
    for op in ops:
        if isinstance(op, s.VertexOp):
            props = "".join(
                f".property({json.dumps(k)}, {literal(v)})"
                for k, v in {**op.create, **op.update}.items()
            )
            statements.append(
                f'g.addV("{op.label}").property(T.id, {json.dumps(op.uid)}){props}.iterate();'
            )
        else:
            statements.append(
                f'g.V({json.dumps(op.out_uid)}).addE("{op.label}")'
                f".to(__.V({json.dumps(op.in_uid)}))"
                f".property(T.id, {json.dumps(op.uid)}).iterate();"
            )
    with graphersal.Store.create(str(directory)) as store:
        start = time.perf_counter()
        for begin in range(0, len(statements), batch):
            store.graph.execute("\n".join(statements[begin : begin + batch]), atomic=True)
        elapsed = time.perf_counter() - start
    return records / elapsed


def build_graph(conn: object, project: str, vertices: int, chain: int) -> tuple[str, list[str]]:
    """Loads about ``vertices`` vertices of chained runs; returns an artifact deep in a chain
    and the ids of every vertex written (to drop them again on a shared server)."""
    converter = RecordConverter()
    # Each task adds a TaskRun and an Artifact; each run a Run and its raw Artifact.
    per_run = 2 * chain + 2
    runs = max(1, vertices // per_run)
    events = make_events(project, runs * chain, chain)
    written: list[str] = []
    pending: list[s.Op] = []
    for index, event in enumerate(events):
        pending.extend(converter.ops_for(event))
        if len(pending) >= 20000 or index == len(events) - 1:
            merged = s.merge_ops(pending)
            written.extend(op.uid for op in merged if isinstance(op, s.VertexOp))
            write_ops(conn, merged, 2000)
            pending = []
    last_run = f"{project}-run{runs - 1}"
    return s.artifact_uid(sha(last_run + f"n{chain - 1}")), list(dict.fromkeys(written))


def vertex_uids(events: list[object]) -> list[str]:
    converter = RecordConverter()
    uids = (op.uid for e in events for op in converter.ops_for(e) if isinstance(op, s.VertexOp))
    return list(dict.fromkeys(uids))


def provenance_ms(store: object, uid: str, repeat: int) -> tuple[float, int]:
    timings = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = store.queries.provenance(uid, max_depth=5)
        timings.append((time.perf_counter() - start) * 1000)
        size = len(result["vertices"])
    return statistics.median(timings), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--server-records", type=int, default=5000)
    parser.add_argument("--vertices", type=int, default=100_000)
    parser.add_argument("--server-vertices", type=int, default=20_000)
    parser.add_argument("--chain", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--batch-ops",
        type=int,
        default=None,
        help="settings.lineage.batch_ops of the records/s part (default: the backend's default)",
    )
    args = parser.parse_args()
    url = os.environ.get("TWINFLOW_GREMLIN_URL")

    with tempfile.TemporaryDirectory(prefix="lineage-bench-") as tmp:
        root = Path(tmp)
        project = f"bench-{uuid.uuid4().hex[:8]}"
        events = make_events(project, args.records, args.chain)
        embedded_config: dict = {"backend": "embedded"}
        if args.batch_ops:
            embedded_config["batch_ops"] = args.batch_ops
        embedded = records_per_second(root / "emb", embedded_config, events, args.records)
        baseline = raw_graphersal_per_second(root / "raw", events, args.records)
        print(
            json.dumps({"detail": "raw_graphersal_records_per_s", "value": round(baseline)}),
            flush=True,
        )

        server_rate = None
        if url:
            server_events = make_events(f"{project}-srv", args.server_records, args.chain)
            server_rate = records_per_second(
                root / "srv",
                {"backend": "gremlin-server", "url": url},
                server_events,
                args.server_records,
            )
            print(
                json.dumps(
                    {
                        "metric": "lineage_records_per_s_gremlin_server",
                        "value": round(server_rate),
                        "unit": "records/s",
                    }
                ),
                flush=True,
            )

        big = open_lineage(root / "big", {"backend": "embedded"})
        start = time.perf_counter()
        target, _ = build_graph(big.connection(), f"{project}-big", args.vertices, args.chain)
        count = big.queries.count()
        print(
            json.dumps(
                {
                    "detail": "graph_built",
                    "vertices": count,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            ),
            flush=True,
        )
        embedded_ms, found = provenance_ms(big, target, args.repeat)
        raw_g = traversal().with_(big.connection())
        start = time.perf_counter()
        for _ in range(args.repeat):
            raw_g.V(target).repeat(__.out()).emit().times(5).dedup().count().next()
        hop_ms = (time.perf_counter() - start) * 1000 / args.repeat
        big.close()
        server_ms = None
        if url:
            srv = open_lineage(
                root / "big-srv", {"backend": "gremlin-server", "url": url, "timeout": 120}
            )
            written: list[str] = []
            try:
                drop_vertices(srv.connection(), vertex_uids(server_events))
                target_srv, written = build_graph(
                    srv.connection(), f"{project}-bigsrv", args.server_vertices, args.chain
                )
                server_ms, _ = provenance_ms(srv, target_srv, args.repeat)
            finally:
                drop_vertices(srv.connection(), written)
                srv.close()
        print(
            json.dumps(
                {
                    "metric": "lineage_provenance_5hop_ms",
                    "value": round(embedded_ms, 2),
                    "unit": "ms",
                    "vertices_in_graph": count,
                    "vertices_returned": found,
                    "raw_5hop_count_ms": round(hop_ms, 2),
                    "server_graph_vertices": args.server_vertices if server_ms else None,
                    "baseline": round(server_ms, 2) if server_ms else None,
                    "ratio": round(embedded_ms / server_ms, 3) if server_ms else None,
                    "baseline_is": "gremlin_server" if server_ms else None,
                }
            ),
            flush=True,
        )

    print(
        json.dumps(
            {
                "metric": "lineage_task_records_per_s_embedded",
                "value": round(embedded),
                "unit": "records/s",
                "baseline": round(baseline),
                "ratio": round(embedded / baseline, 3),
                "baseline_is": "raw graphersal addV/addE statements, same elements",
                "gremlin_server_records_per_s": round(server_rate) if server_rate else None,
                "target": ">= 5000",
            }
        )
    )


def drop_vertices(conn: object, uids: list[str]) -> None:
    """Drops exactly the vertices (and so their edges) the benchmark wrote on a shared server."""
    g = traversal().with_(conn)
    for start in range(0, len(uids), 2000):
        g.V(*uids[start : start + 2000]).drop().iterate()


if __name__ == "__main__":
    main()
