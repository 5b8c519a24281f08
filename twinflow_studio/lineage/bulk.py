"""The embedded backend's fast path for batches of upserts.

A batch of upserts (what ``schema.batch_traversal`` makes: ``mergeV``/``mergeE`` keyed by id)
means: create each element that does not exist yet, apply ``onMatch`` to each that does.
graphersal runs such scripts at a few thousand elements per second, but imports GraphSON
natively an order of magnitude faster. So the elements that do not exist yet (one id lookup per
batch) go in as one GraphSON import, and only the rest (updates of existing vertices, edges
between two existing vertices) run as the script statements of their traversals. The result is
the same as running the batch traversal.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import graphersal

from twinflow_studio.lineage import fastjson
from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.translate import script_literal, statement


def _existing(graph: graphersal.Graph, step: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = script_literal(ids[start : start + 5000])
        found.update(graph.execute(f"g.{step}({chunk}).id().to_list()"))
    return found


def _statement(op: s.Op) -> str:
    return statement(s.upsert_traversal(op).bytecode)


def upsert(graph: graphersal.Graph, ops: list[s.Op], scratch: Path) -> None:
    """Applies ``ops`` in order, as ``schema.batch_traversal(g, ops).iterate()`` would."""
    vertex_ids = list(dict.fromkeys(op.uid for op in ops if type(op) is s.VertexOp))
    have_v = _existing(graph, "V", vertex_ids) if vertex_ids else set()
    # An edge can only exist between two existing vertices: only those edges are looked up.
    new_v = set(vertex_ids) - have_v
    edge_ids = list(
        dict.fromkeys(
            op.uid
            for op in ops
            if type(op) is s.EdgeOp and op.out_uid not in new_v and op.in_uid not in new_v
        )
    )
    have_e = _existing(graph, "E", edge_ids) if edge_ids else set()
    # GraphSON 3.0 lines with untyped values and no vertex property ids: graphersal reads
    # JSON integers, floats, strings and booleans as exactly those types, and leaving the
    # wrappers out halves the text it parses. Each line is built as plain containers and
    # written with one ``dumps``: about twice as fast as joining the bytes of each property
    # (the writer pauses the cyclic collector during a batch, so these containers are cheap).
    lines: dict[str, dict[str, Any]] = {}
    statements: list[str] = []
    edges: list[s.EdgeOp] = []
    for op in ops:
        if type(op) is not s.VertexOp:
            edges.append(op)  # type: ignore[arg-type]
            continue
        uid = op.uid
        if uid in have_v or uid in lines:
            if op.update:
                statements.append(_statement(op))
            continue
        props = {"uid": uid, **op.create, **op.update} if op.update else {"uid": uid, **op.create}
        lines[uid] = {
            "id": uid,
            "label": op.label,
            "properties": {k: ({"value": v},) for k, v in props.items()},
        }
    seen_edges: set[str] = set()
    for op in edges:
        uid = op.uid
        if uid in have_e or uid in seen_edges:
            continue  # an edge upsert has no onMatch
        seen_edges.add(uid)
        line = lines.get(op.out_uid)
        if line is not None:
            entry = {"id": uid, "inV": op.in_uid, "properties": op.props}
            slot = "outE"
        else:
            line = lines.get(op.in_uid)
            if line is None:
                statements.append(_statement(op))
                continue
            entry = {"id": uid, "outV": op.out_uid, "properties": op.props}
            slot = "inE"
        by_label = line.get(slot)
        if by_label is None:
            line[slot] = {op.label: [entry]}
        else:
            by_label.setdefault(op.label, []).append(entry)
    if lines:
        path = scratch / f"bulk-{os.getpid()}-{threading.get_ident()}.json"
        dumps = fastjson.dumps
        try:
            # Inside the try: a write cut short by a full disk leaves no partial file.
            with open(path, "wb") as handle:
                handle.write(b"\n".join([dumps(line) for line in lines.values()]))
                handle.write(b"\n")
            with warnings.catch_warnings():
                # Edges to vertices that exist nowhere are skipped, as mergeE would not make them.
                warnings.simplefilter("ignore", UserWarning)
                graph.import_graphson(str(path))
        finally:
            path.unlink(missing_ok=True)
    if statements:
        graph.execute("\n".join(statements), atomic=True)
