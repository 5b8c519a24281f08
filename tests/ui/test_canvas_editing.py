"""Building and editing a graph through the real widgets."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from twinflow_studio.project import Edge, Port
from twinflow_studio.ui.canvas_items import STATE_COLORS


def drop_kind(window, kind: str, scene_pos: QPointF) -> str:
    """Drag a kind from the palette and drop it on the canvas viewer."""
    palette = window.palette_panel
    palette.search.setText(kind)
    item = next(
        palette.list.item(i)
        for i in range(palette.list.count())
        if palette.list.item(i).data(Qt.ItemDataRole.UserRole) == kind
    )
    mime = palette.list.mimeData([item])
    viewer = window.canvas.viewer
    before = set(window.doc.project.nodes)
    event = QDropEvent(
        QPointF(viewer.mapFromScene(scene_pos)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    viewer.dropEvent(event)
    (added,) = set(window.doc.project.nodes) - before
    return added


def drag_between_ports(window, qtbot, out_port, in_port) -> None:
    """Press on an output port, move, release on an input port, as a person would."""
    viewer = window.canvas.viewer
    vp = viewer.viewport()
    start = viewer.mapFromScene(out_port.view.sceneBoundingRect().center())
    end = viewer.mapFromScene(in_port.view.sceneBoundingRect().center())
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for f in (0.25, 0.5, 0.75, 1.0):
        p = start + (end - start) * f
        QTest.mouseMove(vp, QPoint(int(p.x()), int(p.y())))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def set_ports(window, node_id, inputs=(), outputs=()):
    def mutate(n):
        n.inputs = [Port(name, t) for name, t in inputs]
        n.outputs = [Port(name, t) for name, t in outputs]

    window.doc.change_node(node_id, "ports", mutate)


def test_build_graph_by_drag_and_connect(window, qtbot):
    src = drop_kind(window, "datasource", QPointF(0, 0))
    model = drop_kind(window, "python", QPointF(400, 0))
    assert window.doc.project.nodes[src].kind == "datasource"
    x, y = window.doc.position(model)  # where it was dropped, to the pixel
    assert abs(x - 400.0) <= 1.5 and abs(y) <= 1.5, (x, y)
    set_ports(window, model, inputs=[("readings", "dataframe")], outputs=[("out", "json")])
    window.canvas.zoom_to_fit()
    qtbot.wait(20)
    out_port = window.canvas.node_view(src).get_output("data")
    in_port = window.canvas.node_view(model).get_input("readings")
    drag_between_ports(window, qtbot, out_port, in_port)
    assert window.doc.project.edges == [Edge(src, "data", model, "readings")]
    # The pipe on screen is the document's edge.
    assert in_port.connected_ports() == [out_port]
    assert window.windowTitle().startswith("chain") or "*" in window.windowTitle()


def test_bad_connection_is_refused_with_a_visible_reason(window):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(300, 0))
    set_ports(window, a, inputs=[("x", "json")], outputs=[("y", "json")])
    set_ports(window, b, inputs=[("table", "dataframe")], outputs=[("z", "json")])
    reason = window.canvas.request_connection(Edge(a, "y", b, "table"))
    assert reason is not None and "type mismatch" in reason
    assert "json" in reason and "dataframe" in reason
    assert window.doc.project.edges == []
    steps = window.doc.undo.count()  # a refusal is not an edit: nothing to undo, not dirty
    assert "Connection refused" in window.status_label.text()
    assert "type mismatch" in window.canvas.viewer.toolTip()
    assert window.canvas.node_view(b).get_input("table").connected_ports() == []
    assert window.canvas.request_connection(Edge(a, "y", b, "table")) is not None
    assert window.doc.undo.count() == steps

    # A cycle is refused and the reason names the loop.
    set_ports(window, b, inputs=[("x", "json")], outputs=[("z", "json")])
    assert window.canvas.request_connection(Edge(a, "y", b, "x")) is None
    reason = window.canvas.request_connection(Edge(b, "z", a, "x"))
    assert reason is not None and "cycle" in reason
    assert window.doc.project.edges == [Edge(a, "y", b, "x")]
    assert window.canvas.node_view(a).get_input("x").connected_ports() == []


def test_edit_a_property_with_validation_as_you_type(window, qtbot):
    node = window.add_node("python", QPointF(0, 0))
    assert window.properties.node_id == node
    kwargs = window.properties.editors["params.kwargs"]
    assert kwargs.text() == "{}"  # the kind's default
    kwargs.clear()
    qtbot.keyClicks(kwargs, '{"n": ')  # not JSON yet
    assert "expected JSON" in window.properties.error_text("params.kwargs")
    assert "kwargs" not in window.doc.project.nodes[node].params  # nothing invalid stored
    qtbot.keyClicks(kwargs, "3}")
    assert window.properties.error_text("params.kwargs") == ""
    assert window.doc.project.nodes[node].params["kwargs"] == {"n": 3}
    kwargs.setText("")
    qtbot.keyClicks(kwargs, "[1, 2]")  # JSON, but a list where a dict is wanted
    assert "expected dict" in window.properties.error_text("params.kwargs")
    assert window.doc.project.nodes[node].params["kwargs"] == {"n": 3}

    callable_edit = window.properties.editors["params.callable"]
    qtbot.keyClicks(callable_edit, "mod:f")
    assert window.doc.project.nodes[node].params["callable"] == "mod:f"
    # Typing merges into one undo step per field.
    window.doc.undo.undo()
    assert "callable" not in window.doc.project.nodes[node].params
    assert window.properties.editors["params.callable"].text() == ""


def test_undo_redo_every_edit(window):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(300, 0))
    set_ports(window, b, inputs=[("x", "json")])
    assert window.canvas.request_connection(Edge(a, "out", b, "x")) is None
    window.doc.move_nodes({a: (50.0, 60.0)})
    window.canvas.select([a])
    window.delete_selection()
    assert a not in window.doc.project.nodes and window.doc.project.edges == []
    steps = window.doc.undo.count()
    for _ in range(steps):
        window.doc.undo.undo()
    assert window.doc.project.nodes == {}
    assert window.canvas.node_view(a) is None
    for _ in range(steps - 1):
        window.doc.undo.redo()
    assert window.doc.position(a) == (50.0, 60.0)
    assert window.doc.project.edges == [Edge(a, "out", b, "x")]
    assert window.canvas.node_view(b).get_input("x").connected_ports()
    window.doc.undo.redo()
    assert a not in window.doc.project.nodes


def test_quick_add_by_typing_and_palette_search(window, qtbot):
    window.palette_panel.search.setText("data source")
    assert window.palette_panel.kinds_shown() == ["datasource", "mqtt"]  # both are sources
    window.show_quick_add()
    qtbot.keyClicks(window.quick_add.edit, "python")
    qtbot.keyClick(window.quick_add.edit, Qt.Key.Key_Return)
    assert [n.kind for n in window.doc.project.nodes.values()] == ["python"]


def test_copy_paste_between_projects(make_window):
    first, second = make_window(), make_window()
    a = first.add_node("python", QPointF(0, 0))
    b = first.add_node("python", QPointF(300, 0))
    set_ports(first, b, inputs=[("x", "json")])
    first.canvas.request_connection(Edge(a, "out", b, "x"))
    first.canvas.select([a, b])
    assert first.copy() is not None
    second.add_node("python", QPointF(0, 0))  # takes the id "python"
    pasted = second.paste()
    assert len(pasted) == 2 and len(second.doc.project.nodes) == 3
    assert len(second.doc.project.edges) == 1
    edge = second.doc.project.edges[0]
    assert {edge.source, edge.target} == set(pasted)
    second.doc.undo.undo()
    assert len(second.doc.project.nodes) == 1


def test_backdrop_zoom_and_auto_layout(window):
    ids = [window.add_node("python", QPointF(0, 0)) for _ in range(3)]
    for prev, nxt in zip(ids, ids[1:], strict=False):
        set_ports(window, nxt, inputs=[("x", "json")], outputs=[("out", "json")])
        assert window.canvas.request_connection(Edge(prev, "out", nxt, "x")) is None
    window.canvas.select(ids)
    window.auto_layout()
    xs = [window.doc.position(n)[0] for n in ids]
    assert xs == sorted(xs) and len(set(xs)) == 3  # left to right by depth
    window.canvas.select(ids)
    group = window.group_selection("Pipeline")
    assert [b["id"] for b in window.doc.backdrops()] == [group]
    assert group in window.canvas._backdrop_views
    window.doc.undo.undo()
    assert window.doc.backdrops() == []
    window.canvas.zoom_to_fit()
    rect = window.canvas.viewer.mapToScene(window.canvas.viewer.viewport().rect()).boundingRect()
    for n in ids:
        assert rect.contains(window.canvas.node_view(n).view.sceneBoundingRect())


def test_resources_editor_validates_and_applies(window):
    editor = window.resources
    editor._add_row(editor.profiles)
    row = editor.profiles.rowCount() - 1
    editor.profiles.item(row, 0).setText("gpu")
    editor.profiles.item(row, 1).setText("four")
    assert editor.apply() is False
    assert "row 2, vcpus" in editor.status.text()
    assert "gpu" not in window.doc.project.profiles
    editor.profiles.item(row, 1).setText("4")
    editor.profiles.item(row, 3).setText("-1")
    assert editor.apply() is False and "must not be negative" in editor.status.text()
    editor.profiles.item(row, 3).setText("1")
    editor.profiles.item(row, 6).setText("0")
    assert editor.apply() is False and "max_output_mib" in editor.status.text()
    editor.profiles.item(row, 6).setText("64")
    assert editor.apply() is True
    assert window.doc.project.profiles["gpu"].vcpus == 4.0
    assert window.doc.project.profiles["gpu"].max_output_mib == 64
    window.doc.undo.undo()
    assert "gpu" not in window.doc.project.profiles


def test_state_colours(window):
    node = window.add_node("python", QPointF(0, 0))
    window.canvas.set_states({node: ("failed", "failed")})
    assert window.canvas.node_view(node).view.color[:3] == STATE_COLORS["failed"]
    window.canvas.clear_states()
    assert window.canvas.node_view(node).view.color[:3] != STATE_COLORS["failed"]


def test_move_by_mouse_and_delete_by_key(window, qtbot):
    node = window.add_node("python", QPointF(0, 0))
    other = window.add_node("python", QPointF(400, 300))
    window.canvas.zoom_to_fit()
    qtbot.wait(20)
    viewer = window.canvas.viewer
    vp = viewer.viewport()
    item = window.canvas.node_view(node).view
    start = viewer.mapFromScene(item.sceneBoundingRect().topLeft() + QPointF(20, 8))
    end = start + QPoint(60, 40)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for f in (0.3, 0.6, 1.0):
        p = start + (end - start) * f
        QTest.mouseMove(vp, QPoint(int(p.x()), int(p.y())))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    x, y = window.doc.position(node)
    assert x > 0 and y > 0  # the document follows the drag
    assert window.doc.undo.undoText().startswith("Move")
    window.doc.undo.undo()
    assert window.doc.position(node) == (0.0, 0.0)
    assert tuple(window.canvas.node_view(node).pos()) == (0.0, 0.0)

    window.canvas.select([other])
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer.setFocus()
    QTest.keyClick(viewer, Qt.Key.Key_Delete)
    assert other not in window.doc.project.nodes
    QTest.keyClick(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert other in window.doc.project.nodes


def test_selection_highlights_pipes_and_raises_the_node(window, qtbot):
    src = window.add_node("python", QPointF(0, 0))
    dst = window.add_node("python", QPointF(400, 0))
    set_ports(window, src, outputs=[("y", "json")])
    set_ports(window, dst, inputs=[("x", "json")])
    window.doc.connect(Edge(src, "y", dst, "x"))
    window.canvas.zoom_to_fit()
    qtbot.wait(20)
    src_item, dst_item = window.canvas.node_view(src).view, window.canvas.node_view(dst).view
    (pipe,) = src_item.outputs[0].connected_pipes
    window.canvas.select([])  # a new node comes selected
    assert not pipe.highlighted()

    viewer = window.canvas.viewer
    vp = viewer.viewport()
    at = viewer.mapFromScene(src_item.sceneBoundingRect().topLeft() + QPointF(20, 8))
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert window.canvas.selected_ids() == [src]
    assert pipe.highlighted()
    assert src_item.zValue() > dst_item.zValue()

    window.canvas.select([dst])  # selecting the other end keeps the pipe lit
    assert pipe.highlighted()
    assert dst_item.zValue() > src_item.zValue()

    empty = viewer.mapFromScene(QPointF(200, 400))
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, empty)
    assert window.canvas.selected_ids() == []
    assert not pipe.highlighted()
    assert src_item.zValue() == dst_item.zValue()


def test_rename_by_double_clicking_the_title(window, qtbot):
    node = window.add_node("python", QPointF(0, 0))
    window.canvas.zoom_to_fit()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = window.canvas.viewer
    vp = viewer.viewport()
    item = window.canvas.node_view(node).view
    title = item.mapToScene(item.text_item.pos() + item.text_item.boundingRect().center())
    at = viewer.mapFromScene(title)
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    editor = window.canvas.viewer.scene().focusItem()
    assert editor is not None and editor.parentItem() is item  # the title is being edited
    QTest.keyClick(viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(viewer, "Cooling fit")
    QTest.keyClick(viewer, Qt.Key.Key_Return)
    assert window.doc.project.nodes[node].label == "Cooling fit"
    assert window.canvas.node_view(node).name() == "Cooling fit"
    assert window.doc.undo.undoText() == "Rename"
    window.doc.undo.undo()
    assert window.canvas.node_view(node).name() == window.doc.project.nodes[node].label
    assert window.canvas.node_view(node).name() != "Cooling fit"

    item = window.canvas.node_view(node).view  # Escape leaves the name as it was
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert window.canvas.viewer.scene().focusItem().parentItem() is item
    QTest.keyClicks(viewer, "zzz")
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    assert window.canvas.node_view(node).name() == window.doc.project.nodes[node].label
    assert window.doc.undo.undoText() != "Rename"


def test_selecting_a_pipe_highlights_it(window, qtbot):
    src = window.add_node("python", QPointF(0, 0))
    dst = window.add_node("python", QPointF(400, 0))
    set_ports(window, src, outputs=[("y", "json")])
    set_ports(window, dst, inputs=[("x", "json")])
    window.doc.connect(Edge(src, "y", dst, "x"))
    window.canvas.zoom_to_fit()
    window.canvas.select([])
    qtbot.wait(20)
    (pipe,) = window.canvas.node_view(src).view.outputs[0].connected_pipes
    pipe.setSelected(True)  # as a rubber band over it does
    assert pipe.highlighted()
    window.canvas.select([src])  # the node's selection keeps its pipes lit
    assert pipe.highlighted()
    window.canvas.viewer.scene().clearSelection()
    assert not pipe.highlighted()
