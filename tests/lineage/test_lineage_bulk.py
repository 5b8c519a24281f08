"""The embedded writer's fast path (``GraphersalConnection.upsert``: one native GraphSON import
per batch) means exactly what the batch traversal means, which the embedded backend otherwise
runs as translated script statements; and values keep their types and text on the way."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from twinflow_studio.lineage import fastjson, open_lineage
from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.writer import write_ops

TEXT = 'say "hi"\n\\ é ${x} \u2028 \x00'


def _ops(ns: str) -> tuple[list[s.Op], list[s.Op]]:
    first: list[s.Op] = [
        s.vertex(s.RUN, f"{ns}old", {"run_id": "old"}, {"status": "running"}),
        s.vertex(s.ARTIFACT, f"{ns}art", {"n": 1, "f": 3.0, "flag": False, "text": TEXT}),
        s.vertex(s.TASK_RUN, f"{ns}t0", {"n": 0}),
        s.edge(f"{ns}t0", s.PART_OF, f"{ns}old"),
    ]
    second: list[s.Op] = [
        s.vertex(s.RUN, f"{ns}old", {"run_id": "ignored on match"}, {"status": "succeeded"}),
        s.vertex(s.TASK_RUN, f"{ns}new", {"n": 2, "big": 2**62, "neg": -7, "f": 0.1}),
        s.vertex(s.TASK_RUN, f"{ns}new", {"n": 99}, {"status": "cached"}),
        s.edge(f"{ns}new", s.PART_OF, f"{ns}old"),
        s.edge(f"{ns}old", s.USED, f"{ns}new", "q", {"port": TEXT, "cached": True}),
        s.edge(f"{ns}old", s.USED, f"{ns}art"),  # both ends existed before this batch
        s.edge(f"{ns}t0", s.PART_OF, f"{ns}old"),  # exists already
        s.edge(f"{ns}old", s.USED, f"{ns}art"),
        s.vertex(s.ARTIFACT, f"{ns}art", {"n": 5}),
    ]
    return first, second


def _snapshot(conn: Any) -> tuple[list[Any], list[Any]]:
    g = traversal().with_(conn)
    vertices = g.V().project("id", "label", "props").by(T.id).by(T.label).by(__.value_map())
    edges = g.E().project("id", "label", "props").by(T.id).by(T.label).by(__.value_map())
    vertices, edges = vertices.to_list(), edges.to_list()

    def typed(props: dict[str, Any]) -> dict[str, Any]:
        flat = {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in props.items()}
        return {k: (type(v).__name__, v) for k, v in sorted(flat.items())}

    return (
        sorted((v["id"], v["label"], typed(v["props"])) for v in vertices),
        sorted((e["id"], e["label"], typed(e["props"])) for e in edges),
    )


def test_fast_path_equals_the_traversal_and_is_idempotent(tmp_path: Path) -> None:
    ns = "b:"
    first, second = _ops(ns)
    fast = open_lineage(tmp_path / "fast", {"backend": "embedded"})
    script = open_lineage(tmp_path / "script", {"backend": "embedded"})
    try:
        for ops in (first, second, second):  # the replay duplicates nothing
            write_ops(fast.connection(), ops, 100)
            s.batch_traversal(traversal().with_(script.connection()), ops).iterate()
        got = _snapshot(fast.connection())
        assert got == _snapshot(script.connection())
        vertices = {uid: props for uid, _, props in got[0]}
        assert vertices[f"{ns}old"]["status"] == ("str", "succeeded")
        assert vertices[f"{ns}old"]["run_id"] == ("str", "old")
        assert vertices[f"{ns}new"]["n"] == ("int", 2)
        assert vertices[f"{ns}new"]["status"] == ("str", "cached")
        assert vertices[f"{ns}new"]["big"] == ("int", 2**62)
        assert vertices[f"{ns}art"]["f"] == ("float", 3.0)
        assert vertices[f"{ns}art"]["flag"] == ("bool", False)
        assert vertices[f"{ns}art"]["text"] == ("str", TEXT)
        assert len(got[1]) == 4
        used_q = next(props for uid, _, props in got[1] if uid.endswith("|q"))
        assert used_q == {"cached": ("bool", True), "port": ("str", TEXT)}
    finally:
        fast.close()
        script.close()


def test_non_finite_floats_are_left_out_or_refused() -> None:
    op = s.vertex(s.RUN, "run:x", {"a": math.inf, "b": math.nan, "c": 1.5, "d": -math.inf})
    assert op.create == {"c": 1.5}
    with pytest.raises(ValueError, match="property 'a' is inf"):
        s.op_from_json({"v": s.RUN, "id": "run:x", "c": {"a": math.inf}})
    with pytest.raises(ValueError, match="property 'a' has a value of type NoneType"):
        s.op_from_json({"e": s.USED, "id": "x", "o": "a", "i": "b", "p": {"a": None}})


@pytest.mark.parametrize(
    "value",
    [
        [{"v": "Run", "id": "run:1", "c": {"big": 2**70}}],  # beyond orjson's 64 bits
        [{"v": "Run", "id": "run:1", "c": {"text": TEXT, "f": 1e300, "i": -(2**63)}}],
    ],
)
def test_outbox_json_round_trips_exactly(value: list[dict[str, Any]]) -> None:
    line = fastjson.dumps(value)
    assert b"\n" not in line
    assert fastjson.loads(line) == value
    # Without orjson the standard library writes text that reads back the same.
    assert fastjson.loads(fastjson._std_dumps(value)) == value
