"""The main window on small screens and at high scale factors: it opens inside the screen's
available area, and its side and bottom docks give way so the canvas keeps at least half
of the window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

CANVAS_SHARE = 0.5
SLACK = 8  # pixels over the share, for the splitters between docks and canvas
FRAME_ALLOWANCE = (16, 48)  # title bar and borders, before the window manager reports them


def fitted(window: QRect, frame: QRect, available: QRect) -> QRect:
    """The window geometry (client area) whose frame fits ``available``; ``frame`` is the
    current frame geometry (its margins around ``window``)."""
    extra_w = max(frame.width() - window.width(), 0) or FRAME_ALLOWANCE[0]
    extra_h = max(frame.height() - window.height(), 0) or FRAME_ALLOWANCE[1]
    left, top = window.x() - frame.x(), window.y() - frame.y()
    w = min(window.width(), available.width() - extra_w)
    h = min(window.height(), available.height() - extra_h)
    fx = min(max(frame.x(), available.x()), available.right() + 1 - (w + extra_w))
    fy = min(max(frame.y(), available.y()), available.bottom() + 1 - (h + extra_h))
    return QRect(fx + (left or extra_w // 2), fy + (top or extra_h - extra_w // 2), w, h)


class WindowFit(QObject):
    """Event filter on the main window: fits it to the screen when it is first shown (and
    whenever it is shown larger than the screen), and rebalances docks after a resize."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._pending = False
        self._wanted: dict[QDockWidget, int] = {}  # sizes docks gave up for the canvas
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.window:
            if event.type() == QEvent.Type.Show:
                self.fit_to_screen()
                QTimer.singleShot(0, self.fit_to_screen)  # again, with the real frame
            elif event.type() == QEvent.Type.Resize and not self._pending:
                self._pending = True
                QTimer.singleShot(0, self.balance_docks)
        return False

    def fit_to_screen(self) -> None:
        window = self.window
        screen = window.screen()
        if screen is None or window.isMaximized() or window.isFullScreen():
            return
        target = fitted(window.geometry(), window.frameGeometry(), screen.availableGeometry())
        if target != window.geometry():
            window.setGeometry(target)

    def balance_docks(self) -> None:
        """Shrink the docks, each in proportion to what it can give (down to its minimum
        size), just enough for the canvas to keep ``CANVAS_SHARE`` of the window."""
        self._pending = False
        window = self.window
        central = window.centralWidget()
        if central is None:
            return
        sides = [
            d
            for area in (
                Qt.DockWidgetArea.LeftDockWidgetArea,
                Qt.DockWidgetArea.RightDockWidgetArea,
            )
            for d in self._shown_in(area)
        ]
        bottom = self._shown_in(Qt.DockWidgetArea.BottomDockWidgetArea)
        for docks, orientation, room, size, minimum in (
            (sides, Qt.Orientation.Horizontal, central.width(), _width, _min_width),
            (bottom, Qt.Orientation.Vertical, central.height(), _height, _min_height),
        ):
            if not docks:
                continue
            total = window.width() if orientation == Qt.Orientation.Horizontal else window.height()
            need = int(CANVAS_SHARE * total) + SLACK - room
            current = [size(d) for d in docks]
            if need > 0:
                sizes = shrunk(current, [minimum(d) for d in docks], need)
                for dock, before, after in zip(docks, current, sizes, strict=True):
                    if after < before:  # what it had, to give back when there is room
                        self._wanted.setdefault(dock, before)
            elif need < -SLACK and any(self._wanted.get(d, 0) > size(d) for d in docks):
                wanted = [max(self._wanted.get(d, 0), size(d)) for d in docks]
                sizes = regrown(current, wanted, -need)
                for dock, after in zip(docks, sizes, strict=True):
                    if after >= self._wanted.get(dock, after):
                        self._wanted.pop(dock, None)
            else:
                continue
            window.resizeDocks(docks, sizes, orientation)

    def _shown_in(self, area: Qt.DockWidgetArea) -> list[QDockWidget]:
        """One dock per tab group in ``area``: the one on top."""
        window = self.window
        return [
            d
            for d in window.findChildren(QDockWidget)
            if window.dockWidgetArea(d) == area
            and d.isVisible()
            and not d.isFloating()
            and not d.visibleRegion().isEmpty()
        ]


def shrunk(sizes: list[int], minimums: list[int], need: int) -> list[int]:
    """``sizes`` made ``need`` smaller in total, each in proportion to what it has above
    its minimum (never below it)."""
    spare = [max(s - m, 0) for s, m in zip(sizes, minimums, strict=True)]
    total = sum(spare)
    if total <= 0:
        return list(sizes)
    take = min(need, total)
    return [s - round(take * sp / total) for s, sp in zip(sizes, spare, strict=True)]


def _min_width(dock: QDockWidget) -> int:
    return max(dock.minimumSizeHint().width(), dock.minimumWidth())


def _min_height(dock: QDockWidget) -> int:
    return max(dock.minimumSizeHint().height(), dock.minimumHeight())


def regrown(sizes: list[int], wanted: list[int], room: int) -> list[int]:
    """``sizes`` grown back toward ``wanted``, by at most ``room`` in total."""
    missing = [max(w - s, 0) for s, w in zip(sizes, wanted, strict=True)]
    total = sum(missing)
    if total <= 0:
        return list(sizes)
    give = min(room, total)
    return [s + round(give * m / total) for s, m in zip(sizes, missing, strict=True)]


def _width(dock: QDockWidget) -> int:
    return dock.width()


def _height(dock: QDockWidget) -> int:
    return dock.height()


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a scroll area, for a dock: a panel whose content needs more room than a
    small screen has (the lineage tables, the profile editors) scrolls instead of making the
    whole window taller than the screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area
