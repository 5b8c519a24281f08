"""The fmu node on the in-process target, with FMUs compiled here from C (never downloaded)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fmu_helpers import T_AMB, cooling_exact, cooling_fmu, fmu_project

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.fmu import FmuModel, simulate
from twinflow_studio.twinstat.fmu_run import describe


def run(project, folder: Path, **kwargs) -> RunResult:
    return asyncio.run(Engine().run(project, project_dir=folder, **kwargs))


def results(result: RunResult, node: str = "sim") -> pd.DataFrame:
    return pd.read_csv(artifact_path(result.output(node, "results")))


def test_describe_reads_variables_causality_and_units_without_loading(tmp_path):
    info = describe(cooling_fmu(tmp_path / "cooling.fmu"))
    assert info["fmi_version"] == "2.0" and info["fmi_types"] == ["cs", "me"]
    by_name = {v["name"]: v for v in info["variables"]}
    assert by_name["k"]["causality"] == "parameter" and by_name["k"]["unit"] == "1/s"
    assert by_name["T_amb"]["causality"] == "input"
    assert by_name["T"]["causality"] == "output" and by_name["T"]["unit"] == "degC"


@pytest.mark.parametrize("fmi_version", ["2.0", "3.0"])
@pytest.mark.parametrize("fmi_type, tolerance", [("cs", 1e-9), ("me", 1e-4)])
def test_node_matches_the_closed_form(tmp_path, fmi_type, tolerance, fmi_version):
    cooling_fmu(tmp_path / "cooling.fmu", fmi_version=fmi_version)
    project = fmu_project(
        "cooling.fmu",
        {
            "start_values": {"k": 0.5},
            "stop_time": 8.0,
            "output_interval": 0.1,
            "fmi_type": fmi_type,
            "relative_tolerance": 1e-8,
        },
    )
    result = run(project, tmp_path)
    assert result.ok, result.nodes["sim"].error
    frame = results(result)
    assert list(frame.columns) == ["time", "T"]
    assert frame["time"].iloc[-1] == pytest.approx(8.0)
    assert np.max(np.abs(frame["T"] - cooling_exact(frame["time"], 0.5))) < tolerance * 70
    summary = json.loads(artifact_path(result.output("sim", "summary")).read_text())
    assert summary["fmi_type"] == ("CoSimulation" if fmi_type == "cs" else "ModelExchange")
    assert summary["fmi_version"] == fmi_version


@pytest.mark.parametrize("fmi_version", ["2.0", "3.0"])
def test_input_series_from_a_table_drive_the_fmu(tmp_path, fmi_version):
    cooling_fmu(tmp_path / "cooling.fmu", fmi_version=fmi_version)
    t = np.linspace(0, 6, 61)
    pd.DataFrame({"t": t, "ambient": np.full_like(t, 35.0)}).to_csv(tmp_path / "u.csv", index=False)
    project = fmu_project(
        "cooling.fmu", {"input_columns": {"T_amb": "ambient"}, "time_column": "t"}
    )
    project.add_node(Node("u", "datasource", params={"path": "u.csv"}))
    project.connect("u", "data", "sim", "inputs")
    result = run(project, tmp_path)
    assert result.ok, result.nodes["sim"].error
    frame = results(result)
    assert frame["time"].iloc[-1] == pytest.approx(6.0)
    expected = cooling_exact(frame["time"], 0.35, t_amb=35.0)
    assert np.max(np.abs(frame["T"] - expected)) < 1e-6


def test_changed_fmu_reruns_and_unchanged_hits_the_cache(tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    project = fmu_project("cooling.fmu", {"stop_time": 2.0, "output_interval": 0.5})
    first = run(project, tmp_path)
    assert first.ok and first.nodes["sim"].state == "succeeded"
    second = run(project, tmp_path)
    assert second.nodes["sim"].state == "cached"
    # A new version of the FMU (same interface, other equations): a cache miss, new values.
    cooling_fmu(tmp_path / "cooling.fmu", extra="\n    der_T *= 2.0;")
    third = run(project, tmp_path)
    assert third.nodes["sim"].state == "succeeded"
    before, after = results(first), results(third)
    assert np.allclose(after["T"], cooling_exact(after["time"], 0.7), atol=1e-9)
    assert not np.allclose(before["T"], after["T"])


@pytest.mark.parametrize(
    "params, field, name",
    [
        ({"outputs": ["Temp"]}, "outputs", "Temp"),
        ({"start_values": {"kk": 1.0}}, "start_values", "kk"),
        ({"input_columns": {"T": "x"}}, "input_columns", "T"),
        ({"parameter_map": {"k": "rate"}}, "parameter_map.k", "rate"),
    ],
)
def test_bad_variable_fails_validation_naming_the_field(tmp_path, params, field, name):
    cooling_fmu(tmp_path / "cooling.fmu")
    result = run(fmu_project("cooling.fmu", params), tmp_path)
    error = result.nodes["sim"].error or ""
    assert result.nodes["sim"].state == "failed"
    assert f"node 'sim', field '{field}'" in error and repr(name) in error, error
    assert "Traceback" not in error


def test_a_file_that_is_not_an_fmu_is_named(tmp_path):
    (tmp_path / "cooling.fmu").write_text("not a zip")
    result = run(fmu_project("cooling.fmu", {}), tmp_path)
    assert "field 'fmu'" in (result.nodes["sim"].error or "")
    assert "not an FMU" in (result.nodes["sim"].error or "")


def test_design_sets_simulate_one_block_each(tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    project = fmu_project("cooling.fmu", {"stop_time": 3.0, "output_interval": 0.5})
    project.add_node(
        Node(
            "design",
            "lhs_design",
            params={
                "priors": [{"name": "k", "dist": "uniform", "low": 0.1, "high": 1.0}],
                "n_points": 4,
            },
        )
    )
    project.connect("design", "design", "sim", "design")
    result = run(project, tmp_path)
    assert result.ok, result.nodes["sim"].error
    frame = results(result)
    design = json.loads(artifact_path(result.output("design", "design")).read_text())
    assert sorted(frame["set"].unique()) == [0, 1, 2, 3]
    for i, values in enumerate(design["sets"]):
        block = frame[frame["set"] == i]
        assert np.allclose(block["T"], cooling_exact(block["time"], values["k"]), atol=1e-9)


@pytest.mark.parametrize("fmi_version", ["2.0", "3.0"])
def test_fmu_model_is_a_calibration_callable(tmp_path, fmi_version):
    fmu = cooling_fmu(tmp_path / "cooling.fmu", fmi_version=fmi_version)
    t = np.linspace(0, 5, 11)
    model = FmuModel(fmu, ["k"], "T")
    assert np.allclose(model(np.array([0.2]), t), cooling_exact(t, 0.2), atol=1e-9)
    both = model(np.array([[0.2], [0.4]]), t)
    assert both.shape == (2, 11)
    x = np.column_stack([t, np.full_like(t, 30.0)])
    out = simulate(np.array([0.3]), x, fmu=fmu, parameters=["k"], output="T", inputs=["T_amb"])
    assert np.allclose(out, cooling_exact(t, 0.3, t_amb=30.0), atol=1e-9)
    with pytest.raises(TwinStatError, match="field 'fmu.parameters'.*'kk'"):
        FmuModel(fmu, ["kk"], "T")
    model.close()


def test_calibration_through_the_fmu_recovers_k(tmp_path):
    cooling_fmu(tmp_path / "cooling.fmu")
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 8.0, 25)
    y = cooling_exact(t, 0.42) + rng.normal(0.0, 0.5, t.size)
    pd.DataFrame({"t": t, "T_amb": T_AMB, "temp": y}).to_csv(tmp_path / "obs.csv", index=False)
    project = fmu_project("cooling.fmu", {})
    project.nodes.pop("sim")
    project.edges.clear()
    project.add_node(Node("obs", "datasource", params={"path": "obs.csv"}))
    project.add_node(
        Node(
            "cal",
            "calibration",
            params={
                "priors": [{"name": "k", "dist": "uniform", "low": 0.05, "high": 1.5}],
                "x_columns": ["t", "T_amb"],
                "y_column": "temp",
                "noise": {"sigma": 0.5},
                "fmu": {"output": "T", "inputs": ["T_amb"]},
                "n_walkers": 8,
                "n_steps": 300,
                "figures": False,
            },
        )
    )
    project.connect("obs", "data", "cal", "data")
    project.connect("model", "data", "cal", "fmu")
    result = run(project, tmp_path)
    assert result.ok, result.nodes["cal"].error
    summary = json.loads(artifact_path(result.output("cal", "summary")).read_text())
    k = summary["parameters"]["k"]
    assert k["q05"] < 0.42 < k["q95"], k
    assert abs(k["mean"] - 0.42) < 0.03


def test_running_an_fmu_in_process_needs_trust(tmp_path):
    """An FMU is native code: a headless run of a project that simulates one in-process
    needs --trust (exit 2 naming the reason); in a container it does not."""
    import subprocess
    import sys

    from twinflow_studio.project import save
    from twinflow_studio.project.trust import trust_reasons

    cooling_fmu(tmp_path / "cooling.fmu")
    project = fmu_project("cooling.fmu", {"stop_time": 1.0})
    reasons = trust_reasons(project, str(tmp_path))
    assert [(r.category, r.where) for r in reasons] == [("native", "nodes.sim")]
    project.nodes["sim"].target = "docker"
    assert trust_reasons(project, str(tmp_path)) == []
    project.nodes["sim"].target = None
    save(project, tmp_path / "fmu.twin")
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(tmp_path / "fmu.twin")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "loads and runs the FMU from model on this machine" in done.stderr
    assert "Traceback" not in done.stderr
    trusted = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(tmp_path / "fmu.twin"), "--trust"],
        capture_output=True,
        text=True,
    )
    assert trusted.returncode == 0, trusted.stderr


def test_the_runner_script_is_part_of_the_code_identity(tmp_path):
    """The simulation code (fmu_run.py) runs in-process and in containers alike: its hash
    is in the node's code identity on every target, so editing it reruns the node."""
    from twinflow_studio.engine.code_identity import executor_identity, own_helpers
    from twinflow_studio.engine.targets.container_kinds import adapt
    from twinflow_studio.engine.targets.inprocess import InProcessTarget
    from twinflow_studio.project.hashing import hash_file
    from twinflow_studio.twinstat import fmu_run

    project = fmu_project("cooling.fmu", {})
    node = project.nodes["sim"]
    runner_sha = hash_file(Path(fmu_run.__file__))
    assert adapt(node, node.params, "/in", "/out")[2] == runner_sha
    executor = "twinflow_studio.twinstat.fmu:run_fmu"
    # Local workers: the executor's identity holds the runner's source hash.
    assert own_helpers("twinflow_studio.twinstat.fmu")["twinflow_studio.twinstat.fmu_run"] == (
        runner_sha
    )
    target = InProcessTarget(project.targets["local"])
    try:
        identity = asyncio.run(target.code_identity(node, node.params, tmp_path))
    finally:
        asyncio.run(target.close())
    assert executor_identity(executor) is not None
    assert identity == asyncio.run(_snapshot_digest(node, tmp_path))


async def _snapshot_digest(node, project_dir):
    import asyncio as aio

    from twinflow_studio.engine.code_identity import snapshot

    return (
        await aio.to_thread(
            snapshot, "twinflow_studio.twinstat.fmu:run_fmu", node.params, project_dir
        )
    ).digest


def test_a_long_simulation_stops_when_the_node_is_cancelled(tmp_path):
    """In-process, a thread cannot be killed: the node asks for cancellation after every
    FMU step, so a cancelled or timed-out node stops within a step, not at the end."""
    import threading
    import time

    from twinflow_studio.engine.task import InputArtifact, TaskCancelled, TaskContext
    from twinflow_studio.twinstat.fmu import run_fmu

    fmu = cooling_fmu(tmp_path / "cooling.fmu")
    out = tmp_path / "out"
    out.mkdir()
    ctx = TaskContext(
        run_id="r",
        node_id="sim",
        node_kind="fmu",
        params={"stop_time": 1e6, "output_interval": 0.01},  # 10^8 steps: hours
        inputs={"fmu": InputArtifact("fmu", "file", fmu, "0" * 64)},
        output_ports={"results": "dataframe", "summary": "json"},
        output_dir=out,
        project_dir=tmp_path,
        log=lambda _line: None,
    )
    timer = threading.Timer(0.5, ctx.cancelled.set)
    began = time.monotonic()
    timer.start()
    with pytest.raises(TaskCancelled):
        run_fmu(ctx)
    assert time.monotonic() - began < 10
    assert not (out / "results.csv").exists()
