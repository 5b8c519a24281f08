"""The main window on small screens and at high scale factors: it opens inside the screen's
available area, and its side and bottom docks give way so the canvas keeps at least half
of the window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

SIDE_SHARE = 0.2  # a side dock area gives way down to this share of the window width
BOTTOM_SHARE = 0.28
CANVAS_SHARE = 0.5
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
        self._pending = False
        window = self.window
        central = window.centralWidget()
        if central is None:
            return
        width, height = window.width(), window.height()
        if central.width() < CANVAS_SHARE * width:
            docks = [
                d
                for area in (
                    Qt.DockWidgetArea.LeftDockWidgetArea,
                    Qt.DockWidgetArea.RightDockWidgetArea,
                )
                for d in self._shown_in(area)
            ]
            if docks:
                sizes = [
                    min(d.width(), max(d.minimumSizeHint().width(), int(SIDE_SHARE * width)))
                    for d in docks
                ]
                window.resizeDocks(docks, sizes, Qt.Orientation.Horizontal)
        if central.height() < CANVAS_SHARE * height:
            docks = self._shown_in(Qt.DockWidgetArea.BottomDockWidgetArea)
            if docks:
                sizes = [
                    min(d.height(), max(d.minimumSizeHint().height(), int(BOTTOM_SHARE * height)))
                    for d in docks
                ]
                window.resizeDocks(docks, sizes, Qt.Orientation.Vertical)

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
