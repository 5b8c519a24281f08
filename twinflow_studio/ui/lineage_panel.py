"""The lineage side panel: runs, a run's task runs and outputs, provenance and impact of the
selected node, and the diff of two runs. Selecting a record selects its node."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.lineage_source import LineageSource

PORT_ROLE = Qt.ItemDataRole.UserRole + 1


class LineagePanel(QWidget):
    nodeSelected = Signal(str)
    outputActivated = Signal(str, str, str)  # run id, node id, port: open it (ui.viewers)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source: LineageSource | None = None
        self.node_id: str | None = None
        self.runs = QListWidget()
        self.tasks = QTreeWidget()
        self.tasks.setHeaderLabels(["node", "state", "attempts", "outputs"])
        self.related = QTreeWidget()
        self.related.setHeaderLabels(["relation", "node", "detail"])
        self.diff_with = QComboBox()
        self.diff = QTreeWidget()
        self.diff.setHeaderLabels(["node", "change", "detail"])
        split = QSplitter(Qt.Orientation.Vertical)
        for title, widget in (
            ("Runs", self.runs),
            ("Task runs", self.tasks),
            ("Provenance / impact of the selected node", self.related),
        ):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(QLabel(f"<b>{title}</b>"))
            lay.addWidget(widget)
            split.addWidget(box)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("<b>Diff with run</b>"))
        lay.addWidget(self.diff_with)
        lay.addWidget(self.diff)
        split.addWidget(box)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)
        self.runs.currentItemChanged.connect(lambda *_: self._run_changed())
        self.diff_with.currentIndexChanged.connect(lambda _i: self._show_diff())
        for tree in (self.tasks, self.related, self.diff):
            tree.itemClicked.connect(self._record_clicked)
        self.tasks.itemDoubleClicked.connect(self._output_double_clicked)

    def set_source(self, source: LineageSource | None) -> None:
        self.source = source
        self.refresh()

    def refresh(self) -> None:
        self.runs.clear()
        self.diff_with.blockSignals(True)
        self.diff_with.clear()
        if self.source is not None:
            for run in self.source.runs():
                item = QListWidgetItem(f"{run.run_id}  {run.status}  {run.duration_s:.2f}s")
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                self.runs.addItem(item)
                self.diff_with.addItem(run.run_id)
        self.diff_with.blockSignals(False)
        if self.runs.count():
            self.runs.setCurrentRow(0)
            if self.diff_with.count() > 1:
                self.diff_with.setCurrentIndex(1)
        else:
            self._run_changed()

    def current_run(self) -> str | None:
        item = self.runs.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _run_changed(self) -> None:
        self.tasks.clear()
        run = self.current_run()
        if self.source is not None and run:
            for t in self.source.task_runs(run):
                item = QTreeWidgetItem(
                    [t.node_id, t.state, str(t.attempts), ", ".join(t.outputs) or (t.error or "")]
                )
                item.setData(0, Qt.ItemDataRole.UserRole, t.node_id)
                for port, uri in t.outputs.items():
                    child = QTreeWidgetItem([port, "", "", uri])
                    child.setData(0, Qt.ItemDataRole.UserRole, t.node_id)
                    child.setData(0, PORT_ROLE, port)
                    child.setToolTip(3, "Double-click to open this output")
                    item.addChild(child)
                self.tasks.addTopLevelItem(item)
        self.show_node(self.node_id)
        self._show_diff()

    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        self.related.clear()
        run = self.current_run()
        if self.source is None or not run or not node_id:
            return
        for t in self.source.provenance(run, node_id):
            item = QTreeWidgetItem(["provenance", t.node_id, ", ".join(t.outputs.values())])
            item.setData(0, Qt.ItemDataRole.UserRole, t.node_id)
            self.related.addTopLevelItem(item)
        for n in self.source.impact(run, node_id):
            item = QTreeWidgetItem(["impact", n, "reruns when this output changes"])
            item.setData(0, Qt.ItemDataRole.UserRole, n)
            self.related.addTopLevelItem(item)

    def _show_diff(self) -> None:
        self.diff.clear()
        run, other = self.current_run(), self.diff_with.currentText()
        if self.source is None or not run or not other or other == run:
            return
        for node, change, detail in self.source.diff(other, run):
            item = QTreeWidgetItem([node, change, detail])
            item.setData(0, Qt.ItemDataRole.UserRole, node)
            self.diff.addTopLevelItem(item)

    def _output_double_clicked(self, item: QTreeWidgetItem) -> None:
        port, run = item.data(0, PORT_ROLE), self.current_run()
        if port and run:
            self.outputActivated.emit(run, item.data(0, Qt.ItemDataRole.UserRole), port)

    def _record_clicked(self, item: QTreeWidgetItem) -> None:
        node_id = item.data(0, Qt.ItemDataRole.UserRole)
        if node_id:
            self.nodeSelected.emit(node_id)
