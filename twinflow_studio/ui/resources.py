"""Hardware profile and target editors: two tables, applied as one undoable step."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import HardwareProfile, TargetConfig, validate
from twinflow_studio.project.model import DEFAULT_MAX_OUTPUT_MIB, DEFAULT_PIDS_LIMIT
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.themes import current_theme

PROFILE_COLS = ["name", "vcpus", "memory_mib", "gpus", "arch", "pids_limit", "max_output_mib"]
TARGET_COLS = ["name", "kind", "vcpus", "memory_mib", "gpus", "arch", "options"]


class ResourcesEditor(QWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.profiles = QTableWidget(0, len(PROFILE_COLS))
        self.profiles.setHorizontalHeaderLabels(PROFILE_COLS)
        self.targets = QTableWidget(0, len(TARGET_COLS))
        self.targets.setHorizontalHeaderLabels(TARGET_COLS)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        for title, table in (("Hardware profiles", self.profiles), ("Targets", self.targets)):
            lay.addWidget(QLabel(f"<b>{title}</b>"))
            lay.addWidget(table)
            row = QHBoxLayout()
            add, rem = QPushButton("Add"), QPushButton("Remove")
            add.clicked.connect(lambda _c=False, t=table: self._add_row(t))
            rem.clicked.connect(lambda _c=False, t=table: t.removeRow(t.currentRow()))
            row.addWidget(add)
            row.addWidget(rem)
            row.addStretch()
            lay.addLayout(row)
        apply = QPushButton("Apply")
        apply.clicked.connect(self.apply)
        lay.addWidget(apply)
        lay.addWidget(self.status)
        doc.resourcesChanged.connect(self.load)
        doc.reset.connect(self.load)
        self.load()

    def load(self) -> None:
        self._fill(
            self.profiles,
            [
                [p.name, p.vcpus, p.memory_mib, p.gpus, p.arch, p.pids_limit, p.max_output_mib]
                for p in self.doc.project.profiles.values()
            ],
        )
        self._fill(
            self.targets,
            [
                [t.name, t.kind, t.vcpus, t.memory_mib, t.gpus, t.arch, json.dumps(t.options)]
                for t in self.doc.project.targets.values()
            ],
        )

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[object]]) -> None:
        table.setRowCount(0)
        for values in rows:
            r = table.rowCount()
            table.insertRow(r)
            for c, v in enumerate(values):
                table.setItem(r, c, QTableWidgetItem(str(v)))
        table.resizeColumnsToContents()

    def _add_row(self, table: QTableWidget) -> None:
        defaults = (
            [
                "new",
                "1.0",
                "512",
                "0",
                "x86_64",
                str(DEFAULT_PIDS_LIMIT),
                str(DEFAULT_MAX_OUTPUT_MIB),
            ]
            if table is self.profiles
            else ["new", "inprocess", "2.0", "4096", "0", "x86_64", "{}"]
        )
        r = table.rowCount()
        table.insertRow(r)
        for c, v in enumerate(defaults):
            table.setItem(r, c, QTableWidgetItem(v))

    def read(self) -> tuple[dict[str, HardwareProfile], dict[str, TargetConfig]]:
        """The tables as model objects; ValueError names the table, row and column."""

        def cell(table: QTableWidget, r: int, c: int) -> str:
            item = table.item(r, c)
            return item.text().strip() if item else ""

        def num(table: QTableWidget, what: str, r: int, c: int, kind: type) -> float:
            text = cell(table, r, c)
            try:
                return kind(float(text)) if kind is int else kind(text)
            except ValueError:
                col = (PROFILE_COLS if table is self.profiles else TARGET_COLS)[c]
                raise ValueError(
                    f"{what} row {r + 1}, {col}: expected a number, found {text!r}"
                ) from None

        profiles: dict[str, HardwareProfile] = {}
        for r in range(self.profiles.rowCount()):
            name = cell(self.profiles, r, 0)
            if not name:
                raise ValueError(f"profiles row {r + 1}: the name is empty")
            profiles[name] = HardwareProfile(
                name,
                num(self.profiles, "profiles", r, 1, float),
                int(num(self.profiles, "profiles", r, 2, int)),
                int(num(self.profiles, "profiles", r, 3, int)),
                cell(self.profiles, r, 4),
                int(num(self.profiles, "profiles", r, 5, int)),
                int(num(self.profiles, "profiles", r, 6, int)),
            )
        targets: dict[str, TargetConfig] = {}
        for r in range(self.targets.rowCount()):
            name = cell(self.targets, r, 0)
            if not name:
                raise ValueError(f"targets row {r + 1}: the name is empty")
            try:
                options = json.loads(cell(self.targets, r, 6) or "{}")
            except ValueError as exc:
                raise ValueError(f"targets row {r + 1}, options: not JSON ({exc.msg})") from None
            targets[name] = TargetConfig(
                name,
                cell(self.targets, r, 1),
                num(self.targets, "targets", r, 2, float),
                int(num(self.targets, "targets", r, 3, int)),
                int(num(self.targets, "targets", r, 4, int)),
                cell(self.targets, r, 5),
                options,
            )
        return profiles, targets

    def apply(self) -> bool:
        try:
            profiles, targets = self.read()
        except ValueError as exc:
            self.status.setText(f"<span style='color:{current_theme().hex('error')}'>{exc}</span>")
            return False
        probe = self.doc.project.copy()
        probe.profiles, probe.targets = profiles, targets
        problems = [p for p in validate(probe) if p.path.startswith(("profiles.", "targets."))]
        if problems:
            self.status.setText(
                f"<span style='color:{current_theme().hex('error')}'>"
                + "<br>".join(str(p) for p in problems)
                + "</span>"
            )
            return False
        self.doc.set_resources(profiles, targets)
        self.status.setText("Applied.")
        return True
