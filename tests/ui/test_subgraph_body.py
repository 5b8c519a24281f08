"""Editing a subgraph's body on the canvas: the studio's own tools inside the body, undo on
the project's stack, the breadcrumb, nested bodies, a referenced part (read-only until
"Make local copy"), save and reload; the "update available" marker in both themes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QToolButton
from test_composition import drop_part, py, write_part

from twinflow_studio.project import Edge, load
from twinflow_studio.project.subgraphs import flatten
from twinflow_studio.ui.body_document import BodyDocument


def subgraph_of_b_and_c(window) -> str:
    """a -> [b -> c] with b and c made into a subgraph; its id."""
    window.doc.add_nodes(
        [py("a"), py("b", ("x",)), py("c", ("x",))],
        [Edge("a", "out", "b", "x"), Edge("b", "out", "c", "x")],
        {"a": (0.0, 0.0), "b": (200.0, 0.0), "c": (400.0, 0.0)},
    )
    window.canvas.select(["b", "c"])
    return window.composition.make_subgraph()


def inner(window, sub_id: str) -> list[str]:
    """The node ids of the body as the project (the root document) holds it."""
    flat = flatten(window.doc.project, Path("."))
    return sorted(n.split("--", 1)[1] for n in flat.nodes if n.startswith(f"{sub_id}--"))


def crumbs(window) -> list[str]:
    return window.canvas_area.crumb_texts()


def test_edit_a_body_with_the_canvas_tools_and_undo_it(window, qtbot, tmp_path: Path) -> None:
    sub = subgraph_of_b_and_c(window)
    steps = window.doc.undo.count()
    window.canvas.nodeActivated.emit(sub)  # a double-click on the node
    body = window.edit_doc
    assert isinstance(body, BodyDocument) and body.node_path == (sub,)
    assert window.edit_canvas is not window.canvas and window.edit_canvas.isVisible()
    assert window.canvas_area.bar.isVisible() and crumbs(window) == ["untitled", sub]
    assert window.docks["properties"].widget() is not window.properties

    # Add (the palette's command), connect (a drag between ports), properties, delete.
    added = window.add_node("python", QPointF(0.0, 300.0))
    assert added == "python" and window.edit_canvas.node_view("python") is not None
    assert inner(window, sub) == ["b", "c", "python"]
    assert window.doc.undo.undoText().startswith("Add ")
    assert window.doc.undo.undoText().endswith(f" in {sub}")
    assert window.edit_canvas.request_connection(Edge("python", "out", "c", "x")) is None
    body_edges = window.doc.project.nodes[sub].params["body"]["edges"]
    assert {"source": "python", "source_port": "out", "target": "c", "target_port": "x"} in [
        {k: e[k] for k in ("source", "source_port", "target", "target_port")} for e in body_edges
    ]
    window.edit_canvas.select(["c"])
    panel = window.docks["properties"].widget()
    assert panel.node_id == "c"
    name = panel.editors["name"]
    window.activateWindow()
    name.setFocus()
    qtbot.keyClicks(name, "scale")  # typing: one step, and the field keeps the focus
    assert QApplication.focusWidget() is name
    assert window.doc.project.nodes[sub].params["body"]["nodes"][1]["name"] == "scale"
    assert window.doc.undo.count() == steps + 3
    window.edit_canvas.select(["b"])
    # b.x is fed from outside, through the interface: not a missing input.
    assert panel.node_id == "b" and "not connected" not in panel.problems.text()
    window.delete_selection()
    # b fed the subgraph's only input: the port goes, with the edge from a.
    assert inner(window, sub) == ["c", "python"]
    assert window.doc.project.nodes[sub].inputs == []
    assert not [e for e in window.doc.project.edges if e.target == sub]
    assert window.windowTitle().startswith("untitled (unsaved)*")

    # Undo, on the project's stack, while the body is shown: each step shows there.
    window.doc.undo_step()
    assert inner(window, sub) == ["b", "c", "python"] and body.project.nodes["b"]
    assert window.edit_canvas.node_view("b") is not None
    assert [e.source for e in window.doc.project.edges if e.target == sub] == ["a"]
    window.doc.undo_step()
    assert body.project.nodes["c"].name == ""
    window.doc.undo_step()
    window.doc.undo_step()
    assert inner(window, sub) == ["b", "c"] and window.edit_canvas.node_view("python") is None
    window.doc.redo_step()
    assert inner(window, sub) == ["b", "c", "python"]
    assert window.edit_canvas.node_view("python") is not None

    # A move in the body is kept in the project's layout, not in what it means.
    version = window.doc.project.version()
    body.move_nodes({"python": (40.0, 500.0)})
    assert window.doc.project.version() == version
    assert window.doc.project.layout["bodies"][sub]["nodes"]["python"] == {"x": 40.0, "y": 500.0}

    # Save, reload: the edited body and its layout come back.
    path = tmp_path / "edited.twin"
    window.doc.save(path)
    reloaded = load(path)
    assert sorted(flatten(reloaded, tmp_path).nodes) == [
        "a",
        f"{sub}--b",
        f"{sub}--c",
        f"{sub}--python",
    ]
    window.canvas_area.findChild(QToolButton, "crumb0").click()
    assert window.edit_doc is window.doc and not window.canvas_area.bar.isVisible()
    assert window.docks["properties"].widget() is window.properties
    window.open_path(path, ask=False)
    body = window.composition.open_body(sub)
    assert sorted(body.project.nodes) == ["b", "c", "python"]
    assert body.position("python") == (40.0, 500.0)


def test_breadcrumb_through_nested_bodies(window) -> None:
    sub = subgraph_of_b_and_c(window)
    window.composition.open_body(sub)
    window.edit_canvas.select(["c"])
    nested = window.composition.make_subgraph()  # inside the body: a subgraph in a subgraph
    assert sorted(window.edit_doc.project.nodes) == ["b", nested]
    window.edit_canvas.nodeActivated.emit(nested)
    assert crumbs(window) == ["untitled", sub, nested]
    assert window.edit_doc.node_path == (sub, nested)
    window.add_node("python", QPointF(0.0, 200.0))
    flat = flatten(window.doc.project, Path("."))
    assert f"{sub}--{nested}--python" in flat.nodes and f"{sub}--{nested}--c" in flat.nodes

    # A run's states show on the inner nodes of the open body.
    window.runs.states.emit({f"{sub}--{nested}--python": ("succeeded", "succeeded 0.1s")})
    assert window.edit_canvas._states == {"python": ("succeeded", "succeeded 0.1s")}

    window.canvas_area.findChild(QToolButton, "crumb1").click()  # up one level
    assert crumbs(window) == ["untitled", sub] and window.edit_doc.node_path == (sub,)
    window.actions_by_name["Leave subgraph body"].trigger()
    assert window.edit_doc is window.doc and not window.canvas_area.bar.isVisible()
    # The nested edit is one step of the project; undone from the top level.
    window.doc.undo_step()
    assert f"{sub}--{nested}--python" not in flatten(window.doc.project, Path(".")).nodes

    # Undo the subgraph away while its body is open: the canvas goes back to its parent.
    window.composition.open_body(sub)
    while window.doc.project.nodes.get(sub) is not None:
        window.doc.undo_step()
    assert window.edit_doc is window.doc and sorted(window.doc.project.nodes) == ["a", "b", "c"]


def test_a_referenced_part_is_read_only_until_made_a_local_copy(
    window, qtbot, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "proj"
    folder.mkdir()
    part_file = folder / "parts" / "scaler.twin"
    write_part(part_file, "scales a value")
    window.doc.save(folder / "main.twin")
    window.composition.refresh()
    node_id = drop_part(window, f"part:{part_file}")
    part_bytes = part_file.read_bytes()

    body = window.composition.open_body(node_id)
    assert body.readonly and "make a local copy" in body.readonly
    assert window.canvas_area.local_copy.isVisible()
    assert window.add_node("python", QPointF(0.0, 200.0)) is None
    assert sorted(body.project.nodes) == ["inner"]
    assert window.status_label.text() == body.readonly
    at = body.position("inner")
    body.move_nodes({"inner": (at[0] + 300.0, at[1])})  # a drag: refused, put back
    qtbot.waitUntil(lambda: window.edit_doc.position("inner") == at)
    assert window.doc.project.layout.get("bodies", {}).get(node_id) is None

    assert window.composition.bodies.make_local_copy()
    node = window.doc.project.nodes[node_id]
    assert "ref" not in node.params and "pin" not in node.params
    assert [p.name for p in node.inputs] == ["x"] and [p.name for p in node.outputs] == ["y"]
    assert not window.canvas_area.local_copy.isVisible() and window.edit_doc.readonly is None
    assert window.add_node("python", QPointF(0.0, 200.0)) == "python"
    assert inner(window, node_id) == ["inner", "python"]
    assert part_file.read_bytes() == part_bytes  # the shared part file is never written
    window.doc.undo_step()
    window.doc.undo_step()
    assert window.doc.project.nodes[node_id].params["ref"] == "parts/scaler.twin"
    assert window.edit_doc.readonly and window.canvas_area.local_copy.isVisible()


def luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def test_the_update_marker_takes_its_colour_from_the_theme(window) -> None:
    from twinflow_studio.ui.themes import theme

    window.doc.add_nodes([py("a")], [], {"a": (0.0, 0.0)})
    window.canvas.set_markers({"a": "update available"})
    for name in ("light", "dark", "light"):
        window.set_theme(name)
        marker = window.canvas.node_view("a")._marker
        colour = marker.brush().color()
        assert colour.getRgb()[:3] == theme(name).marker
        background = QColor(*window.canvas.graph.background_color())
        la, lb = sorted((luminance(colour), luminance(background)), reverse=True)
        assert (la + 0.05) / (lb + 0.05) >= 4.5, f"{name}: marker unreadable on the canvas"
    window.doc.add_nodes([py("b")], [], {"b": (0.0, 200.0)})  # a node drawn after the switch
    window.canvas.set_markers({"b": "update available"})
    assert (
        window.canvas.node_view("b")._marker.brush().color().getRgb()[:3] == theme("light").marker
    )
