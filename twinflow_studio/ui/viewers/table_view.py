"""The table viewer: the first rows of a dataframe output in a sortable table, with column
types and summary statistics; the file is read on a worker thread, so a large one never
holds up the window (a busy bar shows meanwhile)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.viewers.table_data import ROWS, TablePreview, display_cells, load_table

# Plain ints: comparing the role Qt passes with an enum member costs an enum lookup per
# call, and data() is called for every visible cell and role.
_ROLE_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_ROLE_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_ROLE_ALIGN = Qt.ItemDataRole.TextAlignmentRole.value
_HORIZONTAL = Qt.Orientation.Horizontal
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


class DataFrameModel(QAbstractTableModel):
    """A pandas DataFrame as a Qt table; sorting reorders the frame it holds."""

    def __init__(
        self,
        frame: Any = None,
        dtypes: dict[str, str] | None = None,
        cells: list[list[str]] | None = None,
    ) -> None:
        super().__init__()
        import pandas as pd

        self.frame = frame if frame is not None else pd.DataFrame()
        self.dtypes = dtypes or {c: str(t) for c, t in self.frame.dtypes.items()}
        self._numeric = [pd.api.types.is_numeric_dtype(t) for t in self.frame.dtypes]
        self.cells = cells if cells is not None else display_cells(self.frame)
        self.names = [str(c) for c in self.frame.columns]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.frame.columns)

    def data(self, index: QModelIndex, role: int = _ROLE_DISPLAY) -> Any:
        if role == _ROLE_DISPLAY or role == _ROLE_TOOLTIP:
            return self.cells[index.row()][index.column()]
        if role == _ROLE_ALIGN and self._numeric[index.column()]:
            return _RIGHT
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _ROLE_DISPLAY
    ) -> Any:
        # Asked for every row and many roles while the vertical header sizes itself: the
        # cheap int tests come first.
        if role != _ROLE_DISPLAY and role != _ROLE_TOOLTIP:
            return None
        if orientation == _HORIZONTAL:
            name = self.names[section]
            return name if role == _ROLE_DISPLAY else f"{name}: {self.dtypes.get(name, '?')}"
        return str(section + 1) if role == _ROLE_DISPLAY else None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.names):
            return
        self.layoutAboutToBeChanged.emit()
        self.frame = self.frame.sort_values(
            self.names[column],
            ascending=order == Qt.SortOrder.AscendingOrder,
            kind="stable",
            na_position="last",
        ).reset_index(drop=True)
        self.cells = display_cells(self.frame)
        self.layoutChanged.emit()


def _fit_columns(view: QTableView, model: DataFrameModel) -> None:
    """Column widths from the header and the first rows' text length: Qt's
    resizeColumnsToContents asks the model for every cell's size hint, through Python."""
    char = view.fontMetrics().horizontalAdvance("0")
    rows = model.cells[:50]
    for c, name in enumerate(model.names):
        longest = max([len(name), *(len(r[c]) for r in rows)])
        view.setColumnWidth(c, min(400, max(60, char * (longest + 3))))


class _Loaded(QObject):
    done = Signal(object)  # TablePreview or an error message


class TableView(QWidget):
    """Shows ``path``; ``loaded`` is emitted once the rows are in (or the load failed)."""

    loaded = Signal()

    def __init__(self, path: Path, rows: int = ROWS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.preview: TablePreview | None = None
        self.error = ""
        self.info = QLabel(f"Reading the first {rows:,} rows of {path.name}…")
        self.info.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy: the read's length is not known ahead
        self.busy.setMaximumHeight(10)
        self.busy.setTextVisible(False)
        self.table = QTableView()
        # Unsorted until a header is clicked: the rows first show in the file's order.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.stats = QTableView()
        self.stats.setAlternatingRowColors(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Rows")
        self.tabs.addTab(self.stats, "Columns && statistics")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.busy)
        lay.addWidget(self.tabs)
        self._signal = _Loaded(self)
        self._signal.done.connect(self._show)
        self._thread = threading.Thread(
            target=self._load, args=(rows,), name="twinflow-table-view", daemon=True
        )
        self._thread.start()

    def _load(self, rows: int) -> None:
        try:
            result: object = load_table(self.path, rows)
        except Exception as exc:  # any reader failure is shown, never raised into Qt
            result = str(exc) or type(exc).__name__
        try:
            self._signal.done.emit(result)
        except RuntimeError:  # the viewer was closed before the rows came in
            pass

    @property
    def done(self) -> bool:
        return self.preview is not None or bool(self.error)

    def _show_stats(self) -> None:
        if self.preview is not None:
            stats = DataFrameModel(self.preview.stats, cells=self.preview.stats_cells)
            self.stats.setModel(stats)
            _fit_columns(self.stats, stats)

    def _show(self, result: object) -> None:
        self.busy.hide()
        if isinstance(result, TablePreview):
            self.preview = result
            table = DataFrameModel(result.frame, result.dtypes, result.cells)
            self.table.setModel(table)
            _fit_columns(self.table, table)
            # The statistics tab on the next turn of the loop: two tables' first layout
            # and paint in one turn would hold the window up twice as long.
            QTimer.singleShot(0, self, self._show_stats)
            columns = len(result.dtypes)
            self.info.setText(
                f"{self.path.name}: {result.describe_extent()}, {columns} columns "
                f"(statistics of the rows shown; click a header to sort them)"
            )
        else:
            self.error = str(result)
            self.info.setText(f"Cannot show {self.path.name}: {result}")
            self.tabs.hide()
        self.loaded.emit()
