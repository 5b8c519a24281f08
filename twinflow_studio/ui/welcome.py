"""The empty state: what the studio shows when no project is open, and the shipped examples.

An example is never run where it is installed: "Open example" copies its folder into one
the user chooses and opens the copy, so runs write their ``.twinflow/`` there and the
shipped files stay as they are.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

# Shorter words than the examples' own descriptions, where those are long; any other
# example is described by its .twin's ``project.description`` (else its README's title).
DESCRIPTIONS = {
    "hello": "Python nodes in the studio's own workers: a sensor file, a fitted model, "
    "a report. No Docker needed.",
    "container-chain": "A data file through three containers (needs Docker).",
    "living-twin": "A containerised simulation calibrated with MCMC and retrained by new "
    "data (needs Docker).",
}


@dataclass(frozen=True)
class Example:
    name: str
    twin: Path
    description: str


def examples_root() -> Path:
    """``resources/examples`` of the source tree, or of the frozen app's bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources" / "examples"
    return Path(__file__).resolve().parents[2] / "resources" / "examples"


def list_examples(root: Path | None = None) -> list[Example]:
    root = root or examples_root()
    found = []
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            twins = sorted(folder.glob("*.twin"))
            if twins:
                found.append(Example(folder.name, twins[0], describe(folder.name, twins[0])))
    return found


def describe(name: str, twin: Path) -> str:
    """What the welcome page says about an example: ``DESCRIPTIONS``, else the first
    sentence of the project's own description, else the first line of its README."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    try:
        doc = json.loads(twin.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    meta = doc.get("project") if isinstance(doc, dict) else None
    text = meta.get("description") if isinstance(meta, dict) else None
    if isinstance(text, str) and text.strip():
        return re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0]
    readme = twin.parent / "README.md"
    try:
        lines = readme.read_text(encoding="utf-8").splitlines() if readme.is_file() else []
    except (OSError, ValueError):
        lines = []
    first = next((line.lstrip("# ").strip() for line in lines if line.strip()), "")
    return first or name


def copy_example(example: Example, into: Path) -> Path:
    """Copy ``example``'s folder into ``into`` (as ``name``, ``name-2``... if taken); returns
    the copied ``.twin``. Run state and caches of the installed copy are left behind."""
    into.mkdir(parents=True, exist_ok=True)
    dest = into / example.name
    n = 2
    while dest.exists():
        dest = into / f"{example.name}-{n}"
        n += 1
    shutil.copytree(
        example.twin.parent,
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns(".twinflow", "__pycache__", "*.pyc"),
    )
    return dest / example.twin.name


class WelcomePage(QWidget):
    newRequested = Signal()
    openRequested = Signal()
    exampleRequested = Signal(str)  # example name
    recentRequested = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        title = QLabel("<h1>TwinFlow Studio</h1>")
        intro = QLabel(
            "Build living digital twins: wire data, containers and models into a graph, "
            "run it, and see what every node made."
        )
        intro.setWordWrap(True)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New project")
        self.open_button = QPushButton("Open…")
        self.example_button = QPushButton("Open example")
        for b in (self.new_button, self.open_button, self.example_button):
            b.setMinimumHeight(32)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.examples = QListWidget()
        self.recent = QListWidget()
        for lst in (self.examples, self.recent):
            lst.setAlternatingRowColors(True)
            lst.setWordWrap(True)
            lst.setSpacing(2)
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        columns = QHBoxLayout()
        for heading, widget in (("Examples", self.examples), ("Recent projects", self.recent)):
            box = QVBoxLayout()
            box.addWidget(QLabel(f"<b>{heading}</b>"))
            box.addWidget(widget)
            columns.addLayout(box, 1)
        hint = QLabel(
            "An example is copied into a folder you choose before it opens, so it runs "
            "there. Tab adds a node, Ctrl+F finds one, F5 runs; Help ▸ Keyboard shortcuts "
            "lists the rest."
        )
        hint.setWordWrap(True)
        inner = QWidget()
        inner.setMaximumWidth(900)
        lay = QVBoxLayout(inner)
        lay.addWidget(title)
        lay.addWidget(intro)
        lay.addLayout(buttons)
        lay.addLayout(columns, 1)
        lay.addWidget(hint)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(inner, 4)
        outer.addStretch(1)
        self.new_button.clicked.connect(lambda _c=False: self.newRequested.emit())
        self.open_button.clicked.connect(lambda _c=False: self.openRequested.emit())
        self.example_button.clicked.connect(lambda _c=False: self._example_chosen())
        self.examples.itemActivated.connect(lambda _i: self._example_chosen())
        self.examples.itemDoubleClicked.connect(lambda _i: self._example_chosen())
        self.recent.itemActivated.connect(self._recent_chosen)
        self.recent.itemDoubleClicked.connect(self._recent_chosen)
        for ex in sorted(list_examples(), key=lambda e: (e.name != "hello", e.name)):
            item = QListWidgetItem(f"{ex.name}\n{ex.description}")
            item.setData(Qt.ItemDataRole.UserRole, ex.name)
            item.setToolTip(ex.description)
            self.examples.addItem(item)
        if self.examples.count():
            self.examples.setCurrentRow(0)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}\n{Path(p).parent}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)

    def _example_chosen(self) -> None:
        item = self.examples.currentItem()
        if item is not None:
            self.exampleRequested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _recent_chosen(self, item: QListWidgetItem) -> None:
        self.recentRequested.emit(str(item.data(Qt.ItemDataRole.UserRole)))
