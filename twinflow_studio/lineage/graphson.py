"""Export and import the whole lineage graph as GraphSON 3.0 (TinkerPop's line format: one
vertex per line with its out- and in-edges), through traversals, so it works on every backend.

The file loads in TinkerGraph (``g.io(path).read()``) and graphersal (``Graph.from_graphson``);
import upserts by id, so importing the same file twice, or into a graph that already holds
part of it, duplicates nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.writer import write_ops
from twinflow_studio.project.errors import TwinFlowError


class GraphSONError(TwinFlowError, ValueError):
    """A GraphSON file could not be read; the message names the file, line and problem."""


def _typed(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"@type": "g:Int64", "@value": value}
    if isinstance(value, float):
        return {"@type": "g:Double", "@value": value}
    return json.dumps(value, sort_keys=True, default=str)


def _untyped(value: Any) -> Any:
    if isinstance(value, dict) and "@type" in value:
        kind = value["@type"]
        inner: Any = value.get("@value")
        if kind in ("g:Int32", "g:Int64", "g:Int16", "gx:Byte"):
            return int(inner)
        if kind in ("g:Double", "g:Float"):
            return float(inner)
        if kind in ("g:List", "g:Set"):
            return [_untyped(v) for v in inner]
        if kind == "g:Map":
            return {
                str(_untyped(inner[i])): _untyped(inner[i + 1]) for i in range(0, len(inner), 2)
            }
        return inner
    return value


def _single(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        items = list(value)
        return items[0] if len(items) == 1 else items
    return value


def export_graphson(conn: RemoteConnection, path: Path) -> dict[str, int]:
    """Writes every vertex and edge to ``path``; returns ``{"vertices", "edges"}``."""
    g = traversal().with_(conn)
    vertices = (
        g.V().project("id", "label", "props").by(T.id).by(T.label).by(__.value_map()).to_list()
    )
    edges = (
        g.E()
        .project("id", "label", "out", "in", "props")
        .by(T.id)
        .by(T.label)
        .by(__.out_v().id_())
        .by(__.in_v().id_())
        .by(__.value_map())
        .to_list()
    )
    out_e: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    in_e: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for e in edges:
        props = {k: _typed(_single(v)) for k, v in e["props"].items()}
        out_e[e["out"]][e["label"]].append({"id": e["id"], "inV": e["in"], "properties": props})
        in_e[e["in"]][e["label"]].append({"id": e["id"], "outV": e["out"], "properties": props})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    prop_id = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for v in sorted(vertices, key=lambda row: str(row["id"])):
            properties: dict[str, list[dict[str, Any]]] = {}
            for key, values in sorted(v["props"].items()):
                items = values if isinstance(values, list) else [values]
                properties[key] = []
                for item in items:
                    prop_id += 1
                    properties[key].append(
                        {"id": {"@type": "g:Int64", "@value": prop_id}, "value": _typed(item)}
                    )
            line: dict[str, Any] = {"id": v["id"], "label": v["label"]}
            if v["id"] in in_e:
                line["inE"] = in_e[v["id"]]
            if v["id"] in out_e:
                line["outE"] = out_e[v["id"]]
            line["properties"] = properties
            # ASCII only: a reader that splits lines at U+2028, U+0085 or \x1c (as
            # str.splitlines does) must still see one record per line.
            handle.write(json.dumps(line, ensure_ascii=True, sort_keys=False) + "\n")
    tmp.replace(path)
    return {"vertices": len(vertices), "edges": len(edges)}


def read_graphson(path: Path) -> list[s.Op]:
    """The upserts for a GraphSON 3.0 line file (or one ``{"vertices": [...]}`` document)."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    records: list[tuple[int, Any]]
    if stripped.startswith("{") and '"vertices"' in stripped[:200] and "\n{" not in stripped:
        try:
            records = [(1, v) for v in json.loads(text)["vertices"]]
        except (ValueError, KeyError, TypeError) as err:
            raise GraphSONError(f"{path}: not a GraphSON document: {err}") from err
    else:
        records = []
        # "\n" only: str.splitlines also splits at U+2028, U+0085, \x1c... which JSON text
        # holds unescaped inside strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    records.append((number, json.loads(line)))
                except ValueError as err:
                    raise GraphSONError(f"{path}:{number}: invalid JSON: {err}") from err
    vertices: list[s.Op] = []
    edges: list[s.Op] = []
    for number, record in records:
        try:
            uid = str(_untyped(record["id"]))
            label = record.get("label", "vertex")
            props: dict[str, Any] = {}
            for key, items in (record.get("properties") or {}).items():
                values = [_untyped(item.get("value")) for item in items]
                props[key] = values[0] if len(values) == 1 else values
            props.pop("uid", None)
            vertices.append(
                s.VertexOp(
                    label,
                    uid,
                    {
                        k: v
                        for k, v in ((k, s.to_property(v)) for k, v in props.items())
                        if v is not None
                    },
                )
            )
            for e_label, items in (record.get("outE") or {}).items():
                for item in items:
                    e_props = {
                        k: s.to_property(_untyped(v))
                        for k, v in (item.get("properties") or {}).items()
                    }
                    e_props.pop("uid", None)
                    edges.append(
                        s.EdgeOp(
                            e_label,
                            uid,
                            str(_untyped(item["inV"])),
                            str(_untyped(item["id"])),
                            {k: v for k, v in e_props.items() if v is not None},
                        )
                    )
        except (KeyError, TypeError, AttributeError) as err:
            raise GraphSONError(
                f"{path}:{number}: not a GraphSON 3.0 vertex line (missing or malformed {err})"
            ) from err
    return [*vertices, *edges]


def import_graphson(conn: RemoteConnection, path: Path, batch_ops: int = 500) -> dict[str, int]:
    """Upserts every vertex and edge of ``path``; returns ``{"vertices", "edges"}`` read."""
    ops = read_graphson(path)
    write_ops(conn, ops, batch_ops)
    vertex_count = sum(1 for op in ops if isinstance(op, s.VertexOp))
    return {"vertices": vertex_count, "edges": len(ops) - vertex_count}
