"""Issue 12 item 13: the smaller things seen on screen."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from twinflow_studio.project import Node


def settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_problems_name_nodes_and_fields_as_the_canvas_shows_them(window):
    window.doc.add_nodes([Node("datasource", "datasource", name="Sensor file")])
    window.canvas.select(["datasource"])
    window.validate_now()
    texts = [
        window.run_panel.problems.item(i).text() for i in range(window.run_panel.problems.count())
    ]
    assert texts and all("nodes." not in t and "params." not in t for t in texts), texts
    assert any("Sensor file" in t and "path" in t.lower() for t in texts), texts
    shown = window.properties.problems.text()
    assert "params." not in shown and "nodes." not in shown and "path" in shown.lower(), shown


def test_status_messages_expire(window, qtbot):
    window.message_timeout_ms = 200
    window.show_message("Saved /tmp/x.twin")
    assert window.status_label.text() == "Saved /tmp/x.twin"
    qtbot.waitUntil(lambda: window.status_label.text() == "", timeout=3000)


def test_toolbar_does_not_jump_as_the_undo_text_changes(window, qtbot):
    (bar,) = [
        t
        for t in window.findChildren(type(window.addToolBar("x")))
        if t.objectName() == "toolbar_main"
    ]
    run_button = bar.widgetForAction(window.actions_by_name["Run"])
    settle(qtbot)
    before = run_button.geometry()
    node = window.add_node("python", QPointF(0, 0))
    window.doc.change_node(
        node,
        "name",
        lambda n: setattr(n, "name", "A much longer name"),
        "Rename the node to something long",
    )
    settle(qtbot)
    assert run_button.geometry() == before
    window.doc.undo.undo()
    window.doc.undo.undo()
    settle(qtbot)
    assert run_button.geometry() == before


def test_progress_text_is_not_clipped(window, qtbot):
    window.progress.show()
    window._progress(123, 1000, 12)
    settle(qtbot)
    text = window.progress.text()
    need = window.progress.fontMetrics().horizontalAdvance(text)
    assert window.progress.width() >= need + 8, (window.progress.width(), need, text)


def test_focus_starts_on_the_canvas_so_f_fits(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    settle(qtbot)
    focus = window.focusWidget()
    assert focus is not window.palette_panel.search
    assert focus is window.canvas.viewer or window.canvas.isAncestorOf(focus), focus
    qtbot.keyClick(focus, Qt.Key.Key_F)
    assert window.palette_panel.search.text() == ""


def test_escape_clears_the_palette_search(window, qtbot):
    search = window.palette_panel.search
    search.setFocus()
    qtbot.keyClicks(search, "calib")
    assert window.palette_panel.kinds_shown() != window.palette_panel.kinds_shown() or search.text()
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""


def test_filtered_log_follows_its_tail(window, qtbot):
    panel = window.run_panel
    panel.resize(600, 200)
    panel._append([("a", "stdout", f"line {i}") for i in range(300)])
    panel._append([("b", "stdout", f"line {i}") for i in range(300)])
    panel.show_node_log("a")
    settle(qtbot)
    bar = panel.log.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    panel._append([("a", "stdout", "line new")])
    settle(qtbot)
    assert bar.value() == bar.maximum()


def test_clicking_a_problem_raises_the_properties_tab(window, qtbot):
    window.doc.add_nodes([Node("datasource", "datasource", name="Sensor file")])
    window.docks["lineage"].raise_()
    window.validate_now()
    window.docks["lineage"].raise_()
    settle(qtbot)
    properties = window.docks["properties"]
    assert properties.visibleRegion().isEmpty()  # behind the Lineage tab
    problems = window.run_panel.problems
    problems.itemClicked.emit(problems.item(0))
    settle(qtbot)
    assert not properties.visibleRegion().isEmpty()
    assert window.properties.node_id == "datasource"


def test_multi_selection_says_how_many(window, qtbot):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(400, 0))
    window.canvas.select([a, b])
    texts = " ".join(
        lbl.text() for lbl in window.properties.findChildren(type(window.status_label))
    )
    assert "2 nodes selected" in texts and "Select a node" not in texts, texts


def test_an_invalid_value_left_behind_is_not_dropped_silently(window, qtbot):
    a = window.add_node("python", QPointF(0, 0))
    b = window.add_node("python", QPointF(400, 0))
    window.canvas.select([a])
    kwargs = window.properties.editors["params.kwargs"]
    kwargs.clear()
    qtbot.keyClicks(kwargs, '{"n": ')
    window.canvas.select([b])
    message = window.status_label.text()
    assert "kwargs" in message and "not applied" in message, message


def test_the_form_does_not_reflow_when_an_error_appears(window, qtbot):
    node = window.add_node("python", QPointF(0, 0))
    window.canvas.select([node])
    settle(qtbot)
    panel = window.properties
    kwargs = panel.editors["params.kwargs"]
    below = [k for k in panel.editors if k not in ("params.kwargs",)]
    where = {k: panel.editors[k].mapTo(panel, panel.editors[k].rect().topLeft()) for k in below}
    kwargs.clear()
    qtbot.keyClicks(kwargs, '{"n": ')  # an error message appears under the field
    settle(qtbot)
    assert panel.error_text("params.kwargs")
    after = {k: panel.editors[k].mapTo(panel, panel.editors[k].rect().topLeft()) for k in below}
    assert after == where
    qtbot.keyClicks(kwargs, "1}")  # and goes away
    settle(qtbot)
    after = {k: panel.editors[k].mapTo(panel, panel.editors[k].rect().topLeft()) for k in below}
    assert after == where
