"""The embedded backend's fast path for batches of upserts.

A batch traversal (``g.inject(0).sideEffect(__.mergeV(..)..)..iterate()``, as built by
``schema.batch_traversal``) means: create each element that does not exist yet, apply
``onMatch`` to each that does. graphersal runs such scripts at a few thousand elements per
second, but imports GraphSON natively an order of magnitude faster. So the elements that do not
exist yet (one id lookup per batch) go in as one GraphSON import, and only the rest (updates of
existing vertices, edges between two existing vertices) run as script statements. The result is
the same as running the traversal; anything not of that exact shape returns ``None`` and takes
the general path.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphersal
from gremlin_python.process.traversal import Bytecode, Direction, Merge, T

from twinflow_studio.lineage.translate import statement


@dataclass
class _Merge:
    kind: str  # "V" or "E"
    uid: str
    label: str
    props: dict[str, Any]  # GraphSON-typed values of the onCreate map
    out_v: str | None
    in_v: str | None
    has_on_match: bool
    child: Bytecode


def plan(bytecode: Bytecode) -> list[_Merge] | None:
    """The merges of a pure batch of id-keyed ``mergeV``/``mergeE``, else ``None``."""
    steps = bytecode.step_instructions
    if bytecode.source_instructions or len(steps) < 3:
        return None
    if steps[0][0] != "inject" or steps[-1] != ["discard"]:
        return None
    merges = []
    for step in steps[1:-1]:
        if step[0] != "sideEffect" or len(step) != 2 or not isinstance(step[1], Bytecode):
            return None
        merge = _merge(step[1])
        if merge is None:
            return None
        merges.append(merge)
    return merges


def _merge(child: Bytecode) -> _Merge | None:
    steps = child.step_instructions
    if child.source_instructions or not steps or len(steps[0]) != 2:
        return None
    name, search = steps[0]
    if name not in ("mergeV", "mergeE") or not isinstance(search, dict) or len(search) != 1:
        return None
    uid = search.get(T.id)
    if not isinstance(uid, str):
        return None
    create: dict[Any, Any] | None = None
    has_on_match = False
    for option in steps[1:]:
        if option[0] != "option" or len(option) != 3 or not isinstance(option[2], dict):
            return None
        if option[1] == Merge.on_create:
            create = option[2]
        elif option[1] == Merge.on_match:
            has_on_match = True
        else:
            return None
    if create is None:
        return None
    label = out_v = in_v = None
    props: dict[str, Any] = {}
    for key, value in create.items():
        kind = type(value)
        if isinstance(key, str):
            if kind is str or kind is bool:
                props[key] = value
            elif kind is int:
                props[key] = {"@type": "g:Int64", "@value": value}
            elif kind is float:
                props[key] = {"@type": "g:Double", "@value": value}
            else:
                return None
        elif key is T.label and kind is str:
            label = value
        elif key is T.id and value == uid:
            continue
        elif key is Direction.OUT and kind is str:
            out_v = value
        elif key is Direction.IN and kind is str:
            in_v = value
        else:
            return None
    if label is None:
        return None
    if name == "mergeE":
        if out_v is None or in_v is None:
            return None
        return _Merge("E", uid, label, props, out_v, in_v, has_on_match, child)
    if out_v is not None or in_v is not None:
        return None
    return _Merge("V", uid, label, props, None, None, has_on_match, child)


def _existing(graph: graphersal.Graph, step: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = json.dumps(ids[start : start + 5000], ensure_ascii=False)
        found.update(graph.execute(f"g.{step}({chunk}).id().to_list()"))
    return found


def run(graph: graphersal.Graph, merges: list[_Merge], scratch: Path) -> None:
    vertex_ids = list(dict.fromkeys(m.uid for m in merges if m.kind == "V"))
    edge_ids = list(dict.fromkeys(m.uid for m in merges if m.kind == "E"))
    have_v = _existing(graph, "V", vertex_ids) if vertex_ids else set()
    have_e = _existing(graph, "E", edge_ids) if edge_ids else set()
    lines: dict[str, dict[str, Any]] = {}
    statements: list[str] = []
    prop_id = 0
    for m in merges:
        if m.kind != "V":
            continue
        if m.uid in have_v or m.uid in lines:
            if m.has_on_match:
                statements.append(statement(m.child))
            continue
        properties = {}
        for key, value in m.props.items():
            prop_id += 1
            properties[key] = [{"id": {"@type": "g:Int64", "@value": prop_id}, "value": value}]
        lines[m.uid] = {"id": m.uid, "label": m.label, "properties": properties}
    seen_edges: set[str] = set()
    for m in merges:
        if m.kind != "E":
            continue
        if m.uid in have_e or m.uid in seen_edges:
            if m.has_on_match:
                statements.append(statement(m.child))
            continue
        seen_edges.add(m.uid)
        out_v, in_v = m.out_v, m.in_v
        entry = {"id": m.uid, "properties": m.props}
        label = m.label
        if out_v in lines:
            lines[out_v].setdefault("outE", {}).setdefault(label, []).append({**entry, "inV": in_v})
        elif in_v in lines:
            lines[in_v].setdefault("inE", {}).setdefault(label, []).append({**entry, "outV": out_v})
        else:
            statements.append(statement(m.child))
    if lines:
        path = scratch / f"bulk-{os.getpid()}-{threading.get_ident()}.json"
        with open(path, "w", encoding="utf-8") as handle:
            for line in lines.values():
                handle.write(json.dumps(line, ensure_ascii=False))
                handle.write("\n")
        try:
            with warnings.catch_warnings():
                # Edges to vertices that exist nowhere are skipped, as mergeE would not make them.
                warnings.simplefilter("ignore", UserWarning)
                graph.import_graphson(str(path))
        finally:
            path.unlink(missing_ok=True)
    if statements:
        graph.execute("\n".join(statements), atomic=True)
