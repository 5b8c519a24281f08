"""The node class the canvas uses (``TwinNode``), with colours for port types and run states.

Its item is ``nodegraph_adapter.FastNodeItem``; what reaches into NodeGraphQt lives there.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from twinflow_studio.ui.nodegraph_adapter import (
    BaseNode,
    FastNodeItem,
    FastPipeItem,
    LodTitle,
    restyle_selection,
    set_item_color,
)
from twinflow_studio.ui.themes import Theme, current_theme

# The item classes are the canvas's too (imported from here before the adapter existed).
__all__ = ["FastNodeItem", "FastPipeItem", "LodTitle", "TwinNode", "restyle_selection"]

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
# Fills by run state: the current theme's (``use_theme_states`` keeps it in step).
STATE_COLORS: dict[str, tuple[int, int, int]] = dict(current_theme().states)


def use_theme_states(theme: Theme) -> None:
    """Take the theme's state fills; updated in place, as callers hold this dict."""
    STATE_COLORS.clear()
    STATE_COLORS.update(theme.states)


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
        view.badge_wanted = state is not None
        if state is None:
            set_item_color(view, self.base_color)
            if self._badge is not None:
                self._badge.setVisible(False)
        else:
            set_item_color(view, STATE_COLORS.get(state, DEFAULT_NODE_COLOR))
            if self._badge is None:
                self._badge = view.badge = QGraphicsSimpleTextItem(view)
                self._badge.setBrush(QBrush(QColor(*self.badge_rgb)))
            self._badge.setText(text or state)
            self._badge.setPos(4, view.boundingRect().height() + 2)
            self._badge.setVisible(not view.in_proxy_mode())
        view.update()

    def set_badge_color(self, rgb: tuple[int, int, int]) -> None:
        self.badge_rgb = rgb
        if self._badge is not None:
            self._badge.setBrush(QBrush(QColor(*rgb)))

    base_color: tuple[int, int, int] = DEFAULT_NODE_COLOR
    badge_rgb: tuple[int, int, int] = (225, 227, 230)  # the canvas sets the theme's

    marker_rgb: tuple[int, int, int] = (240, 200, 80)  # the canvas sets the theme's
    _marker: QGraphicsSimpleTextItem | None = None

    def set_marker_color(self, rgb: tuple[int, int, int]) -> None:
        self.marker_rgb = rgb
        if self._marker is not None:
            self._marker.setBrush(QBrush(QColor(*rgb)))

    def show_marker(self, text: str | None) -> None:
        """A note above the node (e.g. "update available" on a part with a newer version)."""
        view = self.view
        if text is None:
            if self._marker is not None:
                self._marker.setVisible(False)
            return
        if self._marker is None:
            self._marker = QGraphicsSimpleTextItem(view)
            self._marker.setBrush(QBrush(QColor(*self.marker_rgb)))
        self._marker.setText(text)
        self._marker.setPos(4, -18)
        self._marker.setVisible(True)
        self._marker.setToolTip(text)

    def marker_text(self) -> str | None:
        marker = self._marker
        return marker.text() if marker is not None and marker.isVisible() else None
