"""The project's triggers as a form: a list of triggers, and for the selected one its id,
kind, start nodes and the config fields its kind declares (``project.triggers.CONFIG_FIELDS``).
A trigger is written to the document only when ``validate_trigger`` accepts it; until then
the faulty field says what is wrong."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project.kinds import ParamSpec
from twinflow_studio.project.triggers import CONFIG_FIELDS, KINDS, validate_trigger
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.path_field import PathField
from twinflow_studio.ui.properties import error_color, error_style, format_value, parse_value
from twinflow_studio.ui.properties import placeholder as example_text
from twinflow_studio.ui.wheel_guard import guard_wheel

KIND_DOCS = {
    "new_data": "Runs when files appear or change in a folder (or under an S3 prefix)",
    "schedule": "Runs every interval seconds",
    "drift": "Runs when a drift_check node reports drift",
    "manual": "Runs when fired by hand (Live panel: Fire now)",
    "mqtt": "Runs every N messages or T seconds of an mqtt node",
}


class _SetTriggers(QUndoCommand):
    def __init__(self, doc: Document, before: list, after: list, text: str) -> None:
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after

    def _apply(self, state: list) -> None:
        self.doc.project.triggers = copy.deepcopy(state)
        self.doc.triggersChanged.emit()

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


def set_triggers(doc: Document, triggers: list[dict[str, Any]], text: str) -> None:
    before = copy.deepcopy(doc.project.triggers)
    if before != triggers:
        doc.undo.push(_SetTriggers(doc, before, copy.deepcopy(triggers), text))


class TriggersEditor(QWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.row = -1
        self.spec: dict[str, Any] = {}  # the selected trigger as edited (maybe not valid)
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._own = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(self._select)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("+ trigger")
        self.add_button.clicked.connect(self.add_trigger)
        self.remove_button = QPushButton("− remove")
        self.remove_button.clicked.connect(self.remove_trigger)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list)
        lay.addLayout(buttons)
        lay.addWidget(self.body, 1)
        lay.addStretch(0)
        doc.triggersChanged.connect(self._doc_changed)
        doc.reset.connect(self.load)
        self.load()

    # ----- list -----
    def load(self) -> None:
        keep = self.row
        self.list.blockSignals(True)
        self.list.clear()
        for spec in self.doc.project.triggers:
            self.list.addItem(f"{spec.get('id', '?')}  ·  {spec.get('kind', '?')}")
        self.list.blockSignals(False)
        count = self.list.count()
        row = min(max(keep, 0), count - 1) if count else -1
        self.list.setCurrentRow(row)
        self._select(row)

    def _doc_changed(self) -> None:
        if not self._own:
            self.load()
        else:  # the list's text follows the id and kind just written
            for i, spec in enumerate(self.doc.project.triggers):
                self.list.item(i).setText(f"{spec.get('id', '?')}  ·  {spec.get('kind', '?')}")

    def _select(self, row: int) -> None:
        self.row = row
        triggers = self.doc.project.triggers
        self.spec = copy.deepcopy(triggers[row]) if 0 <= row < len(triggers) else {}
        self._build()

    def add_trigger(self) -> None:
        taken = {t.get("id") for t in self.doc.project.triggers}
        i = 1
        while f"trigger{i}" in taken:
            i += 1
        new = {"id": f"trigger{i}", "kind": "manual", "config": {}}
        self.row = len(self.doc.project.triggers)
        set_triggers(self.doc, [*self.doc.project.triggers, new], "Add trigger")

    def remove_trigger(self) -> None:
        if not 0 <= self.row < len(self.doc.project.triggers):
            return
        rest = [t for i, t in enumerate(self.doc.project.triggers) if i != self.row]
        set_triggers(self.doc, rest, "Remove trigger")

    # ----- the selected trigger's form -----
    def _build(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields, self.errors = {}, {}
        self.remove_button.setEnabled(bool(self.spec))
        if not self.spec:
            hint = QLabel("No trigger selected. A trigger keeps the twin living: '+ trigger'.")
            hint.setWordWrap(True)
            self.form.addRow(hint)
            return
        ident = QLineEdit(format_value(self.spec.get("id")))
        ident.setPlaceholderText("e.g. nightly")
        ident.textEdited.connect(lambda t: self._set_top("id", t))
        self._row("id", "Id", ident)
        kind = QComboBox()
        kind.addItems(list(KINDS))
        kind.setCurrentText(str(self.spec.get("kind", "")))
        kind.currentTextChanged.connect(self._set_kind)
        self._row("kind", "Kind", kind)
        doc = QLabel(KIND_DOCS.get(str(self.spec.get("kind")), ""))
        doc.setWordWrap(True)
        self.form.addRow(doc)
        nodes = self.spec.get("nodes", [])
        node_line = QLineEdit(", ".join(nodes) if isinstance(nodes, list) else format_value(nodes))
        node_line.setPlaceholderText("e.g. calibrate, predict")
        node_line.setToolTip("Node ids the run starts from (comma-separated)")
        node_line.textEdited.connect(self._set_nodes)
        self._row("nodes", "Start nodes", node_line)
        config = self.spec.get("config", {})
        for spec in CONFIG_FIELDS.get(str(self.spec.get("kind")), ()):
            value = config.get(spec.name) if isinstance(config, dict) else None
            self._row(
                f"config.{spec.name}",
                spec.name + (" *" if spec.required else ""),
                self._field(spec, value),
            )
        general = QLabel()
        general.setWordWrap(True)
        general.setStyleSheet(error_color())
        general.hide()
        self.form.addRow(general)
        self.errors["config"] = general
        guard_wheel(self.body)
        self._check()

    def _row(self, key: str, label: str, editor: QWidget) -> None:
        error = QLabel()
        error.setStyleSheet(error_color())
        error.setWordWrap(True)
        error.hide()
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(editor)
        lay.addWidget(error)
        self.form.addRow(label, box)
        self.fields[key], self.errors[key] = editor, error

    def _field(self, spec: ParamSpec, value: Any) -> QWidget:
        if spec.type == "bool":
            box = QCheckBox()
            box.setChecked(bool(value if value is not None else spec.default))
            box.setToolTip(spec.doc)
            box.toggled.connect(lambda v, s=spec: self._set_config(s, v))
            return box
        if spec.form.startswith("node:"):
            wanted = spec.form.removeprefix("node:")
            combo = QComboBox()
            combo.setEditable(True)
            combo.addItems(
                sorted(n.id for n in self.doc.project.nodes.values() if n.kind == wanted)
            )
            combo.setEditText(format_value(value))
            combo.lineEdit().setPlaceholderText(example_text(spec))
            combo.setToolTip(spec.doc)
            combo.currentTextChanged.connect(lambda t, s=spec: self._set_config_text(s, t))
            return combo
        if spec.path:
            field = PathField(format_value(value), spec.path, self._project_dir)
            field.line.setPlaceholderText(example_text(spec))
            field.setToolTip(spec.doc)
            field.edited.connect(lambda t, s=spec: self._set_config_text(s, t))
            return field
        line = QLineEdit(format_value(value))
        line.setPlaceholderText(example_text(spec))
        line.setToolTip(spec.doc)
        line.textEdited.connect(lambda t, s=spec: self._set_config_text(s, t))
        return line

    def _project_dir(self) -> Path | None:
        return self.doc.path.parent if self.doc.path is not None else None

    # ----- edits -----
    def _set_top(self, key: str, text: str) -> None:
        self.spec[key] = text.strip()
        self._apply(f"Edit trigger {key}")

    def _set_kind(self, kind: str) -> None:
        self.spec["kind"] = kind
        config = self.spec.get("config")
        keep = {s.name for s in CONFIG_FIELDS.get(kind, ())}
        # Fields the new kind also has carry over (interval); the others would be refused.
        self.spec["config"] = {k: v for k, v in (config or {}).items() if k in keep}
        self._build()
        self._apply("Edit trigger kind")

    def _set_nodes(self, text: str) -> None:
        nodes = [n.strip() for n in text.split(",") if n.strip()]
        if nodes:
            self.spec["nodes"] = nodes
        else:
            self.spec.pop("nodes", None)
        self._apply("Edit trigger nodes")

    def _set_config_text(self, spec: ParamSpec, text: str) -> None:
        key = f"config.{spec.name}"
        try:
            value = parse_value(spec, text) if text.strip() else None
        except ValueError as exc:
            self._show(key, str(exc))
            return  # nothing invalid is written; the text stays for fixing
        self._set_config(spec, value)

    def _set_config(self, spec: ParamSpec, value: Any) -> None:
        config = self.spec.get("config")
        if not isinstance(config, dict):
            config = self.spec["config"] = {}
        if value is None or value == "":
            config.pop(spec.name, None)
        else:
            config[spec.name] = value
        self._apply(f"Edit trigger {spec.name}")

    def _check(self) -> bool:
        for key in self.errors:
            self._show(key, None)
        others = [t for i, t in enumerate(self.doc.project.triggers) if i != self.row]
        problems = [
            (p.path, p.message)
            for p in validate_trigger(self.spec, list(self.doc.project.nodes), where="trigger")
        ]
        if self.spec.get("id") in {t.get("id") for t in others}:
            problems.append(("trigger.id", f"another trigger is called {self.spec['id']!r}"))
        for path, message in problems:
            key = path.removeprefix("trigger.")
            self._show(key if key in self.errors else "config", message)
        return not problems

    def _show(self, key: str, message: str | None) -> None:
        label = self.errors.get(key)
        if label is None:
            return
        if message and not label.isHidden() and label.text() and key == "config":
            message = f"{label.text()}\n{message}"
        label.setText(message or "")
        label.setVisible(bool(message))
        editor = self.fields.get(key)
        target = getattr(editor, "error_target", editor)
        if target is not None and not isinstance(target, QCheckBox):
            target.setStyleSheet(error_style() if message else "")

    def _apply(self, text: str) -> None:
        if not self._check() or not 0 <= self.row < len(self.doc.project.triggers):
            return
        triggers = copy.deepcopy(self.doc.project.triggers)
        triggers[self.row] = copy.deepcopy(self.spec)
        self._own = True
        try:
            set_triggers(self.doc, triggers, text)
        finally:
            self._own = False

    def error_text(self, key: str) -> str:
        label = self.errors.get(key)
        return label.text() if label is not None and not label.isHidden() else ""
