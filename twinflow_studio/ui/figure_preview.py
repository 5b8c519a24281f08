"""Small previews of figure outputs under their nodes on the canvas (as ComfyUI shows
images), switchable off (View ▸ Figure previews, remembered in the settings)."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from twinflow_studio.ui.run_outputs import NodeOutput, RunOutputs
from twinflow_studio.ui.viewers.simple_views import IMAGE_SUFFIXES, load_image

PREVIEW_WIDTH = 180
PREVIEW_BYTES = 16 << 20
SETTING = "view/figure_previews"


class FigurePreviews:
    def __init__(self, canvas: object, outputs: Callable[[], RunOutputs], enabled: bool) -> None:
        self.canvas = canvas
        self.outputs = outputs
        self.enabled = enabled
        self.items: dict[str, QGraphicsPixmapItem] = {}
        self._shown: dict[str, NodeOutput] = {}

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            self.refresh()
        else:
            self.clear()

    def clear(self) -> None:
        for item in self.items.values():
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.items = {}

    def refresh(self, summary: dict | None = None) -> None:
        """Show the figures of the newest run (or of ``summary``, a run just finished)."""
        self.clear()
        if not self.enabled:
            return
        source = self.outputs()
        if summary is not None:
            run_id = str(summary.get("run_id", ""))
            by_node = {
                n: [source.output(run_id, n, p, u) for p, u in (d.get("outputs") or {}).items()]
                for n, d in (summary.get("nodes") or {}).items()
                if isinstance(d, dict)
            }
        else:
            newest = source.newest()
            if newest is None:
                return
            by_node = newest[1]
        for node_id, outputs in by_node.items():
            figure = next(
                (
                    o
                    for o in outputs
                    if o.path is not None and o.path.suffix.lower() in IMAGE_SUFFIXES
                ),
                None,
            )
            if figure is not None:
                self._show(node_id, figure)

    def _show(self, node_id: str, figure: NodeOutput) -> None:
        view = self.canvas.node_view(node_id)  # type: ignore[attr-defined]
        if view is None or figure.path is None:
            return
        image = load_image(figure.path, PREVIEW_BYTES)
        if image is None:
            return
        pixmap = QPixmap.fromImage(image).scaledToWidth(
            PREVIEW_WIDTH, Qt.TransformationMode.SmoothTransformation
        )
        item = QGraphicsPixmapItem(pixmap, view.view)
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setToolTip(f"{node_id}.{figure.port}: double-click the port to open it")
        # Below the node and its state badge.
        item.setPos(0, view.view.boundingRect().height() + 22)
        self.items[node_id] = item
        self._shown[node_id] = figure
