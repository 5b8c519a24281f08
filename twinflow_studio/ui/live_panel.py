"""The Live panel: triggers and their state, Fire now, the queue of triggered runs, and the
twin's status (each calibrated parameter's history with its 90 % band, the latest drift
report, the time of the last data, observed vs predicted of the latest window)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Trigger", "Kind", "State", "Next fire", "Last fired", "Why")


def _clock(stamp: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp)) if stamp else "–"


def _why(cause: dict[str, Any] | None) -> str:
    if not cause:
        return ""
    detail = cause.get("detail") or {}
    if isinstance(detail, dict):
        if detail.get("added") or detail.get("changed"):
            files = (detail.get("added") or []) + (detail.get("changed") or [])
            return f"new data: {', '.join(files[:3])}" + (" …" if len(files) > 3 else "")
        if detail.get("requested"):
            return f"fired by hand ({detail.get('reason') or 'requested'})"
        if "drifted" in detail:
            return "drift check says drifted"
        if "interval" in detail:
            return f"schedule every {detail['interval']:g} s"
    return json.dumps(detail, default=str)[:80]


class LivePanel(QWidget):
    toggleRequested = Signal()
    fireRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = QLabel("Not live.")
        self.toggle = QPushButton("Go live")
        self.fire = QPushButton("Fire now")
        self.fire.setEnabled(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.queue = QListWidget()
        triggers = QWidget()
        lay = QVBoxLayout(triggers)
        row = QHBoxLayout()
        row.addWidget(self.state, 1)
        row.addWidget(self.fire)
        row.addWidget(self.toggle)
        lay.addLayout(row)
        lay.addWidget(self.table, 2)
        lay.addWidget(QLabel("Triggered runs (queued, running, done):"))
        lay.addWidget(self.queue, 1)
        self.status_info = QLabel("No status yet.")
        self.status_info.setWordWrap(True)
        self.figure = Figure(figsize=(4, 2), layout="constrained")
        self.plot = FigureCanvasQTAgg(self.figure)
        # A docked panel must not ask for room: the canvas keeps its size when it is added.
        self.plot.setMinimumSize(80, 60)
        self.table.setMinimumHeight(60)
        self.queue.setMinimumHeight(40)
        self.setMinimumSize(120, 80)  # overrides the layout's hint: small screens keep working
        status = QWidget()
        slay = QVBoxLayout(status)
        slay.addWidget(self.status_info)
        slay.addWidget(self.plot, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(triggers, "Triggers")
        self.tabs.addTab(status, "Twin status")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)
        self.toggle.clicked.connect(lambda: self.toggleRequested.emit())
        self.fire.clicked.connect(self._fire_selected)
        self.table.itemSelectionChanged.connect(self._selection)
        self.kinds: dict[str, str] = {}
        self.twin: dict[str, Any] = {}

    # -- triggers -----------------------------------------------------------------------
    def show_live(self, controller: Any, project: Any) -> None:
        live = controller.live
        self.toggle.setText("Stop live" if live else "Go live")
        specs = list(getattr(controller.project, "triggers", None) or project.triggers)
        self.kinds = {str(s.get("id")): str(s.get("kind")) for s in specs}
        running = controller.running
        self.state.setText(
            ("Live" if live else "Not live")
            + (f" — running for trigger {running.get('id')}" if running else "")
        )
        selected = self.selected_trigger()
        self.table.setRowCount(len(specs))
        for r, spec in enumerate(specs):
            tid = str(spec.get("id"))
            last = controller.last_fired.get(tid)
            state = "off"
            if live:
                state = "running" if running and running.get("id") == tid else "armed"
            cells = (
                tid,
                str(spec.get("kind")),
                state,
                _clock(controller.next_fire(spec)) if live else "–",
                _clock(last["fired_at"]) if last else "–",
                _why(last["cause"]) if last else "",
            )
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
            if tid == selected:
                self.table.selectRow(r)
        self.queue.clear()
        for body in controller.queued():
            self.queue.addItem(f"queued  · {body['trigger']} · {body.get('reason') or ''}")
        for entry in reversed(controller.history[-200:]):
            cause = entry.get("cause") or {}
            self.queue.addItem(
                f"{entry.get('status')}  · {cause.get('id')} ({cause.get('kind')}) · "
                f"{_why(cause)} · run {entry.get('run_id') or '…'}"
            )
        self._selection()

    def selected_trigger(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def _selection(self) -> None:
        self.fire.setEnabled(self.kinds.get(self.selected_trigger() or "") == "manual")

    def _fire_selected(self) -> None:
        tid = self.selected_trigger()
        if tid and self.kinds.get(tid) == "manual":
            self.fireRequested.emit(tid)

    # -- twin status --------------------------------------------------------------------
    def show_status(self, project: Any, project_dir: Path) -> dict[str, Any]:
        from twinflow_studio.twinstat.status import twin_status

        self.twin = twin_status(project, project_dir)
        lines = [f"Last data: {self.twin['last_data'] or '–'}"]
        for node_id, report in self.twin["drift"].items():
            verdict = "DRIFTED" if report.get("drifted") else "ok"
            lines.append(f"Drift ({node_id}): {verdict} — run {report.get('run_id')}")
        self.status_info.setText("\n".join(lines))
        self._draw()
        return self.twin

    def _draw(self) -> None:
        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.WindowText).name()
        bg = pal.color(QPalette.ColorRole.Base).name()
        accent = pal.color(QPalette.ColorRole.Highlight).name()
        self.figure.clear()
        self.figure.set_facecolor(pal.color(QPalette.ColorRole.Window).name())
        series = [
            (node, name, points)
            for node, params in self.twin.get("parameters", {}).items()
            for name, points in params.items()
        ]
        windows = list(self.twin.get("predictive", {}).items())
        n = len(series) + len(windows)
        for i, (node, name, points) in enumerate(series):
            ax = self.figure.add_subplot(max(n, 1), 1, i + 1)
            xs = list(range(1, len(points) + 1))
            ax.fill_between(
                xs,
                [p["q05"] for p in points],
                [p["q95"] for p in points],
                color=accent,
                alpha=0.3,
                label="90 % band",
            )
            ax.plot(xs, [p["q50"] for p in points], color=accent, marker="o", label="median")
            ax.set_ylabel(f"{node}.{name}")
            self._style(ax, fg, bg)
        for j, (node, window) in enumerate(windows):
            ax = self.figure.add_subplot(max(n, 1), 1, len(series) + j + 1)
            ax.fill_between(window["x"], window["q05"], window["q95"], color=accent, alpha=0.3)
            ax.plot(window["x"], window["q50"], color=accent, label="predicted")
            ax.plot(window["x"], window["observed"], ".", color=fg, label="observed")
            ax.set_xlabel(str(window.get("x_label", "")))
            ax.set_ylabel(f"{node}: latest window")
            self._style(ax, fg, bg)
        self.plot.draw_idle()

    @staticmethod
    def _style(ax: Any, fg: str, bg: str) -> None:
        ax.set_facecolor(bg)
        ax.tick_params(colors=fg)
        ax.xaxis.label.set_color(fg)
        ax.yaxis.label.set_color(fg)
        for spine in ax.spines.values():
            spine.set_color(fg)
