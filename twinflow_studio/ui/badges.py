"""Badges above each node: invalid (the problem on hover), changed since its last successful
run, running/queued, and muted.

Validation and freshness (``engine.freshness``: the engine's cache key against the run
cache) are computed on a worker thread, on a copy of the project taken after the edits
settle; the results come back to the UI thread through a queued signal, and a result for
an older state of the document is dropped. Run states come from the run controller as they
change. Muted nodes are also drawn faded.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from twinflow_studio.engine.freshness import FRESH, STALE, Freshness, freshness
from twinflow_studio.project import Project, validate
from twinflow_studio.ui.canvas import Canvas
from twinflow_studio.ui.canvas_items import TwinNode
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.problem_text import describe

log = logging.getLogger(__name__)
SETTLE_MS = 300  # edits (typing) settle before the project is checked again
MUTED_OPACITY = 0.45
RUN_BADGES = {"pending": "queued", "queued": "queued", "running": "running", "retrying": "retrying"}


@dataclass(frozen=True)
class Badge:
    key: str  # invalid, stale, queued, running, retrying, muted
    text: str
    rgb: tuple[int, int, int]
    tooltip: str


COLORS: dict[str, tuple[int, int, int]] = {
    "invalid": (205, 50, 50),
    "stale": (215, 140, 20),
    "queued": (95, 95, 150),
    "running": (30, 110, 210),
    "retrying": (220, 140, 20),
    "muted": (110, 110, 118),
}


class BadgePill(QGraphicsItem):
    """A small rounded label with a tooltip, a child of the node it is about."""

    PIXEL_SIZE = 10
    _font: QFont | None = None
    _widths: dict[str, float] = {}  # the few badge texts, measured once

    def __init__(self, badge: Badge, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.badge = badge
        self.setToolTip(badge.tooltip)
        self.setAcceptHoverEvents(True)
        # Readable on a muted (faded) node too.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresParentOpacity, True)
        font = self.font()
        width = self._widths.get(badge.text)
        if width is None:
            width = self._widths[badge.text] = (
                QFontMetricsF(font).horizontalAdvance(badge.text) + 10.0
            )
        self._rect = QRectF(0.0, 0.0, width, self.PIXEL_SIZE + 6.0)

    @classmethod
    def font(cls) -> QFont:
        if cls._font is None:
            cls._font = QFont()
            cls._font.setPixelSize(cls.PIXEL_SIZE)
            cls._font.setBold(True)
        return cls._font

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        path = QPainterPath()
        path.addRoundedRect(self._rect, 4.0, 4.0)
        painter.fillPath(path, QColor(*self.badge.rgb))
        painter.setPen(QColor(255, 255, 255))
        painter.setFont(self.font())
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.badge.text)
        painter.restore()


def show_badges(view: TwinNode, badges: list[Badge]) -> None:
    """Replace the node's pills (right-aligned above it) with ``badges``."""
    item = view.view
    old: list[BadgePill] = getattr(view, "_pills", [])
    if [p.badge for p in old if shiboken6.isValid(p)] == badges:
        return
    for pill in old:
        if shiboken6.isValid(pill) and pill.scene() is not None:
            pill.scene().removeItem(pill)
    pills = [BadgePill(b, item) for b in badges]
    x = item.boundingRect().width()
    for pill in reversed(pills):
        x -= pill.boundingRect().width() + 3.0
        pill.setPos(x, -pill.boundingRect().height() - 3.0)
    view._pills = pills  # type: ignore[attr-defined]


def shown_badges(view: TwinNode) -> list[Badge]:
    return [p.badge for p in getattr(view, "_pills", []) if shiboken6.isValid(p)]


def worker_copy(project: Project) -> Project:
    """A copy of the project for the worker thread, sharing its nodes: the Document replaces
    a node on every edit and never changes one in place, so sharing them is safe, and a
    deep copy would cost the UI thread ~150 ms per 1,000 nodes (benchmarks/freshness.py)."""
    return dataclasses.replace(
        project,
        nodes=dict(project.nodes),
        edges=list(project.edges),
        profiles=dict(project.profiles),
        targets=dict(project.targets),
        triggers=list(project.triggers),
        settings=copy.deepcopy(project.settings),
        layout=dict(project.layout),
    )


def default_store_root(project: Project, project_dir: Path) -> Path:
    """Where a run of the project keeps its cache (as the engine decides it)."""
    root = Path(str(project.settings.get("run_store", "") or project_dir / ".twinflow"))
    return root if root.is_absolute() else project_dir / root


class BadgeBoard(QObject):
    """Keeps every node's badges in step with the document, the run cache and the run."""

    updated = Signal()  # the badges from a check are on the canvas
    _checked = Signal(int, object, object)  # generation, problems by node, freshness

    def __init__(
        self,
        canvas: Canvas,
        doc: Document,
        project_dir: Callable[[], Path],
        store_root: Callable[[], Path | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas, self.doc = canvas, doc
        self._project_dir, self._store_root = project_dir, store_root
        self.problems: dict[str, list[str]] = {}
        self.freshness: dict[str, Freshness] = {}
        self.run_states: dict[str, str] = {}
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check_now)
        self._checked.connect(self._on_checked, Qt.ConnectionType.QueuedConnection)
        for signal in (
            doc.reset,
            doc.nodesAdded,
            doc.nodesRemoved,
            doc.edgesAdded,
            doc.edgesRemoved,
            doc.nodeChanged,
            doc.resourcesChanged,
            doc.pathChanged,
        ):
            signal.connect(self.schedule)
        doc.reset.connect(self._forget_run)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        # Back in the studio after editing data or code elsewhere: check again.
        if event.type() == QEvent.Type.WindowActivate:
            self.schedule()
        return False

    # ----- checking -----
    def schedule(self, *_: Any) -> None:
        """Check again once the edits settle; the muted look follows at once."""
        self._generation += 1
        self.apply()
        self._timer.start()

    def check_now(self) -> None:
        """Validate and compute freshness of a copy of the project on a worker thread."""
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        project = worker_copy(self.doc.project)
        project_dir = self._project_dir()
        store = self._store_root() or default_store_root(project, project_dir)

        def work() -> None:
            problems: dict[str, list[str]] = {}
            try:
                for problem in validate(project):
                    if problem.node_id and problem.severity == "error":
                        problems.setdefault(problem.node_id, []).append(describe(problem, project))
            except Exception as exc:  # a half-edited project must not stop the badges
                problems = {}
                log.warning("validation for the badges failed: %s", exc)
            try:
                fresh = freshness(project, project_dir, store, lambda: self._stale(generation))
            except Exception:  # a broken subgraph file etc.: validation says what
                fresh = {}
            if not self._stale(generation):
                self._checked.emit(generation, problems, fresh)

        self._worker = threading.Thread(target=work, name="twinflow-badges", daemon=True)
        self._worker.start()

    def _stale(self, generation: int) -> bool:
        return generation != self._generation

    def _on_checked(self, generation: int, problems: Any, fresh: Any) -> None:
        if generation != self._generation or not shiboken6.isValid(self.canvas):
            return
        self.problems, self.freshness = problems, fresh
        self.apply()
        self.updated.emit()

    # ----- runs -----
    def set_run_states(self, states: dict[str, tuple[str, str]]) -> None:
        for node_id, (state, _text) in states.items():
            if state in RUN_BADGES:
                self.run_states[node_id] = state
            else:
                self.run_states.pop(node_id, None)
        self.apply(list(states))

    def run_finished(self, *_: Any) -> None:
        self.run_states = {}
        self.check_now()  # what ran is fresh now

    def _forget_run(self) -> None:
        self.run_states, self.problems, self.freshness = {}, {}, {}

    # ----- drawing -----
    def badges_for(self, node_id: str) -> list[Badge]:
        node = self.doc.project.nodes.get(node_id)
        if node is None:
            return []
        out = []
        if node_id in self.problems:
            text = "\n".join(self.problems[node_id])
            out.append(Badge("invalid", "!", COLORS["invalid"], text))
        fresh = self.freshness.get(node_id)
        if fresh is not None and fresh.state == STALE and node_id not in self.run_states:
            out.append(Badge("stale", "changed", COLORS["stale"], fresh.reason))
        state = self.run_states.get(node_id)
        if state is not None:
            label = RUN_BADGES[state]
            out.append(Badge(label, label, COLORS[label], f"{label} in the current run"))
        if node.muted:
            out.append(
                Badge("muted", "muted", COLORS["muted"], "muted: runs skip it and its downstream")
            )
        return out

    def apply(self, node_ids: list[str] | None = None) -> None:
        for node_id in node_ids if node_ids is not None else list(self.doc.project.nodes):
            view = self.canvas.node_view(node_id)
            node = self.doc.project.nodes.get(node_id)
            if view is None or node is None:
                continue
            show_badges(view, self.badges_for(node_id))
            view.view.setOpacity(MUTED_OPACITY if node.muted else 1.0)

    def is_fresh(self, node_id: str) -> bool:
        fresh = self.freshness.get(node_id)
        return fresh is not None and fresh.state == FRESH
