"""The properties panel shows an FMU's model description (read from its XML, the binary never
loaded) and lists the variable names the node gets wrong."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit, QTableWidget

from twinflow_studio.project import Node, Project
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.properties import PropertiesPanel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "twinstat"))
from fmu_helpers import cooling_fmu  # noqa: E402

pytestmark = pytest.mark.gui


def panel_for(qtbot, folder: Path, fmu_path: str, params: dict) -> PropertiesPanel:
    project = Project(name="fmu-view")
    project.add_node(Node("model", "datasource", params={"path": fmu_path}))
    project.add_node(Node("sim", "fmu", params=params))
    project.connect("model", "data", "sim", "fmu")
    panel = PropertiesPanel(Document(project, folder / "fmu.twin"))
    qtbot.addWidget(panel)
    panel.show_node("sim")
    return panel


def table_rows(panel: PropertiesPanel) -> list[tuple[str, ...]]:
    table = panel.findChild(QTableWidget, "fmu-variables")
    assert table is not None
    return [tuple(table.item(r, c).text() for c in range(4)) for r in range(table.rowCount())]


def test_variables_causality_and_units_are_shown_without_loading_the_binary(qtbot, tmp_path):
    fmu = cooling_fmu(tmp_path / "cooling.fmu")
    # A binary that would crash if loaded: the view must only read the XML.
    broken = tmp_path / "broken.fmu"
    with zipfile.ZipFile(fmu) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"\0garbage" if item.filename.endswith(".so") else data)
    panel = panel_for(qtbot, tmp_path, "broken.fmu", {})
    rows = table_rows(panel)
    assert ("k", "parameter", "fixed", "1/s") in rows
    assert ("T_amb", "input", "continuous", "degC") in rows
    assert ("T", "output", "continuous", "degC") in rows
    assert panel.problems.text() == ""


def test_a_wrong_output_name_is_listed_with_its_field(qtbot, tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    panel = panel_for(qtbot, tmp_path, "cooling.fmu", {"outputs": ["Temp"]})
    text = panel.problems.text()
    assert "outputs: 'Temp' is not a variable of FMU 'cooling'" in text, text
    editor = panel.editors["params.outputs"]
    assert isinstance(editor, QLineEdit)
    editor.setText('["T"]')
    editor.textEdited.emit('["T"]')
    assert "Temp" not in panel.problems.text()


def test_an_fmu_outside_the_project_folder_is_not_read(qtbot, tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    inner = tmp_path / "project"
    inner.mkdir()
    panel = panel_for(qtbot, inner, "../cooling.fmu", {"outputs": ["Temp"]})
    assert panel.findChild(QTableWidget, "fmu-variables") is None
    assert "Temp" not in panel.problems.text()


def test_a_calibration_fed_an_fmu_shows_it_and_checks_its_fmu_spec(qtbot, tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    project = Project(name="fmu-cal")
    project.add_node(Node("model", "datasource", params={"path": "cooling.fmu"}))
    project.add_node(
        Node(
            "cal",
            "calibration",
            params={
                "priors": [{"name": "rate", "dist": "uniform", "low": 0.0, "high": 1.0}],
                "y_column": "T",
                "noise": {"sigma": 1.0},
                "fmu": {"output": "T", "inputs": ["T_amb"]},
            },
        )
    )
    project.connect("model", "data", "cal", "fmu")
    panel = PropertiesPanel(Document(project, tmp_path / "cal.twin"))
    qtbot.addWidget(panel)
    panel.show_node("cal")
    assert ("k", "parameter", "fixed", "1/s") in table_rows(panel)
    # theta defaults to the priors' names: 'rate' is no variable of the FMU.
    assert "fmu.parameters: 'rate' is not a variable of FMU 'cooling'" in panel.problems.text()
