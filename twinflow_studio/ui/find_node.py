"""Find a node by name (Ctrl+F): a popup listing the nodes whose name or id matches what
is typed; Enter selects the node and centres the canvas on it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from twinflow_studio.project import Project


def matching_nodes(project: Project, text: str) -> list[tuple[str, str]]:
    """(node id, label) of the nodes whose label or id contains ``text`` (any case), those
    starting with it first."""
    needle = text.strip().lower()
    found = []
    for node in project.nodes.values():
        label = node.label
        hay = f"{label}\n{node.id}".lower()
        if needle in hay:
            rank = 0 if label.lower().startswith(needle) or node.id.startswith(needle) else 1
            found.append((rank, label.lower(), node.id, label))
    return [(node_id, label) for _r, _l, node_id, label in sorted(found)]


class FindNode(QFrame):
    nodeChosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.project: Project | None = None
        self.edit = QLineEdit(placeholderText="Find node: type part of its name, Enter to go")
        self.list = QListWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.edit.textChanged.connect(self.fill)
        self.edit.returnPressed.connect(self.choose)
        self.list.itemActivated.connect(lambda _item: self.choose())
        self.resize(340, 280)

    def popup(self, project: Project) -> None:
        self.project = project
        self.edit.clear()
        self.fill("")
        self.show()
        self.edit.setFocus()

    def fill(self, text: str) -> None:
        self.list.clear()
        if self.project is None:
            return
        for node_id, label in matching_nodes(self.project, text)[:500]:
            item = QListWidgetItem(label if label == node_id else f"{label}  ({node_id})")
            item.setData(Qt.ItemDataRole.UserRole, node_id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def keyPressEvent(self, event: object) -> None:  # noqa: N802 - arrows move in the list
        key = event.key()  # type: ignore[attr-defined]
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.list.count():
            row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]

    def choose(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None:
            self.nodeChosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))
