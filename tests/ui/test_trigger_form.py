"""The Triggers form: fields come from each kind's declaration; a trigger reaches the
document only when the project's trigger validation accepts it, and existing triggers
round-trip untouched."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QLineEdit

from twinflow_studio.project import Node, Project, load, validate
from twinflow_studio.project.triggers import CONFIG_FIELDS, validate_trigger
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.forms.triggers import TriggersEditor
from twinflow_studio.ui.path_field import PathField

pytestmark = pytest.mark.gui

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def editor_for(
    qtbot, folder: Path, triggers: list | None = None
) -> tuple[TriggersEditor, Document]:
    project = Project(name="live")
    project.add_node(Node("src", "datasource", params={"path": "incoming"}))
    project.add_node(Node("drift", "drift_check", params={"y_column": "y", "threshold": 1.0}))
    project.triggers = copy.deepcopy(triggers or [])
    doc = Document(project, folder / "live.twin")
    editor = TriggersEditor(doc)
    qtbot.addWidget(editor)
    return editor, doc


def type_into(widget: object, text: str) -> None:
    line = widget.line if isinstance(widget, PathField) else widget
    assert isinstance(line, QLineEdit)
    line.setText(text)
    line.textEdited.emit(text)  # as typing does


def accepted(doc: Document) -> None:
    for spec in doc.project.triggers:
        assert validate_trigger(spec, list(doc.project.nodes)) == [], spec
    assert not [p for p in validate(doc.project) if p.code == "bad_trigger"]


def test_the_examples_triggers_load_into_the_form_and_are_kept(qtbot, tmp_path):
    seen = 0
    for twin in sorted(EXAMPLES.glob("*/*.twin")):
        project = load(twin)
        if not project.triggers:
            continue
        doc = Document(project, twin)
        editor = TriggersEditor(doc)
        qtbot.addWidget(editor)
        before = copy.deepcopy(project.triggers)
        for row in range(len(before)):
            editor.list.setCurrentRow(row)
            spec = before[row]
            assert editor.fields["id"].text() == spec["id"]
            assert editor.fields["kind"].currentText() == spec["kind"]
            for key, value in spec.get("config", {}).items():
                field = editor.fields[f"config.{key}"]
                shown = field.text() if hasattr(field, "text") else field.currentText()
                assert shown == str(value), (twin.name, key)
            assert all(editor.error_text(k) == "" for k in editor.errors), spec
            seen += 1
        assert project.triggers == before and not doc.dirty
    assert seen >= 2


def test_a_new_schedule_is_written_only_once_it_is_valid(qtbot, tmp_path):
    editor, doc = editor_for(qtbot, tmp_path)
    editor.add_trigger()
    assert doc.project.triggers == [{"id": "trigger1", "kind": "manual", "config": {}}]
    editor.fields["kind"].setCurrentText("schedule")
    # A schedule without an interval is refused: the document keeps the manual trigger.
    assert doc.project.triggers[0]["kind"] == "manual"
    assert "needs an interval" in editor.error_text("config.interval")
    type_into(editor.fields["config.interval"], "soon")
    assert "expected a number" in editor.error_text("config.interval")
    type_into(editor.fields["config.interval"], "-5")
    assert "must be a number of seconds > 0" in editor.error_text("config.interval")
    assert doc.project.triggers[0]["kind"] == "manual"
    type_into(editor.fields["config.interval"], "600")
    assert doc.project.triggers[0] == {
        "id": "trigger1",
        "kind": "schedule",
        "config": {"interval": 600.0},
    }
    assert editor.error_text("config.interval") == ""
    type_into(editor.fields["id"], "nightly")
    type_into(editor.fields["nodes"], "drift, nowhere")
    assert "no node 'nowhere'" in editor.error_text("nodes")
    type_into(editor.fields["nodes"], "drift")
    assert doc.project.triggers[0]["id"] == "nightly"
    assert doc.project.triggers[0]["nodes"] == ["drift"]
    assert editor.list.item(0).text().startswith("nightly")
    accepted(doc)


def test_each_kind_shows_its_declared_fields(qtbot, tmp_path):
    editor, _doc = editor_for(qtbot, tmp_path, [{"id": "t", "kind": "manual", "config": {}}])
    for kind, specs in CONFIG_FIELDS.items():
        editor.fields["kind"].setCurrentText(kind)
        shown = {k.removeprefix("config.") for k in editor.fields if k.startswith("config.")}
        assert shown == {s.name for s in specs}, kind
        for spec in specs:
            field = editor.fields[f"config.{spec.name}"]
            if isinstance(field, QCheckBox):
                continue
            line = field.lineEdit() if isinstance(field, QComboBox) else field
            line = line.line if isinstance(line, PathField) else line
            assert line.placeholderText().startswith("e.g. "), (kind, spec.name)


def test_new_data_browse_drift_and_mqtt_edits_pass_validation(qtbot, tmp_path, monkeypatch):
    (tmp_path / "incoming").mkdir()
    editor, doc = editor_for(qtbot, tmp_path, [{"id": "t", "kind": "manual"}])
    editor.fields["kind"].setCurrentText("new_data")
    field = editor.fields["config.path"]
    assert isinstance(field, PathField) and field.kind == "folder"
    monkeypatch.setattr(
        QFileDialog,
        "getExistingDirectory",
        staticmethod(lambda *_a, **_k: str(tmp_path / "incoming")),
    )
    field.browse.click()
    type_into(editor.fields["config.pattern"], "*.csv")
    editor.fields["config.recursive"].setChecked(True)
    assert doc.project.triggers[0] == {
        "id": "t",
        "kind": "new_data",
        "config": {"path": "incoming", "pattern": "*.csv", "recursive": True},
    }
    accepted(doc)
    type_into(editor.fields["config.uri"], "s3://bucket/in/")
    assert "either 'path'" in editor.error_text("config")  # both: refused, not written
    assert "uri" not in doc.project.triggers[0]["config"]
    editor.fields["kind"].setCurrentText("drift")
    combo = editor.fields["config.check_node"]
    assert [combo.itemText(i) for i in range(combo.count())] == ["drift"]
    combo.setCurrentText("drift")
    assert doc.project.triggers[0] == {
        "id": "t",
        "kind": "drift",
        "config": {"check_node": "drift"},
    }
    accepted(doc)
    editor.fields["kind"].setCurrentText("mqtt")
    editor.fields["config.source"].setEditText("src")
    type_into(editor.fields["config.every_messages"], "2.5")
    assert "whole number" in editor.error_text("config.every_messages")
    type_into(editor.fields["config.every_messages"], "50")
    assert doc.project.triggers[0] == {
        "id": "t",
        "kind": "mqtt",
        "config": {"source": "src", "every_messages": 50},
    }
    accepted(doc)


def test_remove_and_undo(qtbot, tmp_path):
    two = [
        {"id": "a", "kind": "manual"},
        {"id": "b", "kind": "schedule", "config": {"interval": 5}},
    ]
    editor, doc = editor_for(qtbot, tmp_path, two)
    editor.list.setCurrentRow(0)
    editor.remove_trigger()
    assert [t["id"] for t in doc.project.triggers] == ["b"]
    assert editor.list.count() == 1
    doc.undo.undo()
    assert doc.project.triggers == two
    assert editor.list.count() == 2
    editor.list.setCurrentRow(1)
    type_into(editor.fields["id"], "a")
    assert "another trigger is called 'a'" in editor.error_text("id")
    assert doc.project.triggers == two
