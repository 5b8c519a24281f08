"""Switch and merge: the branch not taken ends skipped_branch, the run succeeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import py, run, value

from twinflow_studio.engine import NodeStateChanged
from twinflow_studio.project import Node, Port, Project


def fn(node_id: str, name: str, inputs: list[str], *, optional: bool = False) -> Node:
    return Node(
        node_id,
        "python",
        params={"callable": "branch_nodes:label", "kwargs": {"name": name}},
        inputs=[Port(i, "json", required=not optional) for i in inputs],
        outputs=[Port("out", "json")],
        target="local",
    )


def drift_graph(drift: float, **switch_params: Any) -> Project:
    """source -> switch -> (recal -> recal_report | predict) -> merge -> final."""
    p = Project("drift")
    p.add_node(py("source", "const", value={"drift": drift}))
    params = switch_params or {
        "cases": [{"output": "recal", "field": "drift", "op": ">", "value": 0.2}],
        "default": "predict",
    }
    p.add_node(
        Node(
            "check",
            "switch",
            params=params,
            outputs=[Port("recal", "json", required=False), Port("predict", "json", False)],
            target="local",
        )
    )
    p.add_node(fn("recal", "recal", ["x"]))
    p.add_node(fn("recal_report", "report", ["x"]))
    p.add_node(fn("predict", "predict", ["x"]))
    p.add_node(
        Node(
            "join",
            "merge",
            inputs=[Port("a", "json", required=False), Port("b", "json", required=False)],
        )
    )
    p.add_node(py("final", "add", inputs=[("a", "json")], b=""))
    p.connect("source", "out", "check", "value")
    p.connect("check", "recal", "recal", "x")
    p.connect("recal", "out", "recal_report", "x")
    p.connect("check", "predict", "predict", "x")
    p.connect("recal_report", "out", "join", "a")
    p.connect("predict", "out", "join", "b")
    p.connect("join", "out", "final", "a")
    return p


@pytest.mark.parametrize(
    ("drift", "taken", "not_taken", "expected"),
    [
        (0.5, {"recal", "recal_report"}, {"predict"}, "report:recal:0.5"),
        (0.1, {"predict"}, {"recal", "recal_report"}, "predict:0.1"),
    ],
)
def test_each_branch_taken(
    tmp_path: Path, drift: float, taken: set[str], not_taken: set[str], expected: str
) -> None:
    events: list = []
    result = run(drift_graph(drift), tmp_path, events)
    assert result.ok, result.summary
    assert value(result, "final") == expected
    states = {n: o.state for n, o in result.nodes.items()}
    assert {n for n in taken | not_taken if states[n] == "succeeded"} == taken
    assert {n for n, s in states.items() if s == "skipped_branch"} == not_taken
    assert result.summary["counts"]["skipped_branch"] == len(not_taken)
    run_json = json.loads((result.run_dir / "run.json").read_text())
    assert run_json["status"] == "succeeded"
    skipped = [
        e
        for e in events
        if isinstance(e, NodeStateChanged) and e.state == "skipped_branch" and e.record
    ]
    assert {e.node_id for e in skipped} == not_taken
    assert all(e.record.status == "skipped_branch" for e in skipped)


def test_a_python_predicate_chooses_and_a_cached_switch_keeps_its_choice(tmp_path: Path) -> None:
    project = drift_graph(0.7, callable="branch_nodes:pick")
    first = run(project, tmp_path)
    assert first.ok and value(first, "final") == "report:recal:0.7"
    second = run(project, tmp_path)
    assert second.nodes["check"].state == "cached"
    assert second.nodes["predict"].state == "skipped_branch"
    assert value(second, "final") == "report:recal:0.7"


def test_a_switch_choosing_an_undeclared_output_fails_naming_it(tmp_path: Path) -> None:
    project = drift_graph(0.7, cases=[], default="elsewhere")
    result = run(project, tmp_path)
    assert result.status == "failed"
    assert "chose 'elsewhere', which is not one of its outputs recal, predict" in str(
        result.nodes["check"].error
    )
    assert result.nodes["final"].state == "skipped"


def test_a_missing_field_fails_the_switch_naming_the_field(tmp_path: Path) -> None:
    cases = [{"output": "recal", "field": "model.drift", "op": ">", "value": 0.2}]
    result = run(drift_graph(0.7, cases=cases, default="predict"), tmp_path)
    assert result.nodes["check"].state == "failed"
    assert "no field 'model.drift'" in str(result.nodes["check"].error)
