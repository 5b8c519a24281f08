"""Issue 12 item 9: new nodes land in free space near the cursor or the selection, never on
top of existing nodes (palette Enter/double-click, paste)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt


def scene_rects(window, exclude=()):
    return {
        n: window.canvas.node_view(n).view.sceneBoundingRect()
        for n in window.doc.project.nodes
        if n not in exclude
    }


def assert_clear(window, new_ids):
    new = scene_rects(window)
    for n in new_ids:
        for other, rect in new.items():
            if other != n:
                assert not new[n].intersects(rect), f"{n} lands on {other}"


def test_palette_enter_twice_never_stacks_nodes(window, qtbot):
    centre = window.canvas.viewer.mapToScene(window.canvas.viewer.viewport().rect().center())
    window.add_node("python", centre)  # something already sits at the view centre
    palette = window.palette_panel
    palette.search.setText("python")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    item = palette.list.currentItem()
    palette.list.itemActivated.emit(item)  # a double-click
    assert len(window.doc.project.nodes) == 4
    assert_clear(window, list(window.doc.project.nodes))


def test_paste_lands_beside_the_original_not_on_it(window):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(200, 0))
    window.canvas.select([a, b])
    window.copy()
    first = window.paste()
    second = window.paste()
    assert len(first) == 2 and len(second) == 2
    assert_clear(window, first + second)


def test_drop_onto_a_node_lands_next_to_it(window):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(10, 10))
    ra, rb = (
        window.canvas.node_view(a).view.sceneBoundingRect(),
        window.canvas.node_view(b).view.sceneBoundingRect(),
    )
    assert not ra.intersects(rb)
    x, y = window.doc.position(b)
    assert abs(x - 10) + abs(y - 10) < 400  # still near where it was put
