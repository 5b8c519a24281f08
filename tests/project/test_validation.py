"""Validation lists every problem at once, with node ids and field paths."""

from __future__ import annotations

from twinflow_studio.project import (
    HardwareProfile,
    Node,
    Port,
    Project,
    TargetConfig,
    ensure_valid,
    validate,
)
from twinflow_studio.project.errors import ValidationError


def fn(node_id: str, inputs: list[Port] = (), outputs: list[Port] = (), **params: object) -> Node:
    return Node(
        node_id,
        "python",
        params={"callable": "m:f", **params},
        inputs=list(inputs),
        outputs=list(outputs) or [Port("out", "json")],
    )


def codes(project: Project) -> dict[tuple[str | None, str], str]:
    return {(p.node_id, p.code): p.path for p in validate(project)}


def test_a_valid_project_has_no_problems() -> None:
    p = Project()
    p.add_node(fn("a"))
    p.add_node(fn("b", inputs=[Port("x", "json")]))
    p.connect("a", "out", "b", "x")
    assert validate(p) == []
    ensure_valid(p)


def test_every_problem_is_listed_at_once() -> None:
    p = Project()
    p.add_node(fn("a", inputs=[Port("x", "json")]))
    p.add_node(fn("b", inputs=[Port("x", "json")]))
    p.connect("a", "out", "b", "x")
    p.connect("b", "out", "a", "x")  # cycle
    p.add_node(fn("file_in", inputs=[Port("f", "file")]))
    p.connect("a", "out", "file_in", "f")  # json -> file: type mismatch
    p.add_node(fn("needs", inputs=[Port("req", "json")]))  # required input unconnected
    p.connect("ghost", "out", "needs", "other")  # dangling: no node, no port
    p.add_node(Node("k", "no-such-kind"))
    p.add_node(fn("prof", profile="huge"))
    p.nodes["prof"].profile = "huge"
    p.add_node(fn("tgt"))
    p.nodes["tgt"].target = "mars"
    p.add_node(
        Node(
            "typed",
            "python",
            params={"callable": 42, "kwargs": [], "bogus": 1},
            outputs=[Port("o", "jsonish")],
        )
    )
    p.add_node(Node("noimg", "container", params={}))
    found = codes(p)
    assert found[("a", "cycle")] == "nodes.a"
    assert found[("b", "cycle")] == "nodes.b"
    assert found[("file_in", "type_mismatch")] == "edges[2]"
    assert found[("needs", "missing_input")] == "nodes.needs.inputs.req"
    assert found[("needs", "dangling_edge")] == "edges[3].source"
    assert found[("k", "unknown_kind")] == "nodes.k.kind"
    assert found[("prof", "unknown_profile")] == "nodes.prof.profile"
    assert found[("tgt", "unknown_target")] == "nodes.tgt.target"
    assert found[("typed", "bad_param")].startswith("nodes.typed.params.")
    assert found[("typed", "bad_port_type")] == "nodes.typed.outputs[0].type"
    assert found[("noimg", "missing_param")] == "nodes.noimg.params.image"
    messages = [str(p) for p in validate(p)]
    assert any("a.out (json) cannot feed file_in.f (file)" in m for m in messages)
    assert any("nodes.typed.params.callable: expected str, found int 42" in m for m in messages)
    assert any("unknown parameter 'bogus'" in m for m in messages)
    try:
        ensure_valid(p)
    except ValidationError as exc:
        assert len(exc.problems) == len(validate(p)) >= 12
    else:
        raise AssertionError("expected a ValidationError")


def test_a_profile_no_target_can_satisfy() -> None:
    p = Project()
    p.profiles["gpu"] = HardwareProfile("gpu", vcpus=4, memory_mib=16000, gpus=1)
    p.add_node(Node("train", "container", params={"image": "x"}, profile="gpu"))
    [problem] = validate(p)
    assert problem.code == "no_target" and problem.node_id == "train"
    assert "fits no target" in problem.message and "'docker' offers 2 vCPU" in problem.message
    p.targets["cloud"] = TargetConfig("cloud", "batch", vcpus=256, memory_mib=1 << 20, gpus=8)
    assert validate(p) == []


def test_explicit_target_must_run_the_kind_and_fit() -> None:
    p = Project()
    p.add_node(Node("c", "container", params={"image": "x"}, target="local"))
    [problem] = validate(p)
    assert "target 'local' is inprocess; a container node runs on docker or batch" in str(problem)


def test_two_edges_into_one_input() -> None:
    p = Project()
    p.add_node(fn("a"))
    p.add_node(fn("b"))
    p.add_node(fn("c", inputs=[Port("x", "json")]))
    p.connect("a", "out", "c", "x")
    p.connect("b", "out", "c", "x")
    assert codes(p)[("c", "multiple_inputs")] == "nodes.c.inputs.x"


def test_optional_inputs_may_stay_unconnected_and_file_feeds_dataframe() -> None:
    p = Project()
    p.add_node(Node("src", "datasource", params={"path": "d.csv"}))
    p.add_node(fn("m", inputs=[Port("table", "dataframe"), Port("prior", "posterior", False)]))
    p.connect("src", "data", "m", "table")
    assert validate(p) == []


def test_retries_timeout_map_and_triggers_are_checked() -> None:
    p = Project()
    node = fn("a", inputs=[Port("x", "json", False)])
    node.retries.count = -1
    node.timeout_s = 0
    node.map_over = "nope"
    p.add_node(node)
    p.triggers = [{"id": "t", "kind": "sometimes"}, {"id": "t", "kind": "manual", "nodes": ["zz"]}]
    paths = {str(problem) for problem in validate(p)}
    assert "nodes.a.retries.count: must not be negative" in paths
    assert "nodes.a.timeout_s: must be greater than 0" in paths
    assert "nodes.a.map_over: names no input port ('nope')" in paths
    assert any(s.startswith("triggers[0].kind: must be one of") for s in paths)
    assert "triggers[1].id: duplicate trigger id 't'" in paths
    assert "triggers[1].nodes: no node 'zz'" in paths


def test_container_nodes_take_their_own_parameters() -> None:
    p = Project()
    p.add_node(Node("c", "container", params={"image": "x", "alert_above": 70, "bad key": 1}))
    [problem] = validate(p)
    assert problem.path == "nodes.c.params.bad key"
