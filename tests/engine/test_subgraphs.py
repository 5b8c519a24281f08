"""Subgraph nodes flattened into the run: instances, nesting, referenced parts, recursion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import py, run, value

from twinflow_studio.engine import NodeStateChanged
from twinflow_studio.project import Node, Port, Project, twinfile
from twinflow_studio.project.errors import ValidationError
from twinflow_studio.project.subgraphs import file_pin, flatten


def scale_body(b: float = 1.0) -> dict[str, Any]:
    """A body ``y = x + b`` as a project document with an interface."""
    body = Project("scale")
    body.add_node(py("scale", "add", inputs=[("a", "json")], b=b))
    doc = twinfile.to_document(body)
    doc["interface"] = {
        "inputs": [{"name": "x", "type": "json", "node": "scale", "port": "a"}],
        "outputs": [{"name": "y", "type": "json", "node": "scale", "port": "out"}],
    }
    return doc


def sub(node_id: str, **params: Any) -> Node:
    return Node(
        node_id,
        "subgraph",
        params=params,
        inputs=[Port("x", "json")],
        outputs=[Port("y", "json", required=False)],
    )


def test_a_subgraph_used_twice_with_different_params(tmp_path: Path) -> None:
    p = Project("twice")
    p.add_node(py("src", "const", value=2))
    p.add_node(sub("s1", body=scale_body(), overrides={"scale": {"kwargs": {"b": 10}}}))
    p.add_node(sub("s2", body=scale_body(), overrides={"scale": {"kwargs": {"b": 100}}}))
    p.add_node(py("total", "add", inputs=[("a", "json"), ("b", "json")]))
    p.connect("src", "out", "s1", "x")
    p.connect("src", "out", "s2", "x")
    p.connect("s1", "y", "total", "a")
    p.connect("s2", "y", "total", "b")
    result = run(p, tmp_path)
    assert result.ok, result.summary["failed"]
    assert value(result, "s1--scale") == 12
    assert value(result, "s2--scale") == 102
    assert value(result, "total") == 114
    assert set(result.nodes) == {"src", "s1--scale", "s2--scale", "total"}


def test_nested_subgraphs_and_the_lineage_record_names_the_path(tmp_path: Path) -> None:
    mid = Project("mid")
    mid.add_node(sub("inner", body=scale_body(5)))
    mid.add_node(py("double", "add", inputs=[("a", "json"), ("b", "json")]))
    mid.connect("inner", "y", "double", "a")
    mid.connect("inner", "y", "double", "b")
    mid_doc = twinfile.to_document(mid)
    mid_doc["interface"] = {
        "inputs": [{"name": "x", "type": "json", "node": "inner", "port": "x"}],
        "outputs": [{"name": "y", "type": "json", "node": "double", "port": "out"}],
    }
    p = Project("nested")
    p.add_node(py("src", "const", value=1))
    p.add_node(sub("outer", body=mid_doc))
    p.add_node(py("last", "add", inputs=[("a", "json")], b=0))
    p.connect("src", "out", "outer", "x")
    p.connect("outer", "y", "last", "a")
    events: list = []
    result = run(p, tmp_path, events)
    assert result.ok, result.summary["failed"]
    assert value(result, "outer--inner--scale") == 6
    assert value(result, "last") == 12
    records = {
        e.node_id: e.record
        for e in events
        if isinstance(e, NodeStateChanged) and e.record is not None
    }
    assert records["outer--inner--scale"].subgraph_path == "outer/inner/scale"
    assert records["outer--double"].subgraph_path == "outer/double"
    assert records["last"].subgraph_path is None


def write_part(folder: Path, name: str, doc: dict[str, Any]) -> str:
    path = folder / "parts" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc))
    return file_pin(path.read_bytes())


def two_step_part(k: float) -> dict[str, Any]:
    """``y = x + k - k``: an edit of ``k`` changes the inner nodes, never the output."""
    body = Project("plus-minus")
    body.add_node(py("up", "add", inputs=[("a", "json")], b=k))
    body.add_node(py("down", "add", inputs=[("a", "json")], b=-k))
    body.connect("up", "out", "down", "a")
    doc = twinfile.to_document(body)
    doc["interface"] = {
        "inputs": [{"name": "x", "type": "json", "node": "up", "port": "a"}],
        "outputs": [{"name": "y", "type": "json", "node": "down", "port": "out"}],
    }
    return doc


def test_an_edited_part_is_reported_then_invalidates_exactly_its_nodes(tmp_path: Path) -> None:
    pin = write_part(tmp_path, "pm.twin", two_step_part(3))
    p = Project("ref")
    p.add_node(py("src", "const", value=4))
    p.add_node(sub("part", ref="parts/pm.twin", pin=pin))
    p.add_node(py("after", "add", inputs=[("a", "json")], b=1))
    p.connect("src", "out", "part", "x")
    p.connect("part", "y", "after", "a")
    first = run(p, tmp_path)
    assert first.ok and value(first, "after") == 5

    new_pin = write_part(tmp_path, "pm.twin", two_step_part(7))
    with pytest.raises(ValidationError) as caught:
        run(p, tmp_path)
    problem = caught.value.problems[0]
    assert problem.code == "part_changed" and "part changed, update pin" in problem.message
    assert problem.path == "nodes.part.params.pin" and new_pin in problem.message

    p.nodes["part"].params["pin"] = new_pin
    second = run(p, tmp_path)
    assert second.ok and value(second, "after") == 5
    states = {n: o.state for n, o in second.nodes.items()}
    assert states == {
        "src": "cached",
        "part--up": "succeeded",
        "part--down": "succeeded",
        "after": "cached",
    }


def test_a_recursive_reference_is_refused_with_the_chain(tmp_path: Path) -> None:
    def referring(target: str, pin: str) -> dict[str, Any]:
        body = Project("loop")
        body.add_node(sub("again", ref=target, pin=pin))
        doc = twinfile.to_document(body)
        doc["interface"] = {
            "inputs": [{"name": "x", "type": "json", "node": "again", "port": "x"}],
            "outputs": [],
        }
        return doc

    b_pin = write_part(tmp_path, "b.twin", referring("parts/a.twin", "sha256:unknown"))
    a_pin = write_part(tmp_path, "a.twin", referring("parts/b.twin", b_pin))
    p = Project("recursive")
    p.add_node(sub("top", ref="parts/a.twin", pin=a_pin))
    with pytest.raises(ValidationError) as caught:
        flatten(p, tmp_path)
    messages = [problem.message for problem in caught.value.problems]
    assert messages == ["recursive reference: parts/a.twin -> parts/b.twin -> parts/a.twin"], (
        messages
    )


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("/etc/passwd", "must be a relative path inside the project folder"),
        ("../outside.twin", "must not leave the project folder"),
        ("parts/missing.twin", "no such file"),
        ("parts", "is a folder"),
        ("link.twin", "leads out of the project folder"),
    ],
)
def test_a_part_reference_must_stay_inside_the_project(
    tmp_path: Path, ref: str, expected: str
) -> None:
    (tmp_path / "parts").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.twin"
    outside.write_text(json.dumps(scale_body()))
    (tmp_path / "link.twin").symlink_to(outside)
    p = Project("escape")
    p.add_node(sub("s", ref=ref, pin="sha256:0"))
    with pytest.raises(ValidationError) as caught:
        flatten(p, tmp_path)
    assert expected in str(caught.value)
    assert caught.value.problems[0].node_id == "s"


def test_an_edge_to_a_port_the_interface_lacks_is_named(tmp_path: Path) -> None:
    p = Project("bad-port")
    p.add_node(py("src", "const", value=1))
    p.add_node(sub("s", body=scale_body()))
    p.connect("src", "out", "s", "nope")
    with pytest.raises(ValidationError, match="subgraph 's' has no input 'nope'"):
        flatten(p, tmp_path)


def test_only_a_subgraph_runs_its_inner_nodes_and_what_they_need(tmp_path: Path) -> None:
    p = Project("only")
    p.add_node(py("src", "const", value=2))
    p.add_node(sub("s1", body=scale_body(1)))
    p.add_node(sub("s2", body=scale_body(2)))
    p.connect("src", "out", "s1", "x")
    p.connect("src", "out", "s2", "x")
    result = run(p, tmp_path, only=["s1"])
    assert result.ok and set(result.nodes) == {"src", "s1--scale"}
    with pytest.raises(ValueError, match="no such node"):
        run(p, tmp_path, only=["nope"])


def test_preflight_names_a_changed_part(tmp_path: Path) -> None:
    from twinflow_studio.engine.preflight import preflight

    pin = write_part(tmp_path, "pm.twin", two_step_part(1))
    p = Project("pre")
    p.add_node(sub("part", ref="parts/pm.twin", pin=pin))
    assert preflight(p, tmp_path, check_images=False) == []
    write_part(tmp_path, "pm.twin", two_step_part(2))
    (problem,) = preflight(p, tmp_path, check_images=False)
    assert problem.code == "part_changed" and problem.node_id == "part"


def test_parts_multiplying_parts_are_refused_before_they_explode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part k holds ten instances of part k-1: small files, 10**k nodes. Refused once the
    flattening has made more than the cap (lowered here, to keep the test quick)."""
    from twinflow_studio.project import subgraphs

    monkeypatch.setattr(subgraphs, "MAX_FLAT_NODES", 5000)
    pin = write_part(tmp_path, "l0.twin", scale_body())
    for level in range(1, 6):
        layer = Project(f"l{level}")
        for i in range(10):
            layer.add_node(sub(f"s{i}", ref=f"parts/l{level - 1}.twin", pin=pin))
        doc = twinfile.to_document(layer)
        doc["interface"] = {"inputs": [], "outputs": []}
        pin = write_part(tmp_path, f"l{level}.twin", doc)
    p = Project("bomb")
    p.add_node(sub("top", ref="parts/l5.twin", pin=pin))
    with pytest.raises(ValidationError, match="expand to more than 5000 nodes"):
        flatten(p, tmp_path)
