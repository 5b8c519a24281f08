"""The NodeGraphQt node class the canvas uses, with colours for port types and run states.

``FastNodeItem`` can defer its layout pass: NodeGraphQt lays a node out again after every
port and property it receives (three passes per node); while a whole project is being
built, each node is laid out once at the end instead.
"""

from __future__ import annotations

from NodeGraphQt import BaseNode
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem

PORT_COLORS: dict[str, tuple[int, int, int]] = {
    "file": (230, 160, 60),
    "dataframe": (80, 170, 230),
    "json": (140, 200, 90),
    "model": (200, 110, 220),
    "posterior": (235, 95, 125),
    "any": (180, 180, 180),
}
CATEGORY_COLORS: dict[str, tuple[int, int, int]] = {
    "Data": (45, 75, 95),
    "Tasks": (60, 60, 80),
    "Models": (70, 55, 90),
}
DEFAULT_NODE_COLOR = (55, 65, 75)
STATE_COLORS: dict[str, tuple[int, int, int]] = {
    "pending": (85, 85, 95),
    "queued": (95, 95, 150),
    "running": (30, 110, 210),
    "retrying": (220, 140, 20),
    "succeeded": (35, 150, 75),
    "cached": (50, 130, 115),
    "failed": (200, 45, 45),
    "skipped": (120, 120, 120),
    "cancelled": (150, 95, 55),
}


class FastNodeItem(NodeItem):
    deferring = False
    deferred: dict[int, FastNodeItem] = {}

    def draw_node(self) -> None:
        if FastNodeItem.deferring:
            FastNodeItem.deferred[id(self)] = self
            return
        super().draw_node()

    @classmethod
    def flush(cls) -> None:
        cls.deferring = False
        items, cls.deferred = list(cls.deferred.values()), {}
        for item in items:
            item.draw_node()


def _set_color(item: NodeItem, rgb: tuple[int, int, int]) -> None:
    # NodeItem's own colour setter repaints the whole scene; only this node changed.
    AbstractNodeItem.color.fset(item, (*rgb, 255))


class TwinNode(BaseNode):
    __identifier__ = "twinflow"
    NODE_NAME = "node"

    _constructing = False

    def __init__(self) -> None:
        TwinNode._constructing = True
        try:
            super().__init__(FastNodeItem)
        finally:
            TwinNode._constructing = False
        self.doc_id = ""
        self._badge: QGraphicsSimpleTextItem | None = None

    def update(self) -> None:
        # NodeObject.__init__ pushes the model into the view, and NodeGraph.add_node does it
        # again; once (in add_node) is enough.
        if not TwinNode._constructing:
            super().update()

    def show_state(self, state: str | None, text: str = "") -> None:
        """Colour the node by run state (None restores its kind colour) with a badge."""
        view = self.view
        if state is None:
            _set_color(view, self.base_color)
            if self._badge is not None:
                self._badge.setVisible(False)
        else:
            _set_color(view, STATE_COLORS.get(state, DEFAULT_NODE_COLOR))
            if self._badge is None:
                self._badge = QGraphicsSimpleTextItem(view)
                self._badge.setBrush(QBrush(QColor(230, 230, 230)))
            self._badge.setText(text or state)
            self._badge.setPos(4, view.boundingRect().height() + 2)
            self._badge.setVisible(True)
        view.update()

    base_color: tuple[int, int, int] = DEFAULT_NODE_COLOR
