"""The lineage graph's schema (W3C PROV in spirit) and its idempotent upsert operations.

Every vertex and edge has a stable string key derived from what it stands for; it is both the
element id (``T.id``, so lookups are by id on every backend) and the ``uid`` property. Writes
are ``mergeV``/``mergeE`` on that key, so a replayed record never duplicates anything and a new
run never wipes what earlier runs wrote. Edges point from the later thing to what it came from
(``Artifact -wasGeneratedBy-> TaskRun -used-> Artifact``), as in PROV.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource
from gremlin_python.process.traversal import Bytecode, CardinalityValue, Direction, Merge, T

# Vertex labels.
PROJECT = "Project"
PROJECT_VERSION = "ProjectVersion"
RUN = "Run"
TASK_RUN = "TaskRun"
ARTIFACT = "Artifact"
MODEL = "Model"
MODEL_VERSION = "ModelVersion"
TRIGGER_EVENT = "TriggerEvent"
VERTEX_LABELS = (
    PROJECT,
    PROJECT_VERSION,
    RUN,
    TASK_RUN,
    ARTIFACT,
    MODEL,
    MODEL_VERSION,
    TRIGGER_EVENT,
)

# Edge labels.
USED = "used"
WAS_GENERATED_BY = "wasGeneratedBy"
WAS_DERIVED_FROM = "wasDerivedFrom"
WAS_INFORMED_BY = "wasInformedBy"
PART_OF = "partOf"
VERSION_OF = "versionOf"
TRIGGERED_BY = "triggeredBy"
EDGE_LABELS = (
    USED,
    WAS_GENERATED_BY,
    WAS_DERIVED_FROM,
    WAS_INFORMED_BY,
    PART_OF,
    VERSION_OF,
    TRIGGERED_BY,
)

# Walking these edges outwards from an element reaches everything it came from.
UPSTREAM_EDGES = EDGE_LABELS
# Walking these inwards reaches everything made from an element (not partOf/versionOf: the
# project version is used by every task of every run of it, which is not "made from").
DOWNSTREAM_EDGES = (USED, WAS_GENERATED_BY, WAS_DERIVED_FROM, WAS_INFORMED_BY)

_VERTEX_LABEL_SET = frozenset(VERTEX_LABELS)
_EDGE_LABEL_SET = frozenset(EDGE_LABELS)

# Port types whose outputs are fitted models: each such output is a ModelVersion.
MODEL_PORT_TYPES = frozenset({"model", "posterior"})

Scalar = str | int | float | bool


def project_uid(project: str) -> str:
    return f"project:{project}"


def project_version_uid(project: str, version: str) -> str:
    return f"projectversion:{project}:{version}"


def run_uid(run_id: str) -> str:
    return f"run:{run_id}"


def task_run_uid(run_id: str, node_id: str, attempt: int) -> str:
    return f"taskrun:{run_id}:{node_id}:{attempt}"


def artifact_uid(sha256: str) -> str:
    """Artifacts are content-addressed: the same bytes made twice are one Artifact vertex with
    two ``wasGeneratedBy`` edges (the first ``uri`` seen is kept, later ones in ``uris``-free
    form are not stored: the content is what identifies it)."""
    return f"artifact:{sha256.removeprefix('sha256:')}"


def model_uid(project: str, node_id: str) -> str:
    return f"model:{project}:{node_id}"


def model_version_uid(project: str, node_id: str, content: str) -> str:
    return f"modelversion:{project}:{node_id}:{content}"


def trigger_uid(key: str) -> str:
    return f"trigger:{key}"


def edge_uid(out_uid: str, label: str, in_uid: str, qualifier: str = "") -> str:
    suffix = f"|{qualifier}" if qualifier else ""
    return f"{out_uid}|{label}|{in_uid}{suffix}"


# Lone surrogates (U+D800-U+DFFF as code points of their own: a file name's undecodable bytes,
# a stray \\ud800 escape in a .twin) exist in Python strings but in no UTF-8 layer: graphersal,
# GraphBinary and Neptune refuse them. Such a string is stored as U+FFFF (a noncharacter,
# reserved for internal use) followed by its ``unicode_escape`` text (ASCII; unlike JSON, whose
# readers join an escaped high and low surrogate into one character, it gives every code
# point back as it was). A string that itself begins with U+FFFF is stored that way too, so
# the mapping is reversible for every string. Everything else, including every control
# character, is stored as it is.
ESCAPE_MARK = "\uffff"
_NEEDS_ESCAPE = re.compile("\\A\uffff|[\ud800-\udfff]")


def store_text(text: str) -> str:
    """``text`` as the graph stores it (itself, unless it needs the reversible escape)."""
    if text.isascii() or _NEEDS_ESCAPE.search(text) is None:
        return text
    return ESCAPE_MARK + text.encode("unicode_escape").decode("ascii")


def read_text(value: Any) -> Any:
    """The inverse of ``store_text`` (other values are returned as they are)."""
    if type(value) is str and value.startswith(ESCAPE_MARK):
        try:
            return value[1:].encode("ascii").decode("unicode_escape")
        except (UnicodeError, ValueError):
            return value
    return value


def to_property(value: Any) -> Scalar | None:
    """A value every backend can store as one property: scalars as they are, everything else
    as JSON text (Neptune has no list or map properties), ``None``, NaN and infinities left
    out (no backend takes them in a script, and JSON has no words for them)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if value is None:
        return None
    if kind is float or isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool | int | str):
        return value if not isinstance(value, str) or value.isascii() else store_text(value)
    # Not ``ensure_ascii``: its escapes of a lone high and low surrogate would be read back
    # as one character; raw, they go through ``store_text`` like any other string.
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if text.isascii() else store_text(text)


def _clean(props: Mapping[str, Any]) -> dict[str, Scalar]:
    cleaned: dict[str, Scalar] = {}
    for key, value in props.items():
        kind = type(value)
        if kind is str:
            cleaned[key] = value if value.isascii() else store_text(value)
        elif kind is int or kind is bool:
            cleaned[key] = value
        elif value is not None:
            prop = to_property(value)
            if prop is not None:
                cleaned[key] = prop
    return cleaned


@dataclass(slots=True)
class VertexOp:
    """Upsert of one vertex: ``create`` is written once, ``update`` every time (last wins).

    Treated as immutable (``merge_ops`` makes new ones); not ``frozen`` because a frozen
    dataclass takes three times as long to make, and the writer makes two per element."""

    label: str
    uid: str
    create: dict[str, Scalar] = field(default_factory=dict)
    update: dict[str, Scalar] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"v": self.label, "id": self.uid, "c": self.create, "u": self.update}


@dataclass(slots=True)
class EdgeOp:
    """Upsert of one edge between two vertices written before it."""

    label: str
    out_uid: str
    in_uid: str
    uid: str
    props: dict[str, Scalar] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "e": self.label,
            "id": self.uid,
            "o": self.out_uid,
            "i": self.in_uid,
            "p": self.props,
        }


Op = VertexOp | EdgeOp


def vertex(
    label: str,
    uid: str,
    create: Mapping[str, Any] | None = None,
    update: Mapping[str, Any] | None = None,
) -> VertexOp:
    if label not in _VERTEX_LABEL_SET:
        raise ValueError(f"unknown vertex label {label!r}; expected one of {VERTEX_LABELS}")
    # ``isascii`` first, inline: the subscriber makes about ten of these per event.
    if not uid.isascii():
        uid = store_text(uid)
    return VertexOp(label, uid, _clean(create or {}), _clean(update or {}))


def edge(
    out_uid: str,
    label: str,
    in_uid: str,
    qualifier: str = "",
    props: Mapping[str, Any] | None = None,
) -> EdgeOp:
    if label not in _EDGE_LABEL_SET:
        raise ValueError(f"unknown edge label {label!r}; expected one of {EDGE_LABELS}")
    uid = edge_uid(out_uid, label, in_uid, qualifier)
    if not uid.isascii():  # both ends are in it: ASCII means all three are
        out_uid, in_uid, uid = store_text(out_uid), store_text(in_uid), store_text(uid)
    return EdgeOp(label, out_uid, in_uid, uid, _clean(props) if props else {})


def op_from_json(data: Mapping[str, Any]) -> Op:
    """The inverse of ``to_json``; raises ``ValueError`` naming what is malformed."""
    try:
        label = data.get("v")
        if label is not None:
            if label not in _VERTEX_LABEL_SET:
                raise ValueError(f"unknown vertex label {label!r}")
            # ``in`` rather than a ``{}`` default: no throw-away dict per operation.
            return VertexOp(
                label,
                str(data["id"]),
                _checked(data["c"]) if "c" in data else {},
                _checked(data["u"]) if "u" in data else {},
            )
        label = data.get("e")
        if label is not None:
            if label not in _EDGE_LABEL_SET:
                raise ValueError(f"unknown edge label {label!r}")
            return EdgeOp(
                label,
                str(data["o"]),
                str(data["i"]),
                str(data["id"]),
                _checked(data["p"]) if "p" in data else {},
            )
    except KeyError as err:
        raise ValueError(f"lineage operation {dict(data)!r} lacks the key {err}") from err
    except AttributeError as err:
        raise ValueError(f"lineage operation {data!r} is not a map") from err
    raise ValueError(f"lineage operation {dict(data)!r} is neither a vertex nor an edge")


def _checked(props: Any) -> dict[str, Scalar]:
    if not isinstance(props, dict):
        raise ValueError(f"properties must be a map, got {props!r}")
    # The writer checks every property of every delivered line: the common case (strings,
    # integers, booleans) is decided on the type alone.
    for value in props.values():
        kind = type(value)
        if kind is str or kind is int or kind is bool:
            continue
        if kind is float and math.isfinite(value):
            continue
        _refuse(props)
    return props


def _refuse(props: dict[Any, Any]) -> None:
    for key, value in props.items():
        kind = type(value)
        if kind not in (str, int, float, bool):
            raise ValueError(f"property {key!r} has a value of type {kind.__name__}")
        if kind is float and not math.isfinite(value):
            raise ValueError(f"property {key!r} is {value!r}, which no backend stores")


def merge_ops(ops: Iterable[Op]) -> list[Op]:
    """One op per element in first-seen order (so each edge still follows its ends, and a
    batch split into traversals keeps new edges next to their new vertices); for a vertex
    written twice the first ``create`` and the last ``update`` values win."""
    merged: dict[tuple[bool, str], Op] = {}
    for op in ops:
        is_vertex = type(op) is VertexOp
        key = (is_vertex, op.uid)
        seen = merged.get(key)
        if seen is None:
            merged[key] = op
        elif isinstance(op, VertexOp) and isinstance(seen, VertexOp) and (op.create or op.update):
            merged[key] = VertexOp(
                seen.label,
                seen.uid,
                {**op.create, **seen.create},
                {**seen.update, **op.update},
            )
    return list(merged.values())


def _anonymous(*steps: list[Any]) -> GraphTraversal:
    # Same bytecode as __.merge_v(..).option(..), built directly: gremlinpython's argument
    # conversion walks every map again, which dominated the writer's time in batches.
    bytecode = Bytecode()
    bytecode.step_instructions.extend(steps)
    return GraphTraversal(None, None, bytecode)


def upsert_traversal(op: Op) -> GraphTraversal:
    """The anonymous traversal that upserts ``op`` (``mergeV``/``mergeE`` keyed by id)."""
    if isinstance(op, VertexOp):
        on_create: dict[Any, Any] = {
            T.label: op.label,
            T.id: op.uid,
            "uid": op.uid,
            **op.create,
            **op.update,
        }
        steps = [["mergeV", {T.id: op.uid}], ["option", Merge.on_create, on_create]]
        if op.update:
            # Neptune's default cardinality is "set": without single() an update would add a
            # second value instead of replacing the first.
            on_match = {k: CardinalityValue.single(v) for k, v in op.update.items()}
            steps.append(["option", Merge.on_match, on_match])
        return _anonymous(*steps)
    on_create_e: dict[Any, Any] = {
        T.id: op.uid,
        T.label: op.label,
        Direction.OUT: op.out_uid,
        Direction.IN: op.in_uid,
        **op.props,
    }
    return _anonymous(["mergeE", {T.id: op.uid}], ["option", Merge.on_create, on_create_e])


def batch_traversal(g: GraphTraversalSource, ops: Iterable[Op]) -> GraphTraversal:
    """One traversal upserting all ``ops`` in order, one round trip to a server."""
    traversal = g.inject(0)
    steps = traversal.bytecode.step_instructions
    for op in ops:
        steps.append(["sideEffect", upsert_traversal(op).bytecode])
    return traversal
