"""Issue 12 item 7: a group (Ctrl+G) frames its members, carries a title, moves them
together and round-trips through save/open."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def three_nodes(window):
    a = window.add_node("python", QPointF(500, 300))
    b = window.add_node("python", QPointF(800, 300))
    c = window.add_node("python", QPointF(500, 700))  # not a member
    return a, b, c


def frame_rect(window, group_id):
    """Where the frame is on the canvas (the item itself, not what the document says)."""
    return window.canvas._backdrop_views[group_id].view.sceneBoundingRect()


def title(window, group_id):
    return window.canvas._backdrop_views[group_id].view.name


def members(window, group_id):
    (data,) = [b for b in window.doc.backdrops() if str(b["id"]) == group_id]
    return data["nodes"]


def test_group_frames_its_members_and_no_other_node(window):
    a, b, c = three_nodes(window)
    window.canvas.select([a, b])
    group = window.group_selection("Inputs")
    frame = frame_rect(window, group)
    for n in (a, b):
        assert frame.contains(window.canvas.node_view(n).view.sceneBoundingRect()), n
    assert not frame.intersects(window.canvas.node_view(c).view.sceneBoundingRect())
    assert title(window, group) == "Inputs"
    assert members(window, group) == sorted([a, b])


def test_ctrl_g_asks_for_a_title(make_window, qtbot):
    window = make_window(text=["Sensors"])
    a, b, _c = three_nodes(window)
    window.canvas.select([a, b])
    window.actions_by_name["Group into backdrop"].trigger()
    (group,) = [str(g["id"]) for g in window.doc.backdrops()]
    assert window.doc.backdrops()[0]["title"] == "Sensors"
    assert title(window, group) == "Sensors"


def test_dragging_the_header_moves_every_member(window, qtbot):
    a, b, c = three_nodes(window)
    window.canvas.select([a, b])
    group = window.group_selection("Pair")
    window.canvas.select([])
    window.canvas.zoom_to_fit()
    qtbot.wait(20)
    before = {n: window.doc.position(n) for n in (a, b, c)}
    frame = frame_rect(window, group)
    viewer = window.canvas.viewer
    vp = viewer.viewport()
    start = viewer.mapFromScene(QPointF(frame.center().x(), frame.top() + 10))
    end = start + QPoint(60, 40)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for f in (0.25, 0.5, 0.75, 1.0):
        p = start + (end - start) * f
        QTest.mouseMove(vp, QPoint(int(p.x()), int(p.y())))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    qtbot.wait(20)
    moved = {n: window.doc.position(n) for n in (a, b, c)}
    da = (moved[a][0] - before[a][0], moved[a][1] - before[a][1])
    db = (moved[b][0] - before[b][0], moved[b][1] - before[b][1])
    assert da != (0.0, 0.0) and da == db, (da, db)
    assert moved[c] == before[c]
    new_frame = frame_rect(window, group)
    assert (new_frame.x() - frame.x(), new_frame.y() - frame.y()) == da
    stored = window.doc.backdrops()[0]
    assert (stored["x"], stored["y"]) == (new_frame.x(), new_frame.y())


def test_group_round_trips_through_save_and_open(make_window, tmp_path):
    window = make_window()
    a, b, _c = three_nodes(window)
    window.canvas.select([a, b])
    group = window.group_selection("Models")
    frame = frame_rect(window, group)
    path = tmp_path / "grouped.twin"
    assert window._save_to(path)
    again = make_window()
    assert again.open_path(path, ask=False)
    assert title(again, group) == "Models"
    assert frame_rect(again, group) == frame
    assert members(again, group) == sorted([a, b])
    for n in (a, b):
        assert frame.contains(again.canvas.node_view(n).view.sceneBoundingRect())


def test_double_clicking_the_title_renames_the_group(make_window, qtbot):
    window = make_window(text=["Inputs"])
    a, b, _c = three_nodes(window)
    window.canvas.select([a, b])
    group = window.group_selection("Group 1")
    window.canvas.zoom_to_fit()
    qtbot.wait(20)
    frame = frame_rect(window, group)
    viewer = window.canvas.viewer
    at = viewer.mapFromScene(QPointF(frame.center().x(), frame.top() + 10))
    QTest.mouseDClick(
        viewer.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at
    )
    qtbot.waitUntil(lambda: window.doc.backdrops()[0]["title"] == "Inputs", timeout=3000)
    assert title(window, group) == "Inputs"
    window.doc.undo.undo()
    assert title(window, group) == "Group 1"
