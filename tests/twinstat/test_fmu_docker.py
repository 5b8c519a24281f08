"""The fmu node in a container on real Docker: the same runner as in-process, in the fmpy
image, with the FMU mounted read-only; results equal the in-process run's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fmu_helpers import cooling_exact, cooling_fmu, fmu_project

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node

pytestmark = pytest.mark.docker


def run(project, folder: Path) -> RunResult:
    return asyncio.run(Engine().run(project, project_dir=folder))


def on_docker(project, image: str):
    project.nodes["sim"].target = "docker"
    project.nodes["sim"].params["image"] = image
    return project


def test_fmu_on_docker_matches_closed_form_and_in_process(tmp_path, fmpy_image):
    cooling_fmu(tmp_path / "cooling.fmu")
    t = np.linspace(0, 5, 51)
    pd.DataFrame({"time": t, "amb": 25.0}).to_csv(tmp_path / "u.csv", index=False)
    params = {"start_values": {"k": 0.6}, "input_columns": {"T_amb": "amb"}}

    def build(docker: bool):
        project = fmu_project("cooling.fmu", dict(params))
        project.add_node(Node("u", "datasource", params={"path": "u.csv"}))
        project.connect("u", "data", "sim", "inputs")
        return on_docker(project, fmpy_image) if docker else project

    in_docker = run(build(True), tmp_path)
    assert in_docker.ok, in_docker.nodes["sim"].error
    frame = pd.read_csv(artifact_path(in_docker.output("sim", "results")))
    assert np.max(np.abs(frame["T"] - cooling_exact(frame["time"], 0.6, t_amb=25.0))) < 1e-6
    summary = json.loads(artifact_path(in_docker.output("sim", "summary")).read_text())
    assert summary["n_simulations"] == 1 and summary["fmi_type"] == "CoSimulation"
    local = run(build(False), tmp_path)
    assert local.ok
    same = pd.read_csv(artifact_path(local.output("sim", "results")))
    assert np.array_equal(frame.to_numpy(), same.to_numpy())

    # Unchanged FMU: a hit; a new FMU version: the container runs again.
    assert run(build(True), tmp_path).nodes["sim"].state == "cached"
    cooling_fmu(tmp_path / "cooling.fmu", extra="\n    der_T *= 0.5;")
    again = run(build(True), tmp_path)
    assert again.nodes["sim"].state == "succeeded"
    frame = pd.read_csv(artifact_path(again.output("sim", "results")))
    assert np.allclose(frame["T"], cooling_exact(frame["time"], 0.3, t_amb=25.0), atol=1e-6)


def test_bad_variable_in_a_container_names_the_field(tmp_path, fmpy_image):
    cooling_fmu(tmp_path / "cooling.fmu")
    project = on_docker(fmu_project("cooling.fmu", {"outputs": ["Temp"]}), fmpy_image)
    result = run(project, tmp_path)
    assert result.nodes["sim"].state == "failed"
    assert result.nodes["sim"].exit_code == 2
    tail = "\n".join(result.nodes["sim"].tail)
    assert "field 'outputs': 'Temp' is not a variable of FMU 'cooling'" in tail, tail
