"""Viewers of one output file: a JSON tree, an image (zoom, save as), text, a folder's
entries and a model file's metadata. Every read is bounded (see ``reading``)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QStandardItem, QStandardItemModel, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.ui.viewers.reading import UnreadableOutput, file_size, read_all, read_head

JSON_LIMIT = 16 << 20
JSON_ITEMS = 20000
TEXT_LIMIT = 1 << 20
IMAGE_LIMIT = 64 << 20
IMAGE_PIXELS = 100_000_000  # a small PNG can claim an enormous canvas
FOLDER_ENTRIES = 2000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops", ".onnx", ".pt", ".h5", ".npz")


def _message(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class JsonView(QWidget):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.model = QStandardItemModel()
        self.model.setHorizontalHeaderLabels(["key", "value", "type"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.info = _message("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.tree)
        self.items = 0
        try:
            value = json.loads(read_all(path, JSON_LIMIT))
        except (UnreadableOutput, ValueError, RecursionError) as exc:
            self.info.setText(f"Cannot show {path.name} as JSON: {exc}")
            self.tree.hide()
            return
        self._add(self.model.invisibleRootItem(), "(root)", value)
        more = " (cut short: only the first items are shown)" if self.items >= JSON_ITEMS else ""
        self.info.setText(f"{path.name}: {_kind(value)}{more}")
        self.tree.expandToDepth(1)
        self.tree.resizeColumnToContents(0)

    def _add(self, parent: QStandardItem, key: str, value: Any, depth: int = 0) -> None:
        if self.items >= JSON_ITEMS:
            return
        self.items += 1
        shown = "" if isinstance(value, (dict, list)) else json.dumps(value)[:500]
        row = [QStandardItem(key), QStandardItem(shown), QStandardItem(_kind(value))]
        for item in row:
            item.setEditable(False)
        parent.appendRow(row)
        if depth > 200:
            return
        children = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for k, v in children:
            self._add(row[0], str(k), v, depth + 1)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"object ({len(value)} keys)"
    if isinstance(value, list):
        return f"array ({len(value)} items)"
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value), "null")


class _ZoomView(QGraphicsView):
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)
        else:
            super().wheelEvent(event)

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 50:
            self.scale(factor, factor)


class ImageView(QWidget):
    """A figure, zoomable (buttons, Ctrl+wheel), saved elsewhere as it is (its bytes)."""

    def __init__(
        self,
        path: Path,
        ask_save_path: Callable[[str], Path | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self.ask_save_path = ask_save_path
        self.data = b""
        self.info = _message("")
        self.scene = QGraphicsScene(self)
        self.view = _ZoomView(self.scene)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        buttons = QHBoxLayout()
        for text, slot in (
            ("Zoom in", lambda: self.view.zoom(1.25)),
            ("Zoom out", lambda: self.view.zoom(0.8)),
            ("Fit", self.fit),
            ("100%", self.actual_size),
            ("Save as…", self._save_clicked),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda _c=False, s=slot: s())
            buttons.addWidget(button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addLayout(buttons)
        lay.addWidget(self.view)
        self.image = load_image(path)
        if self.image is None:
            self.info.setText(f"Cannot show {path.name} as an image")
            return
        self.data = read_all(path, IMAGE_LIMIT)
        self.item = QGraphicsPixmapItem(QPixmap.fromImage(self.image))
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene.addItem(self.item)
        self.info.setText(f"{path.name}: {self.image.width()} × {self.image.height()} px")

    @property
    def zoom_factor(self) -> float:
        return self.view.transform().m11()

    def fit(self) -> None:
        if self.image is not None:
            self.view.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)

    def actual_size(self) -> None:
        self.view.resetTransform()

    def _save_clicked(self) -> None:
        if self.ask_save_path is not None:
            dest = self.ask_save_path(self.path.name)
            if dest is not None:
                self.save_as(dest)

    def save_as(self, dest: Path) -> Path:
        """Write the figure's bytes (as the node made them) to ``dest``."""
        tmp = dest.with_name(dest.name + ".part")
        tmp.write_bytes(self.data)
        os.replace(tmp, dest)
        return dest


def load_image(path: Path, limit: int = IMAGE_LIMIT) -> QImage | None:
    """An image from bounded bytes, refused when it would decode to too many pixels."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImageReader

    try:
        data = read_all(path, limit)
    except UnreadableOutput:
        return None
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > IMAGE_PIXELS:
        return None
    image = reader.read()
    return None if image.isNull() else image


class TextView(QWidget):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.info = _message("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.text)
        try:
            data, more = read_head(path, TEXT_LIMIT)
        except UnreadableOutput as exc:
            self.info.setText(str(exc))
            return
        self.text.setPlainText(data.decode("utf-8", errors="replace"))
        size = file_size(path)
        self.info.setText(
            f"{path.name}: the first {TEXT_LIMIT >> 20} MB of {size:,} bytes"
            if more
            else f"{path.name}: {size:,} bytes"
        )


class MetadataView(QWidget):
    """A model file is never loaded here (unpickling runs code): what it is, not what is in it."""

    def __init__(self, path: Path, port_type: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        lines = [
            f"File: {path.name}",
            f"Port type: {port_type}",
            f"Size: {file_size(path):,} bytes",
            f"Format: {_model_format(path)}",
            "",
            "Model files are shown by their metadata only: loading one could run code it "
            "carries. Its metrics and lineage are in the Lineage panel.",
        ]
        self.text = _message("\n".join(lines))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.text)
        lay.addStretch(1)


def _model_format(path: Path) -> str:
    try:
        head, _ = read_head(path, 8)
    except UnreadableOutput as exc:
        return str(exc)
    if head.startswith(b"PK"):
        return "zip archive (skops, npz or similar)"
    if head[:1] == b"\x80":
        return "Python pickle (not loaded)"
    if head.startswith(b"\x89HDF"):
        return "HDF5"
    return {".onnx": "ONNX"}.get(path.suffix.lower(), "unknown")


class FolderView(QWidget):
    """A directory output: its entries (links and special files named, never followed)."""

    def __init__(
        self,
        path: Path,
        open_entry: Callable[[Path], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self.open_entry = open_entry
        self.list = QListWidget()
        self.info = _message("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.list)
        try:
            with os.scandir(path) as it:
                entries = []
                for entry in it:
                    entries.append(entry)
                    if len(entries) >= FOLDER_ENTRIES:
                        break
        except OSError as exc:
            self.info.setText(f"Cannot list {path}: {exc.strerror or exc}")
            return
        for entry in sorted(entries, key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                text = f"{entry.name}/"
            elif stat.S_ISREG(mode):
                text = f"{entry.name}  ({entry.stat(follow_symlinks=False).st_size:,} bytes)"
            else:
                text = f"{entry.name}  (link or special file: not opened)"
            item = QListWidgetItem(text)
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                item.setData(Qt.ItemDataRole.UserRole, entry.name)
            self.list.addItem(item)
        more = f" (the first {FOLDER_ENTRIES})" if len(entries) >= FOLDER_ENTRIES else ""
        self.info.setText(f"{path.name}/: {len(entries)} entries{more}; double-click to open")
        self.list.itemActivated.connect(self._activated)
        self.list.itemDoubleClicked.connect(self._activated)

    def _activated(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if name and self.open_entry is not None:
            self.open_entry(self.path / str(name))
