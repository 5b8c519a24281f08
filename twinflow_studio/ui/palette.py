"""The palette of node kinds: search, drag onto the canvas, or quick-add by typing."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import NodeKind, all_kinds
from twinflow_studio.project.plugins import origin
from twinflow_studio.ui.canvas import KIND_MIME


def kind_matches(kind: NodeKind, text: str) -> bool:
    words = text.lower().split()
    hay = " ".join([kind.name, kind.label, kind.category, *kind.tags]).lower()
    return all(w in hay for w in words)


class _KindList(QListWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setDragEnabled(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragOnly)

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt API)
        data = QMimeData()
        if items:
            kind = items[0].data(Qt.ItemDataRole.UserRole)
            data.setData(KIND_MIME, kind.encode())
            # NodeGraphQt's viewer only lets drags in that carry one of its formats.
            data.setText(f"twinflow-kind:{kind}")
        return data

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [KIND_MIME, "text/plain"]

    def fill(self, text: str) -> None:
        self.clear()
        for kind in all_kinds():
            if not kind_matches(kind, text):
                continue
            item = QListWidgetItem(f"{kind.label}   ·  {kind.category}")
            item.setData(Qt.ItemDataRole.UserRole, kind.name)
            item.setToolTip(f"{kind.doc}\n\nFrom {origin(kind.plugin)}")
            if kind.icon:  # a theme icon name; a theme without it shows none
                item.setIcon(QIcon.fromTheme(kind.icon))
            self.addItem(item)
        if self.count():
            self.setCurrentRow(0)


class Palette(QWidget):
    """Search box over a list of kinds. Activating a kind (Enter / double-click) adds it."""

    kindActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search node kinds…")
        self.search.setClearButtonEnabled(True)
        self.list = _KindList()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self.list.fill)
        self.search.returnPressed.connect(self._activate_current)
        self.list.itemActivated.connect(self._activate_item)
        self.list.fill("")

    def kinds_shown(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _activate_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._activate_item(item)

    def _activate_item(self, item: QListWidgetItem) -> None:
        self.kindActivated.emit(item.data(Qt.ItemDataRole.UserRole))


class QuickAdd(QFrame):
    """A popup to add a node by typing part of its kind's name (Tab on the canvas)."""

    kindChosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit = QLineEdit(placeholderText="Add node: type to search, Enter to add")
        self.list = _KindList()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.edit.textChanged.connect(self.list.fill)
        self.edit.returnPressed.connect(self.choose)
        self.list.itemActivated.connect(lambda _item: self.choose())
        self.resize(320, 260)

    def popup(self) -> None:
        self.edit.clear()
        self.list.fill("")
        self.show()
        self.edit.setFocus()

    def choose(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None:
            self.kindChosen.emit(item.data(Qt.ItemDataRole.UserRole))
