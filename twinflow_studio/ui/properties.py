"""The properties panel: edit the selected node, with validation as you type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import Node, ParamSpec, Port, get_kind, validate
from twinflow_studio.project.identifiers import identifier_problem
from twinflow_studio.project.kinds import PORT_TYPES
from twinflow_studio.project.validate import check_param
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.fmu_view import fmu_panel, fmu_problems
from twinflow_studio.ui.forms.priors import FORMS
from twinflow_studio.ui.path_field import PathField
from twinflow_studio.ui.problem_text import in_panel
from twinflow_studio.ui.themes import current_theme
from twinflow_studio.ui.wheel_guard import guard_wheel

CAN_FAIL = {"timeout_s"}  # fields (besides parameters) whose typed value can be refused


def error_style() -> str:
    return f"border: 1px solid {current_theme().hex('error')};"


def error_color() -> str:
    return f"color: {current_theme().hex('error')};"


def parse_value(spec: ParamSpec, text: str) -> Any:
    """The typed value a person meant by ``text`` for ``spec``; ValueError says why not."""
    if spec.type == "str":
        return text
    if text.strip() == "":
        return None
    if spec.type == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, found {text!r}") from None
    if spec.type == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, found {text!r}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        if spec.type == "any":
            return text
        raise ValueError(f"expected JSON ({spec.type}): {exc.msg} at column {exc.colno}") from None


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def placeholder(spec: ParamSpec) -> str:
    """What an empty field shows: an example of a value, else the default; never a type."""
    if spec.example is not None:
        return f"e.g. {format_value(spec.example)}"
    if spec.default not in (None, "", [], {}):
        return format_value(spec.default)
    return ""


class PropertiesPanel(QWidget):
    message = Signal(str)  # a notice for the status bar

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self._own_edit = False
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.labels: dict[str, str] = {}
        # Typed values that could not be applied (not valid), by field: left behind when
        # the selection changes, they are reported rather than silently dropped.
        self.unapplied: dict[str, tuple[str, str]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        outer.addWidget(self.scroll)
        doc.nodeChanged.connect(self._node_changed)
        doc.nodesRemoved.connect(lambda ids: self.show_node(None) if self.node_id in ids else None)
        doc.reset.connect(lambda: self.show_node(None))
        doc.resourcesChanged.connect(lambda: self.show_node(self.node_id))
        doc.edgesAdded.connect(lambda _e: self._refresh_problems())
        doc.edgesRemoved.connect(lambda _e: self._refresh_problems())
        self.show_node(None)

    def _node_changed(self, node_id: str) -> None:
        if node_id == self.node_id and not self._own_edit:
            self.show_node(node_id)
        elif node_id == self.node_id:
            self._refresh_problems()

    # ----- building -----
    def show_selection(self, node_ids: list[str]) -> None:
        if len(node_ids) > 1:
            self.show_node(None, f"{len(node_ids)} nodes selected.")
        else:
            self.show_node(node_ids[0] if node_ids else None)

    def show_node(self, node_id: str | None, placeholder: str = "") -> None:
        self._report_unapplied(node_id)
        self.node_id = node_id if node_id in self.doc.project.nodes else None
        self.editors, self.errors, self.labels = {}, {}, {}
        body = QWidget()
        self.form = QFormLayout(body)
        self.scroll.setWidget(body)
        if self.node_id is None:
            hint = QLabel(placeholder or "Select a node to edit its properties.")
            hint.setWordWrap(True)
            self.form.addRow(hint)
            return
        node = self.doc.project.nodes[self.node_id]
        kind = get_kind(node.kind)
        title = QLabel(f"<b>{node.label}</b> — {kind.label if kind else node.kind}")
        self.form.addRow(title)
        if kind is not None:
            doc_label = QLabel(kind.doc)
            doc_label.setWordWrap(True)
            doc_label.setStyleSheet(f"color: {current_theme().hex('muted')};")
            self.form.addRow(doc_label)
        self.form.addRow("Id", QLabel(node.id))
        name = QLineEdit(node.name)
        name.textEdited.connect(lambda t: self._edit("name", lambda n: setattr(n, "name", t)))
        self._add("name", "Name", name)

        profile = QComboBox()
        profile.addItems(sorted(self.doc.project.profiles))
        profile.setCurrentText(node.profile)
        profile.currentTextChanged.connect(
            lambda t: self._edit("profile", lambda n: setattr(n, "profile", t))
        )
        self._add("profile", "Hardware profile", profile)
        target = QComboBox()
        target.addItem("(automatic)")
        target.addItems(sorted(self.doc.project.targets))
        target.setCurrentText(node.target or "(automatic)")
        target.currentTextChanged.connect(
            lambda t: self._edit(
                "target", lambda n: setattr(n, "target", None if t == "(automatic)" else t)
            )
        )
        self._add("target", "Target", target)
        retries = QSpinBox()
        retries.setRange(0, 20)
        retries.setValue(node.retries.count)
        retries.valueChanged.connect(
            lambda v: self._edit("retries", lambda n: setattr(n.retries, "count", v))
        )
        self._add("retries", "Retries", retries)
        timeout = QLineEdit(format_value(node.timeout_s))
        timeout.setPlaceholderText("no timeout")
        timeout.textEdited.connect(self._edit_timeout)
        self._add("timeout_s", "Timeout (s)", timeout)

        if kind is not None and kind.params:
            self.form.addRow(QLabel("<b>Parameters</b>"))
            for spec in kind.params:
                self._add_param(node, spec)
        if kind is not None and kind.user_ports:
            self.form.addRow(QLabel("<b>Ports</b>"))
            self.form.addRow(self._ports_editor(node))
        if kind is not None and any(p.name == "fmu" for p in kind.inputs):
            view = fmu_panel(self.doc.project, node.id, self.doc.path)
            if view is not None:
                self.form.addRow(view)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(error_color())
        self.form.addRow(self.problems)
        self._refresh_problems()
        guard_wheel(body)

    def _report_unapplied(self, next_node: str | None) -> None:
        if not self.unapplied or next_node == self.node_id:
            return
        node = self.doc.project.nodes.get(self.node_id or "")
        who = node.label if node is not None else (self.node_id or "")
        parts = [f"{field} {text!r} ({reason})" for field, (text, reason) in self.unapplied.items()]
        self.unapplied = {}
        self.message.emit(f"{who}: not applied, not valid: " + "; ".join(parts))

    def _add(self, key: str, label: str, editor: QWidget) -> None:
        error = QLabel()
        error.setStyleSheet(error_color())
        # One line, always reserved: an error appearing or going away must not move the
        # fields below it (the next click would land on another field). The whole text
        # is in the tooltip.
        error.setWordWrap(False)
        error.setFixedHeight(error.fontMetrics().height() + 2)
        error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        policy = error.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        error.setSizePolicy(policy)
        error.hide()
        if isinstance(editor, QLineEdit):  # the error border must not change its height
            editor.setFixedHeight(editor.sizeHint().height())
        if key not in CAN_FAIL and not key.startswith("params."):
            policy.setRetainSizeWhenHidden(False)  # no error can show there
            error.setSizePolicy(policy)
        self.labels[key] = label.rstrip(" *")
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(editor)
        lay.addWidget(error)
        self.form.addRow(label, box)
        self.editors[key], self.errors[key] = editor, error

    def _add_param(self, node: Node, spec: ParamSpec) -> None:
        key = f"params.{spec.name}"
        value = node.effective_params().get(spec.name)
        label = spec.name + (" *" if spec.required else "")
        if spec.type == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, s=spec: self._edit_param(s, v))
            editor: QWidget = box
        elif spec.choices:
            combo = QComboBox()
            combo.addItems([str(c) for c in spec.choices])
            combo.setCurrentText(str(value))
            combo.currentIndexChanged.connect(lambda i, s=spec: self._edit_param(s, s.choices[i]))
            editor = combo
        elif spec.form in FORMS:
            form = FORMS[spec.form](value)
            form.edited.connect(lambda v, s=spec: self._edit_param(s, v))
            form.rejected.connect(
                lambda text, why, s=spec: self._unapplied(f"params.{s.name}", text, why)
            )
            editor = form
        elif spec.path:
            field = PathField(format_value(value), spec.path, self._project_dir)
            field.line.setPlaceholderText(placeholder(spec))
            field.edited.connect(lambda t, s=spec: self._edit_param_text(s, t))
            editor = field
        else:
            line = QLineEdit(format_value(value))
            line.setPlaceholderText(placeholder(spec))
            line.textEdited.connect(lambda t, s=spec: self._edit_param_text(s, t))
            editor = line
        editor.setToolTip(spec.doc)
        self._add(key, label, editor)

    def _project_dir(self) -> Path | None:
        return self.doc.path.parent if self.doc.path is not None else None

    def _ports_editor(self, node: Node) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        table = QTableWidget(0, 4)
        table.setHorizontalHeaderLabels(["side", "name", "type", "required"])
        for side, ports in (("input", node.inputs), ("output", node.outputs)):
            for port in ports:
                self._port_row(table, side, port)
        table.resizeColumnsToContents()
        table.itemChanged.connect(lambda _i: self._ports_from_table(table))
        buttons = QHBoxLayout()
        for side in ("input", "output"):
            btn = QPushButton(f"+ {side}")
            btn.clicked.connect(lambda _c=False, s=side: self._new_port(table, s))
            buttons.addWidget(btn)
        remove = QPushButton("− remove")
        remove.clicked.connect(lambda: self._remove_port(table))
        buttons.addWidget(remove)
        lay.addWidget(table)
        lay.addLayout(buttons)
        error = QLabel()
        error.setStyleSheet("color: #d04040;")
        error.setWordWrap(True)
        error.hide()
        lay.addWidget(error)
        self.editors["ports"], self.errors["ports"] = table, error
        return box

    def _port_row(self, table: QTableWidget, side: str, port: Port) -> None:
        table.blockSignals(True)
        row = table.rowCount()
        table.insertRow(row)
        side_item = QTableWidgetItem(side)
        side_item.setFlags(side_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        table.setItem(row, 0, side_item)
        table.setItem(row, 1, QTableWidgetItem(port.name))
        combo = QComboBox()
        combo.addItems(list(PORT_TYPES))
        combo.setCurrentText(port.type)
        combo.currentTextChanged.connect(lambda _t: self._ports_from_table(table))
        table.setCellWidget(row, 2, combo)
        req = QTableWidgetItem()
        req.setFlags(req.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        req.setCheckState(Qt.CheckState.Checked if port.required else Qt.CheckState.Unchecked)
        table.setItem(row, 3, req)
        table.blockSignals(False)

    def _new_port(self, table: QTableWidget, side: str) -> None:
        taken = {
            table.item(r, 1).text()
            for r in range(table.rowCount())
            if table.item(r, 0).text() == side
        }
        i = 1
        while f"{'in' if side == 'input' else 'out'}{i}" in taken:
            i += 1
        self._port_row(table, side, Port(f"{'in' if side == 'input' else 'out'}{i}", "any"))
        self._ports_from_table(table)

    def _remove_port(self, table: QTableWidget) -> None:
        row = table.currentRow()
        if row >= 0:
            table.removeRow(row)
            self._ports_from_table(table)

    def _ports_from_table(self, table: QTableWidget) -> None:
        inputs, outputs = [], []
        for r in range(table.rowCount()):
            side, name = table.item(r, 0), table.item(r, 1)
            combo = table.cellWidget(r, 2)
            req = table.item(r, 3)
            if side is None or name is None or combo is None or not name.text().strip():
                continue
            problem = identifier_problem(name.text().strip())
            if problem:
                # Nothing invalid reaches the project; the text stays in the cell for fixing.
                self._show_error("ports", f"port name {problem}")
                return
            port = Port(
                name.text().strip(),
                combo.currentText(),
                req is None or req.checkState() == Qt.CheckState.Checked,
            )
            (inputs if side.text() == "input" else outputs).append(port)

        self._show_error("ports", None)

        def mutate(n: Node) -> None:
            n.inputs, n.outputs = inputs, outputs

        self._edit("ports", mutate, "Edit ports")

    # ----- edits -----
    def _edit(self, field: str, mutate: Any, text: str = "") -> None:
        if self.node_id is None:
            return
        self._own_edit = True
        try:
            self.doc.change_node(self.node_id, field, mutate, text or f"Edit {field}")
        finally:
            self._own_edit = False

    def _show_error(self, key: str, message: str | None) -> None:
        editor, label = self.editors.get(key), self.errors.get(key)
        if editor is None or label is None:
            return
        label.setText(message or "")
        label.setToolTip(message or "")
        label.setVisible(bool(message))
        # A form marks the faulty row itself; a path field borders its line only.
        target = getattr(editor, "error_target", editor)
        if target is not None:
            target.setStyleSheet(error_style() if message else "")
            target.setToolTip(message or "")
        if not message:
            self.unapplied.pop(self.labels.get(key, key), None)

    def _unapplied(self, key: str, text: str, reason: str) -> None:
        self._show_error(key, reason)
        self.unapplied[self.labels.get(key, key)] = (text, reason)

    def _edit_param_text(self, spec: ParamSpec, text: str) -> None:
        try:
            value = parse_value(spec, text)
        except ValueError as exc:
            self._unapplied(f"params.{spec.name}", text, str(exc))
            return  # nothing invalid reaches the project; the text stays for fixing
        self._edit_param(spec, value, text)

    def _edit_param(self, spec: ParamSpec, value: Any, text: str | None = None) -> None:
        if self.node_id is None:
            return
        node = self.doc.project.nodes[self.node_id]
        reason = check_param(node, spec.name, value) if value is not None else None
        if reason is None and spec.required and value in (None, "", [], {}):
            reason = "is required"
        self._show_error(f"params.{spec.name}", reason)
        if reason and reason != "is required":
            self._unapplied(f"params.{spec.name}", text or format_value(value), reason)
            return

        def mutate(n: Node) -> None:
            if value is None:
                n.params.pop(spec.name, None)
            else:
                n.params[spec.name] = value

        self._edit(f"params.{spec.name}", mutate)

    def _edit_timeout(self, text: str) -> None:
        try:
            value = float(text) if text.strip() else None
        except ValueError:
            self._unapplied("timeout_s", text, "expected a number of seconds")
            return
        if value is not None and value <= 0:
            self._unapplied("timeout_s", text, "must be greater than 0")
            return
        self._show_error("timeout_s", None)
        self._edit("timeout_s", lambda n: setattr(n, "timeout_s", value))

    def _refresh_problems(self) -> None:
        if self.node_id is None or not hasattr(self, "problems"):
            return
        try:
            self.problems.text()
        except RuntimeError:  # the form was rebuilt
            return
        found = [p for p in validate(self.doc.project) if p.node_id == self.node_id]
        lines = [f"• {in_panel(p)}" for p in found]
        lines += [f"• {line}" for line in fmu_problems(self.doc, self.node_id)]
        self.problems.setText("\n".join(lines))

    def error_text(self, key: str) -> str:
        label = self.errors.get(key)
        return label.text() if label is not None and not label.isHidden() else ""
