"""The run dock: per-node streamed logs, the run summary, and problems that point at nodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import Problem
from twinflow_studio.ui.runs import RunController, summary_text

ALL = "(all nodes)"
MAX_LINES = 20000


class RunPanel(QWidget):
    nodeRequested = Signal(str)  # select + center this node on the canvas

    def __init__(self, runs: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        # How problems and nodes are named to a person; the window names them as the
        # canvas does.
        self.describe: Callable[[Problem], str] = str
        self.node_label: Callable[[str], str] = lambda node_id: node_id
        self.lines: dict[str, list[str]] = {}
        self.tabs = QTabWidget()
        log_box = QWidget()
        lay = QVBoxLayout(log_box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.node_filter = QComboBox()
        self.node_filter.addItem(ALL)
        self.node_filter.currentTextChanged.connect(self._show_log)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(MAX_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.node_filter)
        lay.addWidget(self.log)
        self.summary = QPlainTextEdit(readOnly=True)
        self.problems = QListWidget()
        self.problems.itemActivated.connect(self._problem_activated)
        self.problems.itemClicked.connect(self._problem_activated)
        self.tabs.addTab(log_box, "Log")
        self.tabs.addTab(self.summary, "Summary")
        self.tabs.addTab(self.problems, "Problems")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)
        runs.started.connect(self._started)
        runs.logs.connect(self._append)
        runs.finished.connect(self._finished)
        runs.failedToStart.connect(self._failed_to_start)

    def reset(self) -> None:
        """Forget everything shown for the previous project (a new one was opened)."""
        self.lines = {}
        self.node_filter.blockSignals(True)
        self.node_filter.clear()
        self.node_filter.addItem(ALL)
        self.node_filter.blockSignals(False)
        self.log.clear()
        self.summary.clear()
        self.problems.clear()
        self.tabs.setCurrentIndex(0)

    def _started(self, run_id: str) -> None:
        self.lines = {}
        self.log.clear()
        self.summary.setPlainText(f"Run {run_id} running…")
        self.problems.clear()

    def _append(self, logs: list[tuple[str, str, str]]) -> None:
        current = self.node_filter.currentText()
        shown = []
        for node_id, stream, line in logs:
            text = f"[{node_id}] {line}" if stream != "stderr" else f"[{node_id}] ! {line}"
            self.lines.setdefault(node_id, []).append(text)
            if self.node_filter.findText(node_id) < 0:
                self.node_filter.addItem(node_id)
            if current in (ALL, node_id):
                shown.append(text)
        if shown:
            self.log.appendPlainText("\n".join(shown))

    def show_node_log(self, node_id: str) -> None:
        if self.node_filter.findText(node_id) < 0:
            self.node_filter.addItem(node_id)
        self.node_filter.setCurrentText(node_id)
        self.tabs.setCurrentIndex(0)

    def _show_log(self, node_id: str) -> None:
        self.log.clear()
        if node_id == ALL:
            text = [line for lines in self.lines.values() for line in lines]
        else:
            text = self.lines.get(node_id, [])
        self.log.setPlainText("\n".join(text[-MAX_LINES:]))
        # Follow the tail, as the unfiltered log does while lines arrive.
        bar = self.log.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _finished(self, summary: dict[str, Any]) -> None:
        self.summary.setPlainText(summary_text(summary))
        self.problems.clear()
        for failed in summary.get("failed", []):
            label = self.node_label(failed["node"])
            self._add_problem(failed["node"], f"{label}: {failed.get('error')}")
        self.tabs.setCurrentIndex(2 if summary.get("failed") else 1)

    def _failed_to_start(self, message: str, problems: list[Problem]) -> None:
        self.summary.setPlainText(message)
        self.show_problems(problems)

    def show_problems(self, problems: list[Problem]) -> None:
        self.problems.clear()
        for p in problems:
            self._add_problem(p.node_id, self.describe(p))
        self.tabs.setCurrentIndex(2)

    def _add_problem(self, node_id: str | None, text: str) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, node_id)
        self.problems.addItem(item)

    def _problem_activated(self, item: QListWidgetItem) -> None:
        node_id = item.data(Qt.ItemDataRole.UserRole)
        if node_id:
            self.nodeRequested.emit(node_id)
