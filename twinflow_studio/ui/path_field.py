"""A path parameter: a line to type it and Browse… to choose it. A chosen path inside the
project folder is stored relative to it, so the project moves with its folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget


def project_relative(chosen: Path, project_dir: Path | None) -> str:
    """``chosen`` relative to the project folder (POSIX separators) when inside it."""
    if project_dir is not None:
        try:
            rel = chosen.resolve().relative_to(project_dir.resolve())
        except ValueError:
            pass
        else:
            return rel.as_posix() or "."
    return str(chosen)


class PathField(QWidget):
    """``kind`` is the parameter's declaration: "file", "folder" or "file_or_folder"."""

    edited = Signal(str)  # as QLineEdit.textEdited: only for the person's edits

    def __init__(
        self,
        text: str,
        kind: str,
        project_dir: Callable[[], Path | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.project_dir = project_dir
        self.line = QLineEdit(text)
        self.line.textEdited.connect(self.edited.emit)
        self.error_target = self.line  # the panel's error border goes around the line only
        self.browse = QToolButton()
        self.browse.setText("Browse…")
        self.browse.setToolTip(
            {"file": "Choose a file", "folder": "Choose a folder"}.get(kind, "Choose a file")
        )
        self.browse.clicked.connect(self.choose_folder if kind == "folder" else self.choose_file)
        if kind == "file_or_folder":
            menu = QMenu(self.browse)
            menu.addAction("Choose a file…", self.choose_file)
            menu.addAction("Choose a folder…", self.choose_folder)
            self.browse.setMenu(menu)
            self.browse.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.line, 1)
        lay.addWidget(self.browse)

    def text(self) -> str:
        return self.line.text()

    def _start_dir(self) -> str:
        base = self.project_dir()
        current = self.line.text().strip()
        if current and "://" not in current:
            path = Path(current).expanduser()
            path = path if path.is_absolute() or base is None else base / path
            if path.exists():
                return str(path if path.is_dir() else path.parent)
        return str(base) if base is not None else str(Path.home())

    def choose_file(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(self, "Choose a file", self._start_dir())
        self._chosen(chosen)

    def choose_folder(self) -> None:
        self._chosen(QFileDialog.getExistingDirectory(self, "Choose a folder", self._start_dir()))

    def _chosen(self, chosen: str) -> None:
        if not chosen:  # cancelled
            return
        text = project_relative(Path(chosen), self.project_dir())
        self.line.setText(text)
        self.edited.emit(text)
