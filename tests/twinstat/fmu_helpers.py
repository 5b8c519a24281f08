"""Real FMUs for the tests, compiled here with gcc (never downloaded), and projects using them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinflow_studio.project import Node, Project, TargetConfig
from twinflow_studio.twinstat.fmu_build import Variable, build_fmu

T0 = 90.0
T_AMB = 20.0


def cooling_fmu(
    path: Path, *, rate_unit: str = "1/s", extra: str = "", fmi_version: str = "2.0"
) -> Path:
    """Newton cooling dT/dt = -k (T - T_amb): T(t) = T_amb + (T0 - T_amb) exp(-k t)."""
    return build_fmu(
        path,
        "cooling",
        [
            Variable("k", "parameter", 0.35, rate_unit, "cooling rate"),
            Variable("T_amb", "input", T_AMB, "degC", "ambient temperature"),
            Variable("T", "output", T0, "degC", "temperature"),
            Variable("der(T)", "local", unit="degC/s", derivative_of="T"),
        ],
        "    der_T = -k * (T - T_amb);" + extra,
        description="Newton cooling",
        default_experiment=(0.0, 10.0, 0.1),
        fmi_version=fmi_version,
    )


def cooling_exact(t: np.ndarray, k: float, t_amb: float = T_AMB, t0: float = T0) -> np.ndarray:
    return t_amb + (t0 - t_amb) * np.exp(-k * np.asarray(t))


def fmu_project(fmu_file: str, params: dict, target: TargetConfig | None = None) -> Project:
    project = Project(name="fmu-test")
    if target is not None:
        project.targets[target.name] = target
    project.add_node(Node("model", "datasource", params={"path": fmu_file}))
    project.add_node(
        Node("sim", "fmu", params=params, target=target.name if target is not None else None)
    )
    project.connect("model", "data", "sim", "fmu")
    return project
