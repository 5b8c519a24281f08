"""Icons from qtawesome's Material Design set, drawn in the palette's text colour so they
read in both themes (they are made again when the theme changes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import qtawesome as qta
from PySide6.QtGui import QAction, QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QToolBar

from twinflow_studio.project import NodeKind, get_kind
from twinflow_studio.ui.nodegraph_adapter import set_header_pixmap

CATEGORY_ICONS: dict[str, str] = {
    "Data": "mdi6.database",
    "Tasks": "mdi6.docker",
    "Models": "mdi6.function-variant",
    "Calibration": "mdi6.chart-bell-curve",
    "Composition": "mdi6.puzzle-outline",
    "Parts": "mdi6.package-variant-closed",
}
OTHER_CATEGORY = "mdi6.shape-outline"  # a plugin's own category

# Toolbar and menu actions, by the name MainWindow.actions_by_name knows them by.
ACTION_ICONS: dict[str, str] = {
    "New": "mdi6.file-plus-outline",
    "Open": "mdi6.folder-open-outline",
    "Save": "mdi6.content-save-outline",
    "Undo": "mdi6.undo",
    "Redo": "mdi6.redo",
    "Run": "mdi6.play",
    "Run selected": "mdi6.play-box-outline",
    "Cancel run": "mdi6.stop",
    "Go live": "mdi6.broadcast",
    "Zoom to fit": "mdi6.fit-to-screen-outline",
    "Auto-layout": "mdi6.sitemap-outline",
    "Validate": "mdi6.check-decagram-outline",
    "Find node": "mdi6.magnify",
    "Open outputs": "mdi6.table-eye",
}


def _palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if isinstance(app, QApplication) else QPalette()


def icon(name: str, color: QColor | None = None) -> QIcon:
    """A qtawesome icon in ``color`` (default: the palette's button text), greyed out
    as the palette greys disabled text."""
    pal = _palette()
    ink = color or pal.color(QPalette.ColorRole.ButtonText)
    off = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    return qta.icon(name, color=ink, color_disabled=off)


def category_icon(category: str) -> QIcon:
    return icon(CATEGORY_ICONS.get(category, OTHER_CATEGORY))


def kind_icon(kind: NodeKind) -> QIcon:
    """A kind's own theme icon when the desktop theme has it, else its category's."""
    if kind.icon and QIcon.hasThemeIcon(kind.icon):
        return QIcon.fromTheme(kind.icon)
    return category_icon(kind.category)


def apply_action_icons(actions: dict[str, QAction], extra: Iterable[QAction] = ()) -> None:
    """Icons on the named actions, and on ``extra`` ones found by their text (the
    toolbar's own Undo/Redo)."""
    for name, action in actions.items():
        if name in ACTION_ICONS:
            action.setIcon(icon(ACTION_ICONS[name]))
    for action in extra:
        name = action.text().replace("&", "")
        if name in ACTION_ICONS:
            action.setIcon(icon(ACTION_ICONS[name]))


def header_pixmap(category: str, rgba: Any, size: int = 18) -> QPixmap:
    """The category icon for a node's header, in the node's own title colour (the node
    body has the category colour in both themes)."""
    color = QColor(*rgba[:3])
    return qta.icon(CATEGORY_ICONS.get(category, OTHER_CATEGORY), color=color).pixmap(size, size)


class StudioIcons:
    """Keeps the window's icons in the current theme: actions, palette, node headers (on the
    project's canvas and on the canvas of every subgraph body open in it)."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self._headers: dict[tuple[str, tuple[int, ...]], QPixmap] = {}
        doc = window.doc
        # Connected after the canvas's own slots: the node views exist when these run.
        doc.nodesAdded.connect(self.node_headers)
        doc.nodeChanged.connect(lambda node_id: self.node_headers([node_id]))
        doc.reset.connect(lambda: self.node_headers(list(window.doc.project.nodes)))

    def watch(self, doc: Any, canvas: Any) -> None:
        """Headers on ``canvas``, a body's own, kept as its ``doc`` changes (to be called
        once its canvas exists, so that its slots run first)."""

        def paint(node_ids: list[str]) -> None:
            self.paint_headers(canvas, doc.project.nodes, node_ids)

        doc.nodesAdded.connect(paint)
        doc.nodeChanged.connect(lambda node_id: paint([node_id]))
        doc.reset.connect(lambda: paint(list(doc.project.nodes)))
        paint(list(doc.project.nodes))

    def refresh(self) -> None:
        w = self.window
        apply_action_icons(w.actions_by_name, w.findChild(QToolBar, "toolbar_main").actions())
        w.palette_panel.list.fill(w.palette_panel.search.text())
        self.node_headers(list(w.doc.project.nodes))
        for level in w.composition.bodies.levels:
            self.paint_headers(level.canvas, level.doc.project.nodes, list(level.doc.project.nodes))

    def node_headers(self, node_ids: list[str]) -> None:
        self.paint_headers(self.window.canvas, self.window.doc.project.nodes, node_ids)

    def paint_headers(self, canvas: Any, nodes: dict[str, Any], node_ids: list[str]) -> None:
        for node_id in node_ids:
            view, node = canvas.node_view(node_id), nodes.get(node_id)
            if view is None or node is None:
                continue
            kind = get_kind(node.kind)
            category = kind.category if kind is not None else ""
            item = view.view
            rgba = tuple(item.text_color)
            key = (category, rgba)
            pixmap = self._headers.get(key)
            if pixmap is None:
                pixmap = self._headers[key] = header_pixmap(category, rgba)
            set_header_pixmap(item, pixmap)
