"""The Sobol indices of a ``sensitivity`` node, read back from the run store for the
calibration panel. The JSON was written by a node run and is treated as untrusted: only a
regular file inside the run store is read, and only well-formed numbers are drawn."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from twinflow_studio.project import Project
from twinflow_studio.ui.lineage_source import RunStoreLineage

_KEYS = ("S1", "S1_conf", "ST", "ST_conf")
_MAX_BYTES = 1 << 20
_MAX_PARAMS = 200


def latest_indices(
    project: Project, project_dir: Path, node_id: str, store_root: Path | None = None
) -> tuple[str, dict[str, Any]] | None:
    """(run id, indices) of the newest run of a sensitivity node that produced them."""
    from twinflow_studio.ui.calibration_panel import _stored_file, uri_path

    node = project.nodes.get(node_id)
    if node is None or node.kind != "sensitivity":
        return None
    source = RunStoreLineage(project, project_dir, store_root)
    runs_dir = os.path.realpath(source.runs_dir)
    for run in source.runs():  # newest first
        for task in source.task_runs(run.run_id):
            if task.node_id != node_id or "indices" not in task.outputs:
                continue
            path = uri_path(str(task.outputs["indices"]))
            if not _stored_file(path, runs_dir) or path.stat().st_size > _MAX_BYTES:
                continue
            data = _parse(path)
            if data is not None:
                return run.run_id, data
    return None


def _parse(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    names = data.get("names")
    if not isinstance(names, list) or not 0 < len(names) <= _MAX_PARAMS:
        return None
    if not all(isinstance(n, str) for n in names):
        return None
    out: dict[str, Any] = {"names": names, "selected": []}
    for key in _KEYS:
        values = data.get(key)
        if not isinstance(values, list) or len(values) != len(names):
            return None
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            return None
        out[key] = [float(v) for v in values]
    selected = data.get("selected")
    if isinstance(selected, list):
        out["selected"] = [n for n in selected if isinstance(n, str) and n in names]
    return out


def draw_indices(figure: Any, data: dict[str, Any]) -> None:
    from twinflow_studio.twinstat.sensitivity import draw_bars

    ax = figure.subplots()
    draw_bars(ax, data["names"], data["S1"], data["S1_conf"], data["ST"], data["ST_conf"])
    if data["selected"]:
        ax.set_title("selected for calibration: " + ", ".join(data["selected"]))
