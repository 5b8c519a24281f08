"""Everything the studio does with NodeGraphQt beyond its public API, in one place.

NodeGraphQt is pinned below its next minor (pyproject.toml) because the studio reaches into
it: private attributes of its items and viewer, its gesture hooks (``NodeGraph._on_*``) and
its item classes, subclassed to be cheap to build. Only this module does so (a test checks
it); the canvas and the node class go through what it exports, so a NodeGraphQt upgrade is
checked here.

Item classes. ``FastNodeItem`` is NodeGraphQt's ``NodeItem`` made cheap to build, for
opening large projects:

- it can defer its layout pass: NodeGraphQt lays a node out again after every port and
  property it receives (three passes per node); while a whole project is being built, each
  node is laid out once at the end instead;
- it loads and scales the node icon once per process, not twice per node;
- it skips re-applying model properties the item already has (NodeGraphQt pushes the whole
  model into the item, and each setter has side effects: tooltips, pixmaps, size passes);
- the title and port labels are painted by the node, not made of one QGraphicsTextItem (a
  text document) each: ``PortLabel`` and ``TitleLabel`` keep what NodeGraphQt asks of a
  label (geometry measured once per text by one shared document, visibility, colour) and
  ``paint`` draws them; a double-click on the title puts a real text item
  (``TitleEditor``) there for as long as the rename lasts;
- its ports (``FastPortItem``) compute their fixed bounding rect and colours once, and it
  decides on proxy mode (zoomed far out) from the view scale rather than two mappings to
  global coordinates per paint;
- it has no Python ``itemChange``: PySide routes every change of every item with such an
  override through Python (about 25 per node while building). What NodeItem did there, on
  selection (pipe highlight, raising the node), ``restyle_selection`` does from the scene's
  selectionChanged signal. Pipes (``FastPipeItem``) likewise.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import shiboken6
from NodeGraphQt import BackdropNode, BaseNode, NodeGraph
from NodeGraphQt.constants import (
    ICON_NODE_BASE,
    ITEM_CACHE_MODE,
    Z_VAL_NODE,
    NodeEnum,
    PortEnum,
    PortTypeEnum,
)
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_backdrop import BackdropNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.node_overlay_disabled import XDisabledItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import CustomPortItem, PortItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QPainter,
    QPen,
    QPixmap,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

# NodeGraphQt's public classes the studio builds on, exported from here so that the rest of
# ui/ names NodeGraphQt in no import.
__all__ = [
    "BackdropNode",
    "BackdropNodeItem",
    "BaseNode",
    "FastNodeItem",
    "FastPipeItem",
    "GestureGraph",
    "LodTitle",
    "NodeGraph",
    "NodeViewer",
    "PortItem",
    "PortTypeEnum",
    "disable_builtin_undo",
    "draw_direction_pointer",
    "restyle_selection",
    "scene_range",
    "set_item_color",
    "set_scene_range",
]

_ICONS: dict[str, QPixmap] = {}


def set_header_pixmap(item: NodeItem, pixmap: QPixmap) -> None:
    """Draw ``pixmap`` in a node's header icon slot (no image file needed)."""
    item._icon_item.setPixmap(pixmap)


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
_LABELS: dict[tuple[str, str], tuple[QRectF, QFont]] = {}
_MEASURE: list[QTextDocument] = []  # one document measures every label


def _label_metrics(text: str, font: QFont | None = None) -> tuple[QRectF, QFont]:
    """The bounding rect and font the QGraphicsTextItem NodeItem used would have: its
    bounding rect is its document's size, measured here without making an item per text."""
    key = (text, font.key() if font is not None else "")
    metrics = _LABELS.get(key)
    if metrics is None:
        if not _MEASURE:
            _MEASURE.append(QTextDocument())
        doc = _MEASURE[0]
        if font is None:
            font = _default_label_font()
        doc.setDefaultFont(font)
        doc.setPlainText(text)
        if len(_LABELS) > 20000:  # unique node titles: keep the cache from growing forever
            _LABELS.clear()
        metrics = _LABELS[key] = (QRectF(QPointF(0.0, 0.0), doc.size()), QFont(font))
    return metrics


def _default_label_font() -> QFont:
    if not _DEFAULT_FONT:
        _DEFAULT_FONT.append(QGraphicsTextItem().font())
    return _DEFAULT_FONT[0]


_DEFAULT_FONT: list[QFont] = []


class PortLabel:
    """A port's name, as NodeItem's layout and proxy mode use its label; the node paints it."""

    __slots__ = ("text", "color", "font", "_x", "_y", "_visible")

    def __init__(self, text: str, visible: bool) -> None:
        self.text = text
        self.color = QColor(255, 255, 255, 180)
        self.font: QFont | None = None  # None: the default font
        self._x = self._y = 0.0
        self._visible = bool(visible)

    def boundingRect(self) -> QRectF:  # noqa: N802 - the QGraphicsItem API NodeItem calls
        return QRectF(_label_metrics(self.text, self.font)[0])

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

    def rect(self) -> QRectF:
        """Where the label is, in its node's coordinates."""
        return self.boundingRect().translated(self._x, self._y)

    def paint(self, painter: QPainter) -> None:
        rect, font = _label_metrics(self.text, self.font)
        m = _LABEL_MARGIN
        area = QRectF(self._x + m, self._y + m, rect.width() - 2 * m, rect.height() - 2 * m)
        painter.setFont(font)
        painter.setPen(self.color)
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.text)


class TitleLabel(PortLabel):
    """The node's name as NodeItem's layout uses its title text item; the node paints it, and
    a real text item (``TitleEditor``) exists only while the name is being edited."""

    __slots__ = ()

    def __init__(self, text: str) -> None:
        super().__init__(text, True)

    def setPlainText(self, text: str) -> None:  # noqa: N802
        self.text = text

    def setFont(self, font: QFont) -> None:  # noqa: N802
        self.font = QFont(font)


class TitleEditor(QGraphicsTextItem):
    """Edits a node's name in place, as NodeGraphQt's NodeTextItem does: Return or leaving
    the field renames the node (through the viewer's node_name_changed), Escape cancels."""

    def __init__(self, node: FastNodeItem) -> None:
        title = node._text_item
        super().__init__(title.text, node)
        self._node = node
        self._done = False
        if title.font is not None:
            self.setFont(title.font)
        self.setDefaultTextColor(title.color)
        self.setPos(title.pos())
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsFocusable, True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextEditable
            | Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish(commit=True)
        elif event.key() == Qt.Key.Key_Escape:
            self.finish(commit=False)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.finish(commit=True)

    def finish(self, commit: bool) -> None:
        if self._done:
            return
        self._done = True
        name, node = self.toPlainText().strip(), self._node
        node._close_title_editor(self)
        # Last: the canvas answers a rename by rebuilding the node, this editor with it.
        if commit and name != node.name and node.viewer() is not None:
            node.viewer().node_name_changed.emit(node.id, name)


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


class LodTitle(QGraphicsItem):
    """A zoomed-out node's title: drawn above the node at a fixed size on screen (it ignores
    the view's scale), shown only while the node is drawn as a proxy (level of detail)."""

    MAX_W = 150.0
    PIXEL_SIZE = 11
    color: tuple[int, int, int] = (235, 236, 240)  # the canvas sets the theme's

    def __init__(self, node: FastNodeItem) -> None:
        super().__init__(node)
        self._node = node
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setVisible(False)

    def _font(self) -> QFont:
        font = QFont(_default_label_font())
        font.setPixelSize(self.PIXEL_SIZE)
        font.setBold(True)
        return font

    def boundingRect(self) -> QRectF:  # noqa: N802
        h = self.PIXEL_SIZE + 6.0
        return QRectF(-self.MAX_W / 2, -h - 2.0, self.MAX_W, h)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None
    ) -> None:
        font = self._font()
        metrics = QFontMetricsF(font)
        viewer = self._node.viewer()
        scale = viewer.transform().m11() if viewer is not None else 1.0
        # Room for about two node widths, so neighbouring titles do not run into each other.
        width = min(self.MAX_W, max(48.0, 1.9 * self._node.width * scale))
        text = metrics.elidedText(self._node._text_item.text, Qt.TextElideMode.ElideRight, width)
        rect = self.boundingRect()
        painter.setFont(font)
        painter.setPen(QColor(*self.color))
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)


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
        self._text_item = TitleLabel(self.name)
        self._title_editor: TitleEditor | None = None
        self._x_item = XDisabledItem(self, "DISABLED")
        self._input_items = OrderedDict()
        self._output_items = OrderedDict()
        self._widgets = OrderedDict()
        self._proxy_mode = False
        self._proxy_mode_threshold = 70
        self._lod_title: LodTitle | None = None  # made the first time it is zoomed out
        self.badge: QGraphicsSimpleTextItem | None = None  # run state, TwinNode's
        self.badge_wanted = False

    def in_proxy_mode(self) -> bool:
        """Whether the node is drawn zoomed far out (titles only)."""
        return bool(self._proxy_mode)

    def set_proxy_mode(self, mode: bool) -> None:
        # Zoomed far out, port names and the state text are too small to read and are
        # dropped (the node's colour still shows its state); the title stays, at a size
        # that can be read.
        if mode is self._proxy_mode:
            return
        super().set_proxy_mode(mode)
        if mode and self._lod_title is None:
            self._lod_title = LodTitle(self)
        if self._lod_title is not None:
            self._lod_title.setPos(self._width / 2, 0.0)
            self._lod_title.setVisible(mode)
        if self.badge is not None:
            self.badge.setVisible(self.badge_wanted and not mode)

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
        port._multi_connection = multi_port  # the locked setter below sets the same tooltip
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

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        # NodeItem's: a double-click on the title edits it (and is not a node double-click).
        title = self._text_item
        if (
            event.button() == Qt.MouseButton.LeftButton
            and not self.disabled
            and title._visible
            and self._title_editor is None
            and title.rect().contains(event.pos())
        ):
            self.edit_title()
            event.ignore()
            return
        super().mouseDoubleClickEvent(event)

    def edit_title(self) -> TitleEditor:
        """Swap the painted title for a text item that edits it."""
        if self._title_editor is None:
            self._title_editor = TitleEditor(self)
            self._text_item._visible = False
            self.update()
        self._title_editor.setFocus()
        return self._title_editor

    def _close_title_editor(self, editor: TitleEditor) -> None:
        if self._title_editor is editor:
            self._title_editor = None
            self._text_item._visible = not self._proxy_mode
            self.update()
        editor.setVisible(False)  # hidden now; removed once its key or focus event is over
        QTimer.singleShot(0, lambda: _discard(editor))

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None
    ) -> None:
        super().paint(painter, option, widget)  # also hides labels when zoomed far out
        labels = [
            label
            for label in (
                self._text_item,
                *self._input_items.values(),
                *self._output_items.values(),
            )
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


def _discard(item: QGraphicsItem) -> None:
    if shiboken6.isValid(item) and item.scene() is not None:
        item.scene().removeItem(item)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) != list(b)
    return a != b


class FastPipeItem(PipeItem):
    """PipeItem without a Python ``itemChange`` (see FastNodeItem); what it did there, on
    selection, ``restyle_selection`` does."""

    itemChange = QGraphicsItem.itemChange


def restyle_selection(scene: QGraphicsScene, before: set[QGraphicsItem]) -> set[QGraphicsItem]:
    """What NodeItem.itemChange and PipeItem.itemChange did on selection, for the nodes and
    pipes whose selection changed: the nodes' pipes reset, pipes lit or reset as selected,
    then selected nodes' pipes lit and selected nodes raised (Qt deselects before it
    selects, so the newly selected win). Returns the selected items, the ``before`` of the
    next call."""
    now = {i for i in scene.selectedItems() if isinstance(i, (FastNodeItem, FastPipeItem))}
    changed = [i for i in now ^ before if shiboken6.isValid(i) and i.scene() is scene]
    nodes = [i for i in changed if isinstance(i, FastNodeItem)]
    for item in nodes:
        item.reset_pipes()
    for item in changed:
        if isinstance(item, FastPipeItem):
            if item in now:
                item.highlight()
            else:
                item.reset()
    for item in nodes:
        if item in now:
            item.highlight_pipes()
            item.setZValue(Z_VAL_NODE + 1)
        else:
            item.setZValue(Z_VAL_NODE)
    return now


def set_item_color(item: NodeItem, rgb: tuple[int, int, int]) -> None:
    """Colour one node item. NodeItem's own colour setter repaints the whole scene; only
    this node changed."""
    AbstractNodeItem.color.fset(item, (*rgb, 255))


def scene_range(viewer: NodeViewer) -> QRectF:
    """The scene rectangle the viewer shows (NodeGraphQt pans and zooms by this range)."""
    return QRectF(viewer._scene_range)


def set_scene_range(viewer: NodeViewer, rect: QRectF) -> None:
    """Show ``rect``: NodeGraphQt has no public call for it, so its range is set."""
    viewer._scene_range = QRectF(rect)
    viewer._update_scene()


def disable_builtin_undo(viewer: NodeViewer) -> None:
    """Take Ctrl+Z/Ctrl+Shift+Z from NodeGraphQt's own undo actions (the studio's undo is
    the Document's stack)."""
    for action in (viewer._undo_action, viewer._redo_action):
        if action is not None:
            action.setShortcuts([])
            action.setEnabled(False)


def draw_direction_pointer(pipe: PipeItem) -> None:
    """Redraw a pipe's direction arrow after its path was replaced."""
    pipe._draw_direction_pointer()


# NodeGraph's gesture hooks, each private there and called by its viewer's signals.
GESTURE_HOOKS = (
    "connection_changed",
    "connection_sliced",
    "nodes_moved",
    "node_data_dropped",
    "node_name_changed",
    "search_triggered",
    "insert_node",
    "node_backdrop_updated",
)


class GestureGraph(NodeGraph):
    """NodeGraph whose gesture hooks call public methods ``on_<hook>`` (see GESTURE_HOOKS),
    which a subclass overrides; by default each does what NodeGraph's ``_on_<hook>`` does."""


def _forward(hook: str) -> None:
    private = getattr(NodeGraph, f"_on_{hook}")

    def to_public(self: GestureGraph, *args: Any) -> None:
        getattr(self, f"on_{hook}")(*args)

    def default(self: GestureGraph, *args: Any) -> None:
        private(self, *args)

    setattr(GestureGraph, f"_on_{hook}", to_public)
    setattr(GestureGraph, f"on_{hook}", default)


for _hook in GESTURE_HOOKS:
    _forward(_hook)
