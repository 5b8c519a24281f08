"""Issue 12 item 2: the mouse wheel scrolls the Properties panel and never edits a field
that does not have the keyboard focus."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSpinBox

from twinflow_studio.project import Node, Port


def wheel(widget, steps: int = -1) -> None:
    """One notch of a mouse wheel over the middle of ``widget``, delivered as Qt would."""
    local = QPointF(widget.rect().center())
    event = QWheelEvent(
        local,
        QPointF(widget.mapToGlobal(local.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def container_panel(window, qtbot):
    node = Node(
        "sim",
        "container",
        params={"image": "alpine:3", "network": "none"},
        outputs=[Port("out", "file")],
    )
    window.doc.add_nodes([node], positions={"sim": (0.0, 0.0)})
    window.canvas.select(["sim"])
    panel = window.properties
    panel.scroll.setFixedHeight(220)  # short enough that the form scrolls
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)
    return panel


def test_wheel_over_unfocused_combo_scrolls_the_panel(window, qtbot):
    panel = container_panel(window, qtbot)
    network = panel.editors["params.network"]
    assert isinstance(network, QComboBox) and network.currentText() == "none"
    assert not network.hasFocus()
    bar = panel.scroll.verticalScrollBar()
    bar.setValue(0)
    wheel(network, -1)
    wheel(network, -1)
    assert network.currentText() == "none"
    assert window.doc.project.nodes["sim"].params["network"] == "none"
    assert bar.maximum() > 0, "the form should be taller than the panel"
    assert bar.value() > 0, "the wheel should scroll the panel instead"


def test_wheel_over_unfocused_spin_box_and_table_combo_changes_nothing(window, qtbot):
    panel = container_panel(window, qtbot)
    retries = panel.editors["retries"]
    assert isinstance(retries, QSpinBox)
    assert retries.focusPolicy() == Qt.FocusPolicy.StrongFocus
    wheel(retries, 1)
    assert retries.value() == 0 and window.doc.project.nodes["sim"].retries.count == 0
    port_type = panel.editors["ports"].cellWidget(0, 2)
    before = port_type.currentText()
    wheel(port_type, -1)
    assert port_type.currentText() == before


def test_wheel_edits_a_field_that_has_focus(window, qtbot):
    panel = container_panel(window, qtbot)
    retries = panel.editors["retries"]
    retries.setFocus()
    qtbot.waitUntil(retries.hasFocus, timeout=2000)
    wheel(retries, 1)
    assert window.doc.project.nodes["sim"].retries.count == 1
