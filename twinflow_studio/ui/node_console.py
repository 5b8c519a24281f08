"""The node console: each node's stdout, stderr, logging and traceback, live while it runs.

Lines come from the engine's ``LogLine`` events (coalesced by ``RunController``); a node
that has printed nothing in this session shows the end of its log from the newest run in
the run store. Selecting a node on the canvas selects its console.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.canvas_items import STATE_COLORS
from twinflow_studio.ui.runs import RunController
from twinflow_studio.ui.themes import current_theme, readable_on

MAX_LINES = 20000
STREAM_COLORS = {"stderr": "#e0605a", "engine": "#8a9bb0"}
LogReader = Callable[[str], "tuple[str, str] | None"]  # node id -> (where from, text)


class NodeConsole(QWidget):
    nodeSelected = Signal(str)

    def __init__(
        self, runs: RunController, read_log: LogReader | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.read_log = read_log
        self.lines: dict[str, deque[tuple[str, str]]] = {}
        self.states: dict[str, str] = {}
        self.current: str | None = None
        self.nodes = QListWidget()
        self.nodes.setMaximumWidth(220)
        self.title = QLabel("Select a node to see its output")
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        right = QWidget()
        lay = QVBoxLayout(right)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        split = QSplitter()
        split.addWidget(self.nodes)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)
        self.nodes.currentItemChanged.connect(self._item_changed)
        runs.started.connect(lambda _rid: self.reset())
        runs.logs.connect(self.append)
        runs.states.connect(self._states)
        runs.finished.connect(self._finished)

    def reset(self) -> None:
        self.lines, self.states, self.current = {}, {}, None
        self.nodes.blockSignals(True)
        self.nodes.clear()
        self.nodes.blockSignals(False)
        self.text.clear()
        self.title.setText("Select a node to see its output")

    def _item(self, node_id: str) -> QListWidgetItem:
        found = self.nodes.findItems(node_id, Qt.MatchFlag.MatchExactly)
        if found:
            return found[0]
        item = QListWidgetItem(node_id)
        self.nodes.addItem(item)
        return item

    def append(self, logs: list[tuple[str, str, str]]) -> None:
        shown = []
        for node_id, stream, line in logs:
            if node_id not in self.lines:
                self.lines[node_id] = deque(maxlen=MAX_LINES)
                self._item(node_id)
            self.lines[node_id].append((stream, line))
            if node_id == self.current:
                shown.append(_html(stream, line))
        if shown:
            self.text.appendHtml("<br>".join(shown))

    def _states(self, states: dict[str, tuple[str, str]]) -> None:
        for node_id, (state, _text) in states.items():
            self.states[node_id] = state
            item = self._item(node_id)
            fill = STATE_COLORS.get(state, (200, 200, 200))
            item.setForeground(readable_on(fill, current_theme().base))
            item.setToolTip(state)

    def _finished(self, summary: dict) -> None:
        for failed in summary.get("failed") or []:
            node_id = str(failed.get("node"))
            if failed.get("error"):
                self.append([(node_id, "stderr", f"✗ failed: {failed['error']}")])

    def show_node(self, node_id: str | None) -> None:
        if node_id is None:
            return
        item = self._item(node_id)
        if self.nodes.currentItem() is not item:
            self.nodes.setCurrentItem(item)  # -> _item_changed
        else:
            self._render(node_id)

    def _item_changed(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self._render(item.text())
            self.nodeSelected.emit(item.text())

    def _render(self, node_id: str) -> None:
        self.current = node_id
        lines = self.lines.get(node_id)
        state = self.states.get(node_id)
        self.title.setText(f"<b>{escape(node_id)}</b>" + (f" — {state}" if state else ""))
        if lines:
            self.text.clear()
            self.text.appendHtml("<br>".join(_html(s, line) for s, line in lines))
            return
        self.text.clear()
        stored = self.read_log(node_id) if self.read_log is not None else None
        if stored is None:
            self.text.setPlainText("(no output yet)")
            return
        where, text = stored
        self.title.setText(f"<b>{escape(node_id)}</b> — from {escape(where)}")
        self.text.setPlainText(text)

    def text_of(self, node_id: str) -> str:
        """Everything the console holds for ``node_id`` (plain)."""
        return "\n".join(line for _s, line in self.lines.get(node_id, ()))


def _html(stream: str, line: str) -> str:
    text = escape(line).replace(" ", "&nbsp;") or "&nbsp;"
    color = STREAM_COLORS.get(stream)
    return f'<span style="color:{color}">{text}</span>' if color else f"<span>{text}</span>"
