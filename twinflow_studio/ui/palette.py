"""The palette of node kinds: search, drag onto the canvas, or quick-add by typing."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import NodeKind, all_kinds
from twinflow_studio.project.parts import PartInfo
from twinflow_studio.project.plugins import origin
from twinflow_studio.ui.canvas import KIND_MIME
from twinflow_studio.ui.icons import category_icon, kind_icon

# A palette entry of the parts library: "part:" + the part file's path (never a kind name,
# which is an identifier: no ':').
PART_PREFIX = "part:"
PARTS_CATEGORY = "Parts"


def part_matches(part: PartInfo, text: str) -> bool:
    words = text.lower().split()
    hay = " ".join([part.name, part.description, PARTS_CATEGORY, part.source]).lower()
    return all(w in hay for w in words)


def part_tooltip(part: PartInfo) -> str:
    if part.problem is not None:
        return f"{part.path}: {part.problem}"
    ins = ", ".join(f"{p.name}: {p.type}" for p in part.inputs) or "none"
    outs = ", ".join(f"{p.name}: {p.type}" for p in part.outputs) or "none"
    where = "this project's parts/" if part.source == "project" else "your parts folder"
    return f"{part.description or part.name}\nInputs: {ins}\nOutputs: {outs}\nFrom {where}"


def kind_matches(kind: NodeKind, text: str) -> bool:
    words = text.lower().split()
    hay = " ".join([kind.name, kind.label, kind.category, *kind.tags]).lower()
    return all(w in hay for w in words)


class _KindList(QListWidget):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[PartInfo] = []
        self.setDragEnabled(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragOnly)
        # A narrow palette elides long names (the tooltip has the kind's doc) instead of
        # scrolling sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

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
            item.setIcon(kind_icon(kind))
            self.addItem(item)
        for part in self.parts:
            if not part_matches(part, text):
                continue
            mark = " (unreadable)" if part.problem else ""
            item = QListWidgetItem(f"{part.name}{mark}   ·  {PARTS_CATEGORY}")
            item.setData(Qt.ItemDataRole.UserRole, f"{PART_PREFIX}{part.path}")
            item.setToolTip(part_tooltip(part))
            item.setIcon(category_icon(PARTS_CATEGORY))
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
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._activate_item)
        self.list.fill("")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
            and self.search.text()
        ):
            self.search.clear()  # Esc clears the search, as in every search box
            return True
        return False

    def set_parts(self, parts: list[PartInfo]) -> None:
        """The parts library shown under its own category (after the kinds)."""
        self.list.parts = list(parts)
        self.list.fill(self.search.text())

    def part(self, key: str) -> PartInfo | None:
        path = key.removeprefix(PART_PREFIX)
        return next((p for p in self.list.parts if str(p.path) == path), None)

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
