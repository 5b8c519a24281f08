"""A read-only view of an FMU's model description in the properties panel: its variables
with causality, variability, unit and start, and the names the node gets wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from twinflow_studio.project import get_kind

COLUMNS = ("Name", "Causality", "Variability", "Unit", "Start", "Description")


def _folder(twin_path: Path | None) -> Path | None:
    return twin_path.parent if twin_path is not None else None


def fmu_problems(doc: Any, node_id: str) -> list[str]:
    """The names an FMU-fed node gets wrong, checked against the model description."""
    kind = get_kind(doc.project.nodes[node_id].kind)
    if kind is None or not any(p.name == "fmu" for p in kind.inputs):
        return []
    from twinflow_studio.twinstat.fmu import fmu_overview

    return fmu_overview(doc.project, node_id, _folder(doc.path))[1]


def fmu_panel(project: Any, node_id: str, twin_path: Path | None) -> QWidget | None:
    """The FMU box for ``node_id``, or None when no readable local FMU feeds its ``fmu``
    port (what is wrong with it is listed with the node's problems)."""
    from twinflow_studio.twinstat.fmu import fmu_overview

    info, _ = fmu_overview(project, node_id, _folder(twin_path))
    if info is None:
        return None
    box = QWidget()
    box.setObjectName("fmu-view")
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    heading = QLabel(
        f"<b>FMU</b> {info['model_name']} — FMI {info['fmi_version']}, "
        + " + ".join({"cs": "co-simulation", "me": "model exchange"}[t] for t in info["fmi_types"])
    )
    heading.setWordWrap(True)
    layout.addWidget(heading)
    table = QTableWidget(len(info["variables"]), len(COLUMNS))
    table.setObjectName("fmu-variables")
    table.setHorizontalHeaderLabels(COLUMNS)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for row, var in enumerate(info["variables"]):
        cells = (
            var["name"],
            var["causality"] or "",
            var["variability"] or "",
            var["unit"],
            "" if var["start"] is None else str(var["start"]),
            var["description"],
        )
        for col, text in enumerate(cells):
            table.setItem(row, col, QTableWidgetItem(text))
    table.resizeColumnsToContents()
    table.setMinimumHeight(min(320, 30 + 26 * len(info["variables"])))
    layout.addWidget(table)
    return box
