"""Badges on the canvas (invalid, changed since the last run, running, muted), the right-click
menus, quick-add by double-click, ports that explain themselves, backward pipes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication
from ui_helpers import chain_project, run_to_end

from twinflow_studio.project import Edge, Node, Port, Project, load, save
from twinflow_studio.ui.badges import COLORS, MUTED_OPACITY, shown_badges
from twinflow_studio.ui.canvas_items import PORT_COLORS
from twinflow_studio.ui.pipes import RoutedPipeItem
from twinflow_studio.ui.port_legend import PortLegend
from twinflow_studio.ui.themes import theme

pytestmark = pytest.mark.gui
WAIT_MS = 60000


def checked(qtbot, window) -> None:
    """Check the badges now and wait until they are on the canvas."""
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):
        window.badges.check_now()


def keys(window, node_id: str) -> list[str]:
    return [b.key for b in shown_badges(window.canvas.node_view(node_id))]


def run_all(window, qt_loop, qtbot, only: str | None = None) -> dict:
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):  # rechecked after a run
        run_to_end(qt_loop, window.run_all() if only is None else window._start([only]))
    window.runs.flush()
    return window.runs.last_summary


def test_stale_badge_after_an_edit_and_after_new_data(window, qt_loop, qtbot, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    checked(qtbot, window)
    assert not any(keys(window, n) for n in window.doc.project.nodes)  # never run: no noise
    assert run_all(window, qt_loop, qtbot)["status"] == "succeeded"
    assert not any(keys(window, n) for n in window.doc.project.nodes)  # all fresh

    # An edit of fit's parameter: fit and what depends on it changed since their last run.
    window.doc.change_node(
        "fit", "params", lambda n: n.params["kwargs"].update(ambient_c=22.0), "Edit"
    )
    checked(qtbot, window)
    stale = {n for n in window.doc.project.nodes if "stale" in keys(window, n)}
    assert stale == {"fit", "anomalies", "report"}
    pill = window.canvas.node_view("anomalies")._pills[0]
    assert pill.toolTip() == "upstream node 'fit' changed since its last run"
    assert pill.badge.rgb == COLORS["stale"] and pill.isVisible()
    window.doc.undo_step()  # back to what ran: the same cache key, fresh again
    checked(qtbot, window)
    assert not any(keys(window, n) for n in window.doc.project.nodes)

    # New data in the source file (written elsewhere): noticed when the window is active again.
    with (hello_dir / "sensor.csv").open("a", encoding="utf-8") as f:
        f.write("600,24.9\n")
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):
        QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))
    assert all("stale" in keys(window, n) for n in window.doc.project.nodes)
    assert "configuration, code or inputs" in window.canvas.node_view("sensor")._pills[0].toolTip()
    assert run_all(window, qt_loop, qtbot)["status"] == "succeeded"
    assert {n: keys(window, n) for n in window.doc.project.nodes if keys(window, n)} == {}


def test_invalid_and_running_badges(window, qt_loop, qtbot, tmp_path):
    assert window.open_path(chain_project(tmp_path / "p", "badge_chain_mod"))
    checked(qtbot, window)
    window.doc.change_node("total", "params", lambda n: n.params.update(callable=""), "Edit")
    checked(qtbot, window)
    assert keys(window, "total") == ["invalid"]
    tip = window.canvas.node_view("total")._pills[0].toolTip()
    assert "callable" in tip  # the problem, on hover
    window.doc.undo_step()
    checked(qtbot, window)
    assert keys(window, "total") == []

    seen: set[str] = set()
    timer = QTimer()
    timer.timeout.connect(lambda: seen.update(keys(window, "make") + keys(window, "total")))
    timer.start(5)
    run_all(window, qt_loop, qtbot)
    timer.stop()
    assert "running" in seen and keys(window, "make") == keys(window, "total") == []


def test_mute_from_the_menu_is_saved_and_honoured_by_a_run(window, qt_loop, qtbot, hello_dir):
    path = hello_dir / "hello.twin"
    assert window.open_path(path)
    menus = window.canvas_menus
    menu = menus.node_menu("fit")
    next(a for a in menu.actions() if a.text() == "Mute (bypass)").trigger()
    assert window.doc.project.nodes["fit"].muted
    view = window.canvas.node_view("fit")
    assert "muted" in keys(window, "fit") and view.view.opacity() == MUTED_OPACITY
    summary = run_all(window, qt_loop, qtbot)
    assert summary["status"] == "succeeded"
    assert summary["nodes"]["fit"]["state"] == "skipped_branch"
    assert summary["nodes"]["report"]["error"] == "upstream node 'fit' is muted"
    assert summary["nodes"]["stats"]["state"] == "succeeded"
    assert window.save()
    assert json.loads(path.read_text())["nodes"][1]["muted"] is True  # nodes sorted: fit 2nd
    assert load(path).nodes["fit"].muted
    window.open_path(path)
    assert "muted" in keys(window, "fit")
    unmute = next(a for a in menus.node_menu("fit").actions() if a.text() == "Unmute")
    unmute.trigger()
    assert not window.doc.project.nodes["fit"].muted
    assert "muted" not in keys(window, "fit")
    assert window.canvas.node_view("fit").view.opacity() == 1.0
    window.doc.undo_step()
    assert window.doc.project.nodes["fit"].muted  # an undoable edit


def test_node_menu_actions(make_window, qt_loop, qtbot, hello_dir):
    window = make_window(text=["Cooling model"])
    assert window.open_path(hello_dir / "hello.twin")
    menus = window.canvas_menus
    texts = [a.text() for a in menus.node_menu("fit").actions() if not a.isSeparator()]
    assert texts == [
        "Run to here",
        "Run only this",
        "Rerun ignoring cache",
        "Mute (bypass)",
        "Open outputs",
        "Show in lineage",
        "Rename…",
        "Delete",
    ]

    def act(node_id: str, text: str) -> None:
        next(a for a in menus.node_menu(node_id).actions() if a.text() == text).trigger()

    # Run only this, before anything ran: refused, its upstream never ran.
    act("fit", "Run only this")
    assert not window.runs.busy and "use Run to here" in window.status_label.text()
    # Run to here: the node and what it needs, nothing downstream.
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):
        act("fit", "Run to here")
        run_to_end(qt_loop, window.runs.task)
    window.runs.flush()
    assert set(window.runs.last_summary["nodes"]) == {"sensor", "fit"}
    # Run only this, the upstream unchanged: it runs with its inputs from the cache.
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):
        act("stats", "Run only this")
        run_to_end(qt_loop, window.runs.task)
    window.runs.flush()
    nodes = window.runs.last_summary["nodes"]
    # Why, if it did run: the engine's cache-miss reason and the node's log say it.
    assert nodes["sensor"]["state"] == "cached", (nodes["sensor"], window.runs.last_summary)
    assert nodes["stats"]["state"] == "succeeded"
    # Rerun ignoring cache: everything it covers runs again; the cache is on again after.
    with qtbot.waitSignal(window.badges.updated, timeout=WAIT_MS):
        act("fit", "Rerun ignoring cache")
        run_to_end(qt_loop, window.runs.task)
    window.runs.flush()
    states = {n: v["state"] for n, v in window.runs.last_summary["nodes"].items()}
    assert states == {"sensor": "succeeded", "fit": "succeeded"}
    assert window.runs.use_cache is True

    act("fit", "Open outputs")
    assert window.output_windows["fit"].isVisible()
    window.output_windows["fit"].close()
    act("anomalies", "Show in lineage")
    assert window.docks["lineage"].isVisible() and window.canvas.selected_ids() == ["anomalies"]
    act("fit", "Rename…")
    assert window.doc.project.nodes["fit"].label == "Cooling model"
    act("report", "Delete")
    assert "report" not in window.doc.project.nodes
    window.doc.undo_step()
    assert "report" in window.doc.project.nodes


def test_right_click_opens_the_menu_of_what_is_under_the_cursor(window, qtbot, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    viewer = window.canvas.viewer
    seen: list[list[str]] = []

    def right_click(local: QPoint) -> None:
        def close() -> None:
            menu = window.canvas_menus.last_menu
            seen.append([a.text() for a in menu.actions() if not a.isSeparator()])
            menu.close()

        QTimer.singleShot(300, close)
        event = QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, local, viewer.viewport().mapToGlobal(local)
        )
        QApplication.sendEvent(viewer.viewport(), event)

    fit = window.canvas.node_view("fit").view.sceneBoundingRect().center()
    right_click(viewer.mapFromScene(fit))
    assert seen[-1][0] == "Run to here" and window.canvas.selected_ids() == ["fit"]
    right_click(empty_spot(window))
    assert seen[-1] == ["Add node here…", "Paste", "Select all", "Auto-layout"]


def empty_spot(window) -> QPoint:
    """A point of the canvas (viewport coordinates) with nothing on it."""
    viewer = window.canvas.viewer
    rect = viewer.viewport().rect()
    for x in range(rect.width() - 30, 30, -40):
        for y in range(rect.height() - 30, 30, -40):
            if not viewer.scene().items(viewer.mapToScene(QPoint(x, y))):
                return QPoint(x, y)
    raise AssertionError("no empty spot on the canvas")


def test_canvas_menu_and_quick_add_on_double_click(window, qtbot, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    viewer = window.canvas.viewer
    spot = empty_spot(window)
    scene_spot = viewer.mapToScene(spot)
    qtbot.mouseDClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    quick = window.quick_add
    assert quick.isVisible()
    qtbot.keyClicks(quick.edit, "python")
    quick.list.setCurrentRow(0)
    before = set(window.doc.project.nodes)
    qtbot.keyClick(quick.edit, Qt.Key.Key_Return)
    added = set(window.doc.project.nodes) - before
    assert len(added) == 1 and not quick.isVisible()
    (node_id,) = added
    x, y = window.doc.position(node_id)
    assert abs(x - scene_spot.x()) < 250 and abs(y - scene_spot.y()) < 250  # where clicked

    menus = window.canvas_menus

    def act(text: str, at: QPointF = scene_spot) -> None:
        next(a for a in menus.canvas_menu(at).actions() if a.text() == text).trigger()

    act("Select all")
    assert set(window.canvas.selected_ids()) == set(window.doc.project.nodes)
    window.canvas.select(["fit"])
    window.copy()
    act("Paste")
    assert len(window.doc.project.nodes) == len(before) + 2
    window.canvas.select([])
    positions = {n: window.doc.position(n) for n in window.doc.project.nodes}
    act("Auto-layout")
    assert {n: window.doc.position(n) for n in window.doc.project.nodes} != positions
    act("Add node here…")
    assert quick.isVisible()
    quick.hide()


def test_ports_explain_themselves(window, qtbot, hello_dir):
    assert window.open_path(hello_dir / "hello.twin")
    port = window.canvas.node_view("fit").get_input("readings").view
    tip = port.toolTip()
    assert tip.startswith("readings (input, dataframe)")
    assert "a table: a CSV or Parquet file" in tip and "required" in tip
    out = window.canvas.node_view("fit").get_output("model").view.toolTip()
    assert out.startswith("model (output, json)")
    window.actions_by_name["Port types"].trigger()
    legend = window.findChild(PortLegend)
    assert legend is not None and legend.isVisible()
    assert set(legend.rows) == set(PORT_COLORS)
    legend.close()


def test_a_backward_pipe_is_routed_below_both_nodes(window, qtbot, tmp_path):
    p = Project("back")
    p.add_node(Node("src", "python", params={"callable": "m:f"}, outputs=[Port("out", "json")]))
    p.add_node(Node("dst", "python", params={"callable": "m:g"}, inputs=[Port("x", "json")]))
    p.layout["nodes"] = {"src": {"x": 500, "y": 0}, "dst": {"x": 0, "y": 40}}
    save(p, tmp_path / "back.twin")
    assert window.open_path(tmp_path / "back.twin")
    assert window.canvas.request_connection(Edge("src", "out", "dst", "x")) is None
    pipes = [i for i in window.canvas.viewer.scene().items() if isinstance(i, RoutedPipeItem)]
    assert len(pipes) == 1 and pipes[0].backward
    bottom = max(window.canvas.node_view(n).view.sceneBoundingRect().bottom() for n in p.nodes)
    assert pipes[0].path().boundingRect().bottom() > bottom  # runs below, not through them
    # Moved to the right of its source, it is drawn as usual again.
    window.doc.move_nodes({"dst": (900.0, 40.0)})
    window.canvas._views["dst"].view.draw_node()
    pipes[0].draw_path(pipes[0].input_port, pipes[0].output_port)
    assert not pipes[0].backward


def test_the_state_badge_follows_the_theme(window, qt_loop, qtbot, tmp_path):
    assert window.open_path(chain_project(tmp_path / "t", "badge_theme_mod"))
    run_all(window, qt_loop, qtbot)
    for name in ("light", "dark"):
        window.set_theme(name)
        badge = window.canvas.node_view("make")._badge
        assert badge.brush().color().getRgb()[:3] == theme(name).badge
    assert Path(window.doc.path).exists()
