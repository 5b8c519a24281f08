"""The model's editing rules (connections, auto-layout, the clipboard format) hold without Qt."""

from __future__ import annotations

import json

import pytest

from twinflow_studio.project import Edge, HardwareProfile, Node, Port, Project, TwinFlowError
from twinflow_studio.project.clipboard import (
    ClipboardError,
    copy_nodes,
    nodes_for_paste,
    parse_clipboard,
)
from twinflow_studio.project.connect import (
    ConnectionRefused,
    check_connect,
    check_replacing_connect,
    connection_problem,
)
from twinflow_studio.project.identifiers import unique_id
from twinflow_studio.project.layout import COLUMN_W, ROW_H, auto_layout, layered_positions


def fn(node_id: str, inputs: tuple[Port, ...] = (), out: str = "json") -> Node:
    return Node(
        node_id,
        "python",
        params={"callable": "m:f"},
        inputs=list(inputs),
        outputs=[Port("out", out)],
    )


def chain() -> Project:
    """a -> b -> c, plus d (a file producer) and e (one json input, unfed)."""
    p = Project()
    p.add_node(fn("a"))
    p.add_node(fn("b", (Port("x", "json"),)))
    p.add_node(fn("c", (Port("x", "json"),)))
    p.add_node(fn("d", out="file"))
    p.add_node(fn("e", (Port("x", "json"),)))
    p.connect("a", "out", "b", "x")
    p.connect("b", "out", "c", "x")
    return p


@pytest.mark.parametrize(
    ("edge", "code", "words"),
    [
        (Edge("ghost", "out", "b", "x"), "no_node", "no node 'ghost'"),
        (Edge("b", "out", "b", "x"), "self_loop", "cannot feed itself"),
        (Edge("a", "nope", "e", "x"), "no_port", "has no output 'nope'"),
        (Edge("a", "out", "e", "nope"), "no_port", "has no input 'nope'"),
        (Edge("d", "out", "e", "x"), "type_mismatch", "gives file"),
        (Edge("c", "out", "b", "x"), "cycle", "would make a cycle"),
    ],
)
def test_a_refused_connection_says_which_rule_and_why(edge: Edge, code: str, words: str) -> None:
    project = chain()
    with pytest.raises(ConnectionRefused) as caught:
        check_connect(project, edge)
    assert caught.value.code == code and caught.value.edge == edge
    assert words in str(caught.value)
    assert isinstance(caught.value, TwinFlowError) and isinstance(caught.value, ValueError)
    assert connection_problem(project, edge) == str(caught.value)


def test_a_cycle_names_the_path_it_would_close() -> None:
    reason = connection_problem(chain(), Edge("c", "out", "a", "x"))
    assert reason is not None  # a has no input x: the port rule comes first
    p = chain()
    p.nodes["a"].inputs.append(Port("x", "json"))
    assert connection_problem(p, Edge("c", "out", "a", "x")) == (
        "would make a cycle: a → b → c → a"
    )


def test_an_input_takes_one_edge_and_a_new_one_replaces_it() -> None:
    p = chain()
    assert connection_problem(p, Edge("e", "out", "c", "x")) is None
    assert check_replacing_connect(p, Edge("e", "out", "c", "x")) == [Edge("b", "out", "c", "x")]
    # Already there: nothing to do, nothing refused.
    assert check_replacing_connect(p, Edge("b", "out", "c", "x")) == [Edge("b", "out", "c", "x")]
    # The edge it would replace does not excuse a cycle through the others.
    p.connect("c", "out", "e", "x")
    with pytest.raises(ConnectionRefused, match="cycle"):
        check_replacing_connect(p, Edge("e", "out", "b", "x"))


def test_layout_puts_a_node_one_column_right_of_its_deepest_parent() -> None:
    p = chain()
    p.connect("a", "out", "e", "x")
    pos = layered_positions(p)
    assert pos["a"] == (0.0, 0.0) and pos["b"][0] == COLUMN_W and pos["c"][0] == 2 * COLUMN_W
    assert pos["e"][0] == COLUMN_W and {pos["b"][1], pos["e"][1]} == {0.0, ROW_H}
    assert pos["d"][0] == 0.0 and pos["d"] != pos["a"]


def test_layout_of_a_selection_keeps_its_top_left_corner() -> None:
    p = chain()
    p.layout["nodes"] = {"b": {"x": 500, "y": 700}, "c": {"x": 900, "y": 650}}
    assert auto_layout(p, {"b", "c"}) == {"b": (500.0, 650.0), "c": (500.0 + COLUMN_W, 650.0)}
    assert set(auto_layout(p)) == set(p.nodes)


def test_copy_and_paste_renames_clashing_ids_and_keeps_the_inner_edges() -> None:
    p = chain()
    p.profiles["gpu"] = HardwareProfile("gpu", vcpus=2, memory_mib=4096, gpus=1)
    p.nodes["b"].profile = "gpu"
    p.layout["nodes"] = {"a": {"x": 10, "y": 20}, "b": {"x": 300, "y": 20}}
    text = copy_nodes(p, ["a", "b"])
    target = chain()
    pasted = nodes_for_paste(target, parse_clipboard(text), (40.0, 40.0))
    assert sorted(n.id for n in pasted.nodes) == ["a_2", "b_2"]
    assert pasted.edges == [Edge("a_2", "out", "b_2", "x")]
    assert pasted.positions == {"a_2": (50.0, 60.0), "b_2": (340.0, 60.0)}
    assert set(pasted.profiles) == {"gpu"}  # the target lacks it, so it travels


@pytest.mark.parametrize("text", ["", "not json", "[]", json.dumps({"format": "other"})])
def test_text_that_is_not_our_clipboard_is_a_typed_error(text: str) -> None:
    with pytest.raises(ClipboardError, match="<clipboard>: holds no TwinFlow nodes"):
        parse_clipboard(text)


def test_clipboard_nodes_are_read_like_a_file() -> None:
    data = parse_clipboard(copy_nodes(chain(), ["a"]))
    data["nodes"][0]["id"] = "../etc"
    with pytest.raises(ClipboardError) as caught:
        nodes_for_paste(Project(), data)
    assert str(caught.value).startswith("<clipboard>: ") and "../etc" in str(caught.value)


def test_unique_ids_stay_identifiers() -> None:
    assert unique_id("a", {"a", "a_2"}) == "a_3"
    assert unique_id("bad id", set()) == "node"
    assert unique_id("x" * 64, {"x" * 64}) == "x" * 56 + "_2"
