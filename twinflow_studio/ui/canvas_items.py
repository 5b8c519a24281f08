"""The NodeGraphQt node class the canvas uses, with colours for port types and run states.

``FastNodeItem`` is NodeGraphQt's ``NodeItem`` made cheap to build, for opening large
projects:

- it can defer its layout pass: NodeGraphQt lays a node out again after every port and
  property it receives (three passes per node); while a whole project is being built, each
  node is laid out once at the end instead;
- it loads and scales the node icon once per process, not twice per node;
- it skips re-applying model properties the item already has (NodeGraphQt pushes the whole
  model into the item, and each setter has side effects: tooltips, pixmaps, size passes);
- port labels are painted by the node, not made of one QGraphicsTextItem (a text
  document) each: ``PortLabel`` keeps what NodeGraphQt asks of a label (geometry measured
  once per text by a real QGraphicsTextItem, visibility, colour) and ``paint`` draws it;
- its ports (``FastPortItem``) compute their fixed bounding rect and colours once, and it
  decides on proxy mode (zoomed far out) from the view scale rather than two mappings to
  global coordinates per paint;
- it has no Python ``itemChange``: PySide routes every change of every item with such an
  override through Python (about 25 per node while building). What NodeItem did there, on
  selection (pipe highlight, raising the node), ``restyle_selection`` does from the scene's
  selectionChanged signal.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import shiboken6
from NodeGraphQt import BaseNode
from NodeGraphQt.constants import (
    ICON_NODE_BASE,
    ITEM_CACHE_MODE,
    Z_VAL_NODE,
    NodeEnum,
    PortEnum,
    PortTypeEnum,
)
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.node_overlay_disabled import XDisabledItem
from NodeGraphQt.qgraphics.node_text_item import NodeTextItem
from NodeGraphQt.qgraphics.port import CustomPortItem, PortItem
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

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


_ICONS: dict[str, QPixmap] = {}


def _icon_pixmap(path: str) -> QPixmap:
    """The icon as NodeItem scales it, loaded once per path."""
    pixmap = _ICONS.get(path)
    if pixmap is None:
        pixmap = QPixmap(path)
        size = NodeEnum.ICON_SIZE.value
        if pixmap.size().height() > size:
            pixmap = pixmap.scaledToHeight(size, Qt.TransformationMode.SmoothTransformation)
        if pixmap.size().width() > size:
            pixmap = pixmap.scaledToWidth(size, Qt.TransformationMode.SmoothTransformation)
        _ICONS[path] = pixmap
    return pixmap


_LABEL_MARGIN = 4.0  # QTextDocument's default margin, which NodeGraphQt's layout assumes
_LABELS: dict[str, tuple[QRectF, QFont]] = {}


def _label_metrics(text: str) -> tuple[QRectF, QFont]:
    """The bounding rect and font the QGraphicsTextItem NodeItem used would have."""
    metrics = _LABELS.get(text)
    if metrics is None:
        item = QGraphicsTextItem(text)
        metrics = _LABELS[text] = (item.boundingRect(), item.font())
    return metrics


class PortLabel:
    """A port's name, as NodeItem's layout and proxy mode use its label; the node paints it."""

    __slots__ = ("text", "color", "_x", "_y", "_visible")

    def __init__(self, text: str, visible: bool) -> None:
        self.text = text
        self.color = QColor(255, 255, 255, 180)
        self._x = self._y = 0.0
        self._visible = bool(visible)

    def boundingRect(self) -> QRectF:  # noqa: N802 - the QGraphicsItem API NodeItem calls
        return QRectF(_label_metrics(self.text)[0])

    def isVisible(self) -> bool:  # noqa: N802
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        self._visible = bool(visible)

    def setPos(self, x: float, y: float) -> None:  # noqa: N802
        self._x, self._y = float(x), float(y)

    def pos(self) -> QPointF:
        return QPointF(self._x, self._y)

    def x(self) -> float:
        return self._x

    def y(self) -> float:
        return self._y

    def setDefaultTextColor(self, color: QColor) -> None:  # noqa: N802
        self.color = QColor(color)

    def toPlainText(self) -> str:  # noqa: N802
        return self.text

    def paint(self, painter: QPainter) -> None:
        rect, font = _label_metrics(self.text)
        m = _LABEL_MARGIN
        area = QRectF(self._x + m, self._y + m, rect.width() - 2 * m, rect.height() - 2 * m)
        painter.setFont(font)
        painter.setPen(self.color)
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.text)


_PORT_SIZE = PortEnum.SIZE.value
_PORT_RECT = QRectF(0.0, 0.0, _PORT_SIZE + PortEnum.CLICK_FALLOFF.value, _PORT_SIZE)
_PORT_DOT = QRectF(
    _PORT_RECT.center().x() - _PORT_SIZE / 3.6,
    _PORT_RECT.center().y() - _PORT_SIZE / 3.6,
    _PORT_SIZE / 1.8,
    _PORT_SIZE / 1.8,
)
_HOVER = (QColor(*PortEnum.HOVER_COLOR.value), QColor(*PortEnum.HOVER_BORDER_COLOR.value))
_ACTIVE = (QColor(*PortEnum.ACTIVE_COLOR.value), QColor(*PortEnum.ACTIVE_BORDER_COLOR.value))


def _centered(rect: QRectF, factor: float) -> QRectF:
    w, h = rect.width() / factor, rect.height() / factor
    c = rect.center()
    return QRectF(c.x() - w / 2, c.y() - h / 2, w, h)


class FastPortItem(PortItem):
    """PortItem (whose size NodeGraphQt never changes) drawn the same way, with less work."""

    def boundingRect(self) -> QRectF:  # noqa: N802
        return _PORT_RECT

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None
    ) -> None:
        hovered, connected = self._hovered, bool(self._pipes)
        if hovered:
            color, border = _HOVER
        elif connected:
            color, border = _ACTIVE
        else:
            color, border = QColor(*self._color), QColor(*self._border_color)
        painter.save()
        painter.setPen(QPen(border, 1.8))
        painter.setBrush(color)
        painter.drawEllipse(_PORT_DOT)
        if connected and not hovered:
            own_border = QColor(*self._border_color)
            painter.setPen(QPen(own_border, 1.6))
            painter.setBrush(own_border)
            painter.drawEllipse(_centered(_PORT_DOT, 2.5))
        elif hovered:
            if self._multi_connection:
                painter.setPen(QPen(border, 1.4))
                painter.setBrush(color)
                painter.drawEllipse(_centered(_PORT_DOT, 1.8))
            else:
                painter.setBrush(border)
                painter.drawEllipse(_centered(_PORT_DOT, 3.5))
        painter.restore()


class FastNodeItem(NodeItem):
    deferring = False
    deferred: dict[int, FastNodeItem] = {}

    # The C++ method itself: PySide then never calls into Python for item changes.
    itemChange = QGraphicsItem.itemChange

    def __init__(self, name: str = "node", parent: QGraphicsItem | None = None) -> None:
        # NodeItem.__init__, with the icon from the cache.
        AbstractNodeItem.__init__(self, name, parent)
        self._properties["icon"] = ICON_NODE_BASE
        self._icon_item = QGraphicsPixmapItem(_icon_pixmap(ICON_NODE_BASE), self)
        self._icon_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._text_item = NodeTextItem(self.name, self)
        self._x_item = XDisabledItem(self, "DISABLED")
        self._input_items = OrderedDict()
        self._output_items = OrderedDict()
        self._widgets = OrderedDict()
        self._proxy_mode = False
        self._proxy_mode_threshold = 70

    @NodeItem.icon.setter
    def icon(self, path: str | None = None) -> None:
        self._properties["icon"] = path
        self._icon_item.setPixmap(_icon_pixmap(path or ICON_NODE_BASE))
        if self.scene():
            self.post_init()
        self.update()

    def _new_port(
        self,
        port_type: str,
        name: str,
        multi_port: bool,
        display_name: bool,
        locked: bool,
        painter_func: Any,
    ) -> PortItem:
        # NodeItem.add_input/add_output, with FastPortItem for the default look.
        port = CustomPortItem(self, painter_func) if painter_func else FastPortItem(self)
        port.name = name
        port.port_type = port_type
        port.multi_connection = multi_port
        port.display_name = display_name
        port.locked = locked
        return self._add_port(port)

    def add_input(
        self,
        name: str = "input",
        multi_port: bool = False,
        display_name: bool = True,
        locked: bool = False,
        painter_func: Any = None,
    ) -> PortItem:
        return self._new_port(
            PortTypeEnum.IN.value, name, multi_port, display_name, locked, painter_func
        )

    def add_output(
        self,
        name: str = "output",
        multi_port: bool = False,
        display_name: bool = True,
        locked: bool = False,
        painter_func: Any = None,
    ) -> PortItem:
        return self._new_port(
            PortTypeEnum.OUT.value, name, multi_port, display_name, locked, painter_func
        )

    def auto_switch_mode(self) -> None:
        if ITEM_CACHE_MODE is QGraphicsItem.CacheMode.ItemCoordinateCache:
            return
        viewer = self.viewer()
        if viewer is not None:  # the node's width on screen, as NodeItem measures it
            width = self.sceneBoundingRect().width() * viewer.transform().m11()
            self.set_proxy_mode(width < self._proxy_mode_threshold)

    def _add_port(self, port: PortItem) -> PortItem:
        label = PortLabel(port.name, port.display_name)
        if port.port_type == PortTypeEnum.IN.value:
            self._input_items[port] = label
        elif port.port_type == PortTypeEnum.OUT.value:
            self._output_items[port] = label
        if self.scene():
            self.post_init()
        return port

    def _delete_port(self, port: PortItem, text: PortLabel) -> None:
        port.setParentItem(None)
        if port.scene() is not None:
            port.scene().removeItem(port)
        self.update()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None
    ) -> None:
        super().paint(painter, option, widget)  # also hides labels when zoomed far out
        labels = [
            label
            for label in (*self._input_items.values(), *self._output_items.values())
            if label._visible
        ]
        if labels:
            painter.save()
            for label in labels:
                label.paint(painter)
            painter.restore()

    def from_dict(self, node_dict: dict[str, Any]) -> None:
        current = dict(self._properties, width=self._width, height=self._height)
        current["pos"] = [self.pos().x(), self.pos().y()]
        changed = {
            k: v for k, v in node_dict.items() if k not in current or _differs(current[k], v)
        }
        if self.scene() is None:
            # Not laid out yet: post_init sizes the node from its content, whatever these say.
            changed.pop("width", None)
            changed.pop("height", None)
        super().from_dict(changed)

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


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) != list(b)
    return a != b


def restyle_selection(scene: QGraphicsScene, before: set[FastNodeItem]) -> set[FastNodeItem]:
    """What NodeItem.itemChange did on selection, for the nodes whose selection changed:
    their pipes reset, then highlighted for selected nodes, and selected nodes raised.
    Returns the selected nodes, the ``before`` of the next call."""
    now = {i for i in scene.selectedItems() if isinstance(i, FastNodeItem)}
    changed = [i for i in now ^ before if shiboken6.isValid(i) and i.scene() is scene]
    for item in changed:
        item.reset_pipes()
    for item in changed:
        if item in now:
            item.highlight_pipes()
            item.setZValue(Z_VAL_NODE + 1)
        else:
            item.setZValue(Z_VAL_NODE)
    return now


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
