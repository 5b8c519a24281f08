"""Composition in the studio: make a subgraph and undo it, parts from the library, the
"update available" marker, the run state of a subgraph instance."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from ui_helpers import chain_project, run_to_end

from twinflow_studio.project import Edge, Node, Port, Project, twinfile
from twinflow_studio.project.subgraphs import file_pin, flatten
from twinflow_studio.ui.canvas_items import STATE_COLORS
from twinflow_studio.ui.subgraph_states import rollup


def py(node_id: str, inputs: tuple[str, ...] = ()) -> Node:
    return Node(
        node_id,
        "python",
        params={"callable": "json:dumps"},
        inputs=[Port(i, "json") for i in inputs],
        outputs=[Port("out", "json")],
    )


def three_nodes(window) -> None:
    doc = window.doc
    doc.add_nodes(
        [py("a"), py("b", ("x",)), py("c", ("x",))],
        [Edge("a", "out", "b", "x"), Edge("b", "out", "c", "x")],
        {"a": (0.0, 0.0), "b": (200.0, 0.0), "c": (400.0, 0.0)},
    )


def snapshot(project: Project) -> tuple:
    return (
        sorted(project.nodes),
        sorted((e.source, e.source_port, e.target, e.target_port) for e in project.edges),
    )


def test_make_subgraph_then_undo_gives_back_the_flat_graph(window, tmp_path: Path) -> None:
    three_nodes(window)
    before = snapshot(window.doc.project)
    window.canvas.select(["b", "c"])
    sub_id = window.composition.make_subgraph()
    project = window.doc.project
    assert sorted(project.nodes) == ["a", sub_id]
    sub = project.nodes[sub_id]
    assert [p.name for p in sub.inputs] == ["b_x"]
    assert [(e.source, e.target, e.target_port) for e in project.edges] == [("a", sub_id, "b_x")]
    # The subgraph's body runs as the nodes it was made of.
    flat = flatten(project, tmp_path)
    assert sorted(flat.nodes) == ["a", f"{sub_id}--b", f"{sub_id}--c"]
    assert window.canvas.node_view(sub_id) is not None
    assert "Make subgraph" in window.doc.undo.undoText()
    window.doc.undo_step()
    assert snapshot(window.doc.project) == before
    assert window.canvas.node_view("b") is not None and window.canvas.node_view(sub_id) is None
    window.doc.redo_step()
    window.canvas.select([sub_id])
    inlined = window.composition.inline()
    assert sorted(inlined) == [f"{sub_id}--b", f"{sub_id}--c"]
    assert snapshot(window.doc.project) == (
        ["a", f"{sub_id}--b", f"{sub_id}--c"],
        [("a", "out", f"{sub_id}--b", "x"), (f"{sub_id}--b", "out", f"{sub_id}--c", "x")],
    )
    window.doc.undo_step()
    assert sorted(window.doc.project.nodes) == ["a", sub_id]
    body = window.composition.open_body(sub_id)
    assert sorted(body.project.nodes) == ["b", "c"]
    assert body.interface["inputs"] == [{"name": "b_x", "type": "json", "node": "b", "port": "x"}]


def write_part(path: Path, description: str) -> str:
    body = Project("Scaler", description=description)
    body.add_node(py("inner", ("x",)))
    doc = twinfile.to_document(body)
    doc["interface"] = {
        "inputs": [{"name": "x", "type": "json", "node": "inner", "port": "x"}],
        "outputs": [{"name": "y", "type": "json", "node": "inner", "port": "out"}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return file_pin(path.read_bytes())


def drop_part(window, key: str) -> str:
    palette = window.palette_panel
    palette.search.setText("parts")
    item = next(
        palette.list.item(i)
        for i in range(palette.list.count())
        if palette.list.item(i).data(Qt.ItemDataRole.UserRole) == key
    )
    mime = palette.list.mimeData([item])  # kept alive: the event does not own it
    viewer = window.canvas.viewer
    before = set(window.doc.project.nodes)
    event = QDropEvent(
        QPointF(viewer.mapFromScene(QPointF(50, 50))),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    viewer.dropEvent(event)
    (added,) = set(window.doc.project.nodes) - before
    return added


def test_parts_from_the_library_and_the_update_marker(window, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "proj"
    folder.mkdir()
    pin = write_part(folder / "parts" / "scaler.twin", "scales a value")
    user_pin = write_part(tmp_path / "data" / "twinflow-studio" / "parts" / "mine.twin", "mine")
    window.doc.save(folder / "main.twin")
    window.composition.refresh()
    palette = window.palette_panel
    palette.search.setText("parts")
    shown = [palette.list.item(i) for i in range(palette.list.count())]
    assert any("Scaler" in item.text() and "Parts" in item.text() for item in shown)
    tips = [item.toolTip() for item in shown]
    assert any(
        "scales a value" in t and "Inputs: x: json" in t and "Outputs: y: json" in t for t in tips
    )

    node_id = drop_part(window, f"part:{folder / 'parts' / 'scaler.twin'}")
    node = window.doc.project.nodes[node_id]
    assert node.kind == "subgraph" and node.params == {"ref": "parts/scaler.twin", "pin": pin}
    assert [p.name for p in node.inputs] == ["x"] and [p.name for p in node.outputs] == ["y"]
    assert window.canvas.node_view(node_id).marker_text() is None

    mine_id = drop_part(
        window, f"part:{tmp_path / 'data' / 'twinflow-studio' / 'parts' / 'mine.twin'}"
    )
    mine = window.doc.project.nodes[mine_id]
    assert mine.params == {"ref": "parts/mine.twin", "pin": user_pin}
    assert (folder / "parts" / "mine.twin").read_bytes() == (
        tmp_path / "data" / "twinflow-studio" / "parts" / "mine.twin"
    ).read_bytes()

    new_pin = write_part(folder / "parts" / "scaler.twin", "scales a value, faster")
    window.composition.refresh()
    assert window.canvas.node_view(node_id).marker_text() == "update available"
    assert window.canvas.node_view(mine_id).marker_text() is None
    window.canvas.select([node_id])
    window.composition.update_pin()
    assert window.doc.project.nodes[node_id].params["pin"] == new_pin
    assert window.canvas.node_view(node_id).marker_text() is None
    window.doc.undo_step()
    assert window.doc.project.nodes[node_id].params["pin"] == pin
    assert window.canvas.node_view(node_id).marker_text() == "update available"


def shown_state(window, node_id: str) -> tuple[str | None, tuple[int, ...]]:
    """The badge text and colour of a node on the project's canvas."""
    view = window.canvas.node_view(node_id)
    badge = view._badge
    text = badge.text() if badge is not None and badge.isVisible() else None
    return text, tuple(view.view.color[:3])


def run_watching(window, qt_loop, node_id: str) -> list[str | None]:
    """Run the project; the badge texts ``node_id`` showed as the run's states arrived."""
    seen: list[str | None] = []
    window.runs.states.connect(lambda _s: seen.append(shown_state(window, node_id)[0]))
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    return seen


def test_a_subgraph_instance_shows_the_state_of_its_nodes(window, qt_loop, tmp_path) -> None:
    assert window.open_path(chain_project(tmp_path / "ok", "sub_state_ok"))
    window.canvas.select(["make", "total"])
    sub = window.composition.make_subgraph()
    assert sorted(window.doc.project.nodes) == [sub]
    seen = run_watching(window, qt_loop, sub)
    assert window.runs.last_summary["status"] == "succeeded"
    assert sorted(window.runs.history) == [f"{sub}--make", f"{sub}--total"]
    assert shown_state(window, sub) == ("succeeded", STATE_COLORS["succeeded"])
    # While it ran, the instance ran (with how many of its nodes were done), never pending.
    assert seen[-1] == "succeeded" and set(seen[:-1]) <= {"running", "running 1/2"}, seen
    # Again: every inner node is a cache hit, and so is the instance.
    run_watching(window, qt_loop, sub)
    assert shown_state(window, sub) == ("cached", STATE_COLORS["cached"])


def test_a_failed_inner_node_fails_the_subgraph_instance(window, qt_loop, tmp_path) -> None:
    assert window.open_path(chain_project(tmp_path / "bad", "sub_state_bad", fail=True))
    window.canvas.select(["make", "boom"])
    sub = window.composition.make_subgraph()
    assert sorted(window.doc.project.nodes) == sorted([sub, "total"])
    run_watching(window, qt_loop, sub)
    assert window.runs.last_summary["status"] == "failed"
    assert window.runs.history[f"{sub}--boom"][-1] == "failed"
    assert shown_state(window, sub) == ("failed", STATE_COLORS["failed"])
    assert shown_state(window, "total")[0] == "succeeded"  # fed by make, through the interface


def test_the_rollup_rule() -> None:
    assert rollup(["succeeded", "running"]) == "running"
    assert rollup(["failed", "retrying"]) == "running"
    assert rollup(["failed", "pending"]) == "failed"
    assert rollup(["cancelled", "succeeded"]) == "cancelled"
    assert rollup(["pending", "pending"]) == "pending"
    assert rollup(["queued", "pending"]) == "queued"
    assert rollup(["succeeded", "pending"]) == "running"  # partway through
    assert rollup(["cached", "cached"]) == "cached"
    assert rollup(["cached", "succeeded", "skipped_branch"]) == "succeeded"
    assert rollup(["skipped_branch", "skipped_branch"]) == "skipped_branch"
    assert rollup(["skipped", "skipped_branch"]) == "skipped"


def test_a_nested_subgraph_instance_in_an_open_body(window, qt_loop, tmp_path) -> None:
    assert window.open_path(chain_project(tmp_path / "nested", "sub_state_nested"))
    window.canvas.select(["make", "total"])
    outer = window.composition.make_subgraph()
    window.canvas.nodeActivated.emit(outer)  # the body is open on the canvas
    window.edit_canvas.select(["make", "total"])
    inner = window.composition.make_subgraph()
    assert sorted(window.edit_doc.project.nodes) == [inner]
    run_watching(window, qt_loop, outer)
    assert sorted(window.runs.history) == [f"{outer}--{inner}--make", f"{outer}--{inner}--total"]
    assert shown_state(window, outer)[0] == "succeeded"
    view = window.edit_canvas.node_view(inner)
    assert view._badge.text() == "succeeded"
    assert tuple(view.view.color[:3]) == STATE_COLORS["succeeded"]
