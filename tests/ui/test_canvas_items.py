"""The canvas's cheap node items look and behave like NodeGraphQt's own."""

from __future__ import annotations

from NodeGraphQt import BaseNode
from PySide6.QtCore import QPointF

from twinflow_studio.project import Node, Port
from twinflow_studio.ui.canvas_items import PORT_COLORS
from twinflow_studio.ui.nodegraph_adapter import FastPortItem, PortLabel, TitleLabel


class PlainNode(BaseNode):
    __identifier__ = "test"
    NODE_NAME = "plain"


def test_node_layout_matches_nodegraphqt(window):
    """Same label and ports: same size and port positions as a stock NodeGraphQt node, whose
    port labels are real text items."""
    node_id = window.add_node("python", QPointF(0, 0))

    def mutate(n: Node) -> None:
        n.name = "Cooling fit"
        n.inputs = [Port("readings", "json"), Port("x", "json")]
        n.outputs = [Port("anomalies", "json")]

    window.doc.change_node(node_id, "ports", mutate)
    ours = window.canvas.node_view(node_id)
    graph = window.canvas.graph
    graph.register_node(PlainNode)
    plain = PlainNode()
    plain.NODE_NAME = ours.name()
    for port in ours.input_ports():
        plain.add_input(port.name(), color=PORT_COLORS["json"])
    for port in ours.output_ports():
        plain.add_output(port.name(), multi_output=True, color=PORT_COLORS["json"])
    graph.add_node(plain, pos=[600, 0], selected=False, push_undo=False)

    assert type(plain.view).__name__ == "NodeItem"  # NodeGraphQt's own item
    assert (ours.view.width, ours.view.height) == (plain.view.width, plain.view.height)
    for mine, theirs in zip(
        ours.view.inputs + ours.view.outputs, plain.view.inputs + plain.view.outputs, strict=True
    ):
        assert isinstance(mine, FastPortItem)
        assert mine.pos() == theirs.pos()
        assert mine.boundingRect() == theirs.boundingRect()
    title, theirs_title = ours.view.text_item, plain.view.text_item
    assert isinstance(title, TitleLabel)  # painted by the node, not a text item
    assert title.toPlainText() == theirs_title.toPlainText() == "Cooling fit"
    assert title.pos() == theirs_title.pos()
    assert title.boundingRect() == theirs_title.boundingRect()
    for side in ("_input_items", "_output_items"):
        for label, text in zip(
            getattr(ours.view, side).values(), getattr(plain.view, side).values(), strict=True
        ):
            assert isinstance(label, PortLabel)
            assert label.toPlainText() == text.toPlainText()
            assert label.pos() == text.pos()
            assert label.boundingRect() == text.boundingRect()
            assert label.isVisible() == text.isVisible()
