"""The table viewer: the first rows of a dataframe output in a sortable table, with column
types and summary statistics; the file is read on a worker thread, so a large one never
holds up the window (a busy bar shows meanwhile)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.viewers.table_data import ROWS, TablePreview, load_table

_ROLE_DISPLAY = Qt.ItemDataRole.DisplayRole
_ROLE_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ROLE_ALIGN = Qt.ItemDataRole.TextAlignmentRole


class DataFrameModel(QAbstractTableModel):
    """A pandas DataFrame as a Qt table; sorting reorders the frame it holds."""

    def __init__(self, frame: Any = None, dtypes: dict[str, str] | None = None) -> None:
        super().__init__()
        import pandas as pd

        self.frame = frame if frame is not None else pd.DataFrame()
        self.dtypes = dtypes or {c: str(t) for c, t in self.frame.dtypes.items()}
        self._numeric = [pd.api.types.is_numeric_dtype(t) for t in self.frame.dtypes]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.frame.columns)

    def data(self, index: QModelIndex, role: int = _ROLE_DISPLAY) -> Any:
        if not index.isValid():
            return None
        if role == _ROLE_DISPLAY or role == _ROLE_TOOLTIP:
            value = self.frame.iat[index.row(), index.column()]
            return _text(value)
        if role == _ROLE_ALIGN and self._numeric[index.column()]:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _ROLE_DISPLAY
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            name = str(self.frame.columns[section])
            if role == _ROLE_DISPLAY:
                return name
            if role == _ROLE_TOOLTIP:
                return f"{name}: {self.dtypes.get(name, '?')}"
        elif role == _ROLE_DISPLAY:
            return str(section + 1)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.frame.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self.frame = self.frame.sort_values(
            self.frame.columns[column],
            ascending=order == Qt.SortOrder.AscendingOrder,
            kind="stable",
            na_position="last",
        ).reset_index(drop=True)
        self.layoutChanged.emit()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    return str(value)


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
        # Column widths from the first rows only: measuring every cell is Python per cell.
        self.table.horizontalHeader().setResizeContentsPrecision(40)
        self.table.horizontalHeader().setMinimumSectionSize(80)
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

    def _show(self, result: object) -> None:
        self.busy.hide()
        if isinstance(result, TablePreview):
            self.preview = result
            self.table.setModel(DataFrameModel(result.frame, result.dtypes))
            self.table.resizeColumnsToContents()
            self.stats.setModel(DataFrameModel(result.stats))
            self.stats.resizeColumnsToContents()
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
