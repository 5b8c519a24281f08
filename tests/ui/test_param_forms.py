"""Priors and noise are edited in forms (a row per parameter, its density drawn), path
parameters have Browse…, and empty fields show an example, not a type name. Nothing
invalid reaches the document; every valid value the examples hold round-trips unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QLineEdit

from twinflow_studio.project import Node, Project, all_kinds, load
from twinflow_studio.project.kinds import PARAM_TYPES
from twinflow_studio.twinstat.priors import parse_priors
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.forms.priors import NoiseForm, PriorsForm
from twinflow_studio.ui.path_field import PathField
from twinflow_studio.ui.properties import PropertiesPanel

pytestmark = pytest.mark.gui

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
PRIORS = [
    {"name": "k", "dist": "uniform", "low": 0.05, "high": 0.6},
    {"name": "t_env", "dist": "normal", "mean": 20, "sd": 2.5},
]


def panel_for(qtbot, folder: Path, node: Node) -> tuple[PropertiesPanel, Document]:
    project = Project(name="forms")
    project.add_node(node)
    doc = Document(project, folder / "forms.twin")
    panel = PropertiesPanel(doc)
    qtbot.addWidget(panel)
    panel.show_node(node.id)
    return panel, doc


def calibration(priors: object = PRIORS, noise: object = None) -> Node:
    return Node(
        "cal",
        "calibration",
        params={
            "model": "m:f",
            "priors": copy.deepcopy(priors),
            "y_column": "y",
            "noise": noise if noise is not None else {"sigma": 0.5},
        },
    )


def example_values() -> list[tuple[str, str, object]]:
    found = []
    for twin in sorted(EXAMPLES.glob("*/*.twin")):
        project = load(twin)
        for node in project.nodes.values():
            for key in ("priors", "states", "parameters", "noise"):
                if key in node.params and node.params[key] not in ([], {}):
                    found.append((f"{twin.name}:{node.id}.{key}", key, node.params[key]))
    return found


def test_every_example_value_round_trips_through_its_form(qtbot):
    values = example_values()
    assert len(values) >= 4, values  # the examples do have priors and noise to show
    for where, key, value in values:
        form = (NoiseForm if key == "noise" else PriorsForm)(copy.deepcopy(value))
        qtbot.addWidget(form)
        assert not form.is_raw(), f"{where}: {form.note.text()}"
        got, problem = form.collect()
        assert problem is None, where
        assert got == value, where


def test_priors_shapes_and_aliases_round_trip_untouched_rows(qtbot):
    mapping = {
        "k": {"dist": "gaussian", "mean": 1, "sd": 0.25},
        "c": {"dist": "uniform", "low": 0, "high": 2},
    }
    form = PriorsForm(copy.deepcopy(mapping))
    qtbot.addWidget(form)
    assert form.collect() == (mapping, None)
    # An edit to one row rewrites that row only; the alias of the other survives.
    form.rows[1].spins["high"].setValue(3.0)
    value, problem = form.collect()
    assert problem is None
    assert value == {"k": mapping["k"], "c": {"dist": "uniform", "low": 0.0, "high": 3.0}}
    truncated = [{"name": "z", "dist": "truncnormal", "mean": 0, "sd": 1, "low": 0}]
    form = PriorsForm(copy.deepcopy(truncated))
    qtbot.addWidget(form)
    assert form.rows[0].bounds["low"].isChecked() and not form.rows[0].bounds["high"].isChecked()
    assert form.collect() == (truncated, None)


def test_the_form_writes_valid_priors_and_draws_their_density(qtbot, tmp_path):
    panel, doc = panel_for(qtbot, tmp_path, calibration())
    form = panel.editors["params.priors"]
    assert isinstance(form, PriorsForm)
    assert [r.name.text() for r in form.rows] == ["k", "t_env"]
    normal = form.rows[1].sparkline.ys
    assert len(normal) > 10 and max(normal) == 1.0
    peak = normal.index(max(normal))
    assert abs(peak - len(normal) / 2) <= 2  # a normal's density peaks at its mean
    form.rows[0].spins["high"].setValue(0.9)
    assert doc.project.nodes["cal"].params["priors"][0]["high"] == 0.9
    form.rows[1].dist.setCurrentText("lognormal")
    new = doc.project.nodes["cal"].params["priors"][1]
    assert new["dist"] == "lognormal" and set(new) == {"name", "dist", "mu", "sigma"}
    row = form.add_row()
    rename(row, "gain")
    priors = doc.project.nodes["cal"].params["priors"]
    assert [p["name"] for p in priors] == ["k", "t_env", "gain"]
    assert parse_priors(priors).names == ["k", "t_env", "gain"]  # what a run will accept
    form.remove_row(form.rows[0])
    assert [p["name"] for p in doc.project.nodes["cal"].params["priors"]] == ["t_env", "gain"]
    doc.undo.undo()  # (edits of one field merge into one step) the form follows the document
    names = [p["name"] for p in doc.project.nodes["cal"].params["priors"]]
    assert names[:2] == ["k", "t_env"]
    assert [r.name.text() for r in panel.editors["params.priors"].rows] == names


def rename(row: object, text: str) -> None:
    row.name.setText(text)  # type: ignore[attr-defined]
    row.name.textEdited.emit(text)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows[0].spins["low"].setValue(0.7), "'low' (0.7) must be below 'high'"),
        (lambda rows: rows[1].spins["sd"].setValue(0.0), "'sd' must be > 0"),
        (lambda rows: rename(rows[1], "k"), "the name 'k' is taken"),
        (lambda rows: rename(rows[1], " "), "give the parameter a name"),
    ],
)
def test_invalid_priors_show_inline_and_are_not_written(qtbot, tmp_path, edit, message):
    panel, doc = panel_for(qtbot, tmp_path, calibration())
    form = panel.editors["params.priors"]
    before = copy.deepcopy(doc.project.nodes["cal"].params["priors"])
    edit(form.rows)
    assert doc.project.nodes["cal"].params["priors"] == before
    shown = [r.error.text() for r in form.rows if not r.error.isHidden()]
    assert any(message in s for s in shown), shown
    assert message in panel.error_text("params.priors")
    assert not doc.dirty


def test_a_value_the_form_cannot_show_stays_raw_and_is_kept(qtbot, tmp_path):
    odd = [{"name": "a", "dist": "beta", "a": 2, "b": 3}]
    panel, doc = panel_for(qtbot, tmp_path, calibration(priors=odd))
    form = panel.editors["params.priors"]
    assert form.is_raw() and "unknown distribution 'beta'" in form.note.text()
    assert json.loads(form.raw.text()) == odd
    form.raw_toggle.setChecked(False)  # refused: the form would lose the value
    assert form.is_raw()
    form.raw.setText(json.dumps(PRIORS))
    form.raw.textEdited.emit(json.dumps(PRIORS))
    assert doc.project.nodes["cal"].params["priors"] == PRIORS
    form.raw_toggle.setChecked(False)
    assert not form.is_raw() and [r.name.text() for r in form.rows] == ["k", "t_env"]
    form.raw_toggle.setChecked(True)
    form.raw.textEdited.emit("[{")
    assert doc.project.nodes["cal"].params["priors"] == PRIORS
    assert "expected JSON" in panel.error_text("params.priors")


def test_noise_form_modes_and_rejection(qtbot, tmp_path):
    panel, doc = panel_for(qtbot, tmp_path, calibration())
    form = panel.editors["params.noise"]
    assert isinstance(form, NoiseForm) and form.sigma.value() == 0.5
    form.sigma.setValue(0.0)
    assert doc.project.nodes["cal"].params["noise"] == {"sigma": 0.5}
    assert "sigma must be > 0" in panel.error_text("params.noise")
    form.sigma.setValue(0.8)
    assert doc.project.nodes["cal"].params["noise"] == {"sigma": 0.8}
    assert panel.error_text("params.noise") == ""
    form.mode.setCurrentIndex(2)  # inferred: a prior on sigma
    noise = doc.project.nodes["cal"].params["noise"]
    assert noise["prior"]["dist"] == "lognormal"
    assert form.prior_row.sparkline.ys
    form.mode.setCurrentIndex(1)
    assert doc.project.nodes["cal"].params["noise"]["prior"]  # an empty column is refused
    assert "name the column" in panel.error_text("params.noise")
    form.column.setText("sd")
    form.column.textEdited.emit("sd")  # as typing does
    assert doc.project.nodes["cal"].params["noise"] == {"sigma_column": "sd"}


def test_browse_stores_a_path_relative_to_the_project(qtbot, tmp_path, monkeypatch):
    data = tmp_path / "data" / "readings.csv"
    data.parent.mkdir()
    data.write_text("t,y\n0,1\n")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other.csv"
    elsewhere.write_text("t,y\n")
    panel, doc = panel_for(qtbot, tmp_path, Node("src", "datasource", params={"path": ""}))
    field = panel.editors["params.path"]
    assert isinstance(field, PathField)
    answers = iter([str(data), str(elsewhere)])
    asked: list[str] = []

    def choose(_parent, _title, start="", *_a, **_k):
        asked.append(start)
        return next(answers), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(choose))
    field.browse.click()
    assert doc.project.nodes["src"].params["path"] == "data/readings.csv"
    assert field.text() == "data/readings.csv"
    assert asked[0] == str(tmp_path)  # the dialog starts in the project folder
    field.browse.click()
    assert doc.project.nodes["src"].params["path"] == str(elsewhere)  # outside: absolute
    # A folder, through the button's menu (a data source may be a folder).
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(data.parent))
    )
    folder_action = field.browse.menu().actions()[1]
    assert "folder" in folder_action.text()
    folder_action.trigger()
    assert doc.project.nodes["src"].params["path"] == "data"
    cancelled = staticmethod(lambda *_a, **_k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", cancelled)
    field.browse.click()
    assert doc.project.nodes["src"].params["path"] == "data"  # cancel changes nothing


def test_placeholders_show_examples_never_type_names(qtbot, tmp_path):
    for kind in all_kinds():
        panel, _doc = panel_for(qtbot, tmp_path, Node("n", kind.name))
        for spec in kind.params:
            editor = panel.editors.get(f"params.{spec.name}")
            line = editor.line if isinstance(editor, PathField) else editor
            if not isinstance(line, QLineEdit):
                continue
            text = line.placeholderText()
            assert text not in PARAM_TYPES, f"{kind.name}.{spec.name}: {text!r}"
            if spec.example is not None:
                assert text.startswith("e.g. "), f"{kind.name}.{spec.name}: {text!r}"
    panel, _doc = panel_for(qtbot, tmp_path, Node("n", "datasource"))
    assert panel.editors["params.path"].line.placeholderText() == "e.g. data/measurements.csv"
