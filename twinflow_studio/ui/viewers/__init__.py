"""Output viewers: what a node made, opened from the canvas (double-click an output port,
the node's context menu), the lineage panel or Run ▸ Open outputs.

``open_output(window, node_id, port)`` is the entry point; it finds the outputs through the
run store (``ui.run_outputs``) and shows them in one window per node, one tab per port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.run_outputs import NodeOutput, confined
from twinflow_studio.ui.viewers.simple_views import (
    IMAGE_SUFFIXES,
    MODEL_SUFFIXES,
    FolderView,
    ImageView,
    JsonView,
    MetadataView,
    TextView,
)
from twinflow_studio.ui.viewers.table_data import is_table
from twinflow_studio.ui.viewers.table_view import TableView

__all__ = ["OutputsWindow", "open_output", "viewer_for", "show_in_folder"]


def viewer_for(
    path: Path, port_type: str, prompter: Any = None, root: Path | None = None
) -> QWidget:
    """The viewer that fits ``path`` (by its suffix, then the port type)."""
    suffix = path.suffix.lower()
    if path.is_dir() and not path.is_symlink():
        return FolderView(path, open_entry=lambda p: _open_entry(p, prompter, root))
    if suffix in IMAGE_SUFFIXES:
        ask = getattr(prompter, "save_file", None)
        return ImageView(path, (lambda name: ask("Save figure as", name)) if ask else None)
    if suffix == ".json" or port_type == "json":
        return JsonView(path)
    if suffix in MODEL_SUFFIXES or (port_type in ("model", "posterior") and suffix != ".csv"):
        return MetadataView(path, port_type)
    if is_table(path, port_type):
        return TableView(path)
    return TextView(path)


def _open_entry(path: Path, prompter: Any, root: Path | None) -> None:
    problem = confined(path, root) if root is not None else ""
    dialog = QDialog()
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowTitle(path.name)
    lay = QVBoxLayout(dialog)
    lay.addWidget(QLabel(problem) if problem else viewer_for(path, "file", prompter, root))
    dialog.resize(900, 600)
    dialog.show()
    _KEEP.add(dialog)
    dialog.destroyed.connect(lambda *_: _KEEP.discard(dialog))


_KEEP: set[QDialog] = set()


def folder_of(path: Path) -> Path:
    """The folder "Show in folder" opens: the output's own folder if it is one."""
    return path if path.is_dir() and not path.is_symlink() else path.parent


def show_in_folder(path: Path) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder_of(path))))


class OutputsWindow(QDialog):
    """A node's outputs from one run, a tab per port."""

    def __init__(self, node_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_id = node_id
        self.setWindowTitle(f"Outputs of {node_id}")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setModal(False)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.tabs = QTabWidget()
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.tabs)
        self.viewers: dict[str, QWidget] = {}
        self.outputs: dict[str, NodeOutput] = {}
        self.resize(1000, 650)

    def show_outputs(self, outputs: list[NodeOutput], prompter: Any = None) -> None:
        self.tabs.clear()
        self.viewers, self.outputs = {}, {}
        run = outputs[0].run_id if outputs else ""
        self.header.setText(f"<b>{self.node_id}</b> — run {run}" if run else self.node_id)
        for out in outputs:
            self.outputs[out.port] = out
            page = QWidget()
            lay = QVBoxLayout(page)
            row = QHBoxLayout()
            where = QLabel(str(out.path) if out.path is not None else out.uri)
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            row.addWidget(where, 1)
            if out.path is not None:
                button = QPushButton("Show in folder")
                button.clicked.connect(lambda _c=False, p=out.path: show_in_folder(p))
                row.addWidget(button)
            lay.addLayout(row)
            if out.path is None:
                viewer: QWidget = QLabel(f"Not shown: {out.problem}")
            else:
                viewer = viewer_for(out.path, out.port_type, prompter, out.run_dir)
            lay.addWidget(viewer, 1)
            self.viewers[out.port] = viewer
            self.tabs.addTab(page, f"{out.port} ({out.port_type})")

    def select(self, port: str) -> None:
        for i, name in enumerate(self.outputs):
            if name == port:
                self.tabs.setCurrentIndex(i)


def open_output(
    window: Any, node_id: str, port: str | None = None, run_id: str | None = None
) -> OutputsWindow | None:
    """Show ``node_id``'s outputs (of ``run_id``, else of its newest run that has any) with
    ``port``'s tab in front; says in the status bar when there is nothing to show."""
    source = window.run_outputs()
    outputs = source.of_run(run_id, node_id) if run_id else source.latest(node_id)
    if not outputs:
        window.show_message(f"{node_id} has no outputs yet: run it first")
        return None
    windows: dict[str, OutputsWindow] = window.__dict__.setdefault("output_windows", {})
    dialog = windows.get(node_id)
    if dialog is None:
        dialog = windows[node_id] = OutputsWindow(node_id, window)
    dialog.show_outputs(outputs, getattr(window, "prompter", None))
    if port is not None:
        dialog.select(port)
    dialog.show()
    dialog.raise_()
    return dialog
