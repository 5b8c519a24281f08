"""The filter, propagation and sensitivity nodes in a real project run by the engine: live
data arrives in a folder and each run continues the filter where the last one stopped."""

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from twinflow_studio.engine import Engine
from twinflow_studio.project import Node, Project, validate
from twinflow_studio.twinstat.data import read_frame
from twinflow_studio.twinstat.posterior import Posterior

COOLING_FX = "twinflow_studio.twinstat.models_dynamic:cooling_fx"
COOLING = "twinflow_studio.twinstat.models:newton_cooling"


def write_batch(path: Path, t: np.ndarray, seed: int) -> None:
    y = 20.0 + 65.0 * np.exp(-0.35 * t) + np.random.default_rng(seed).normal(0, 0.5, t.size)
    tmp = path.with_suffix(".tmp")
    pd.DataFrame({"t": t, "temp": y}).to_csv(tmp, index=False)
    os.replace(tmp, path)


def local(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def twin(tmp_path: Path) -> Project:
    p = Project(name="filters")
    p.add_node(Node("sensor", "datasource", params={"path": "incoming"}))
    p.add_node(
        Node(
            "ukf",
            "state_estimation",
            params={
                "method": "ukf",
                "time_column": "t",
                "y_columns": ["temp"],
                "states": [{"name": "T", "dist": "normal", "mean": 85.0, "sd": 5.0}],
                "parameters": [{"name": "k", "dist": "lognormal", "mu": -1.2, "sigma": 0.5}],
                "transition": COOLING_FX,
                "process_noise": {"T": 0.01},
                "measurement_noise": 0.5,
            },
        )
    )
    p.add_node(
        Node(
            "bands",
            "propagate",
            params={
                "callable": COOLING,
                "x_columns": ["t"],
                "parameters": {"t_env": 20.0, "t0": 85.0},
                "parameter_names": ["k", "t_env", "t0"],
                "n_draws": 300,
            },
        )
    )
    p.add_node(
        Node(
            "sobol",
            "sensitivity",
            params={
                "callable": COOLING,
                "x_columns": ["t"],
                "priors": [
                    {"name": "k", "dist": "uniform", "low": 0.2, "high": 0.5},
                    {"name": "t_env", "dist": "uniform", "low": 15, "high": 25},
                    {"name": "t0", "dist": "uniform", "low": 84, "high": 86},
                ],
                "n_base": 256,
                "select_top_k": 2,
            },
        )
    )
    p.connect("sensor", "data", "ukf", "data")
    p.connect("ukf", "posterior", "bands", "posterior")
    p.connect("sensor", "data", "bands", "data")
    p.connect("sensor", "data", "sobol", "data")
    assert validate(p) == []
    return p


async def test_filter_continues_across_runs_and_feeds_propagation(tmp_path):
    (tmp_path / "incoming").mkdir()
    write_batch(tmp_path / "incoming" / "001.csv", np.arange(0, 5, 0.25), seed=0)
    project = twin(tmp_path)
    engine = Engine()
    first = await engine.run(project, project_dir=tmp_path)
    assert first.ok, first.summary
    summary = json.loads(local(first.output("ukf", "summary").uri).read_text())
    assert summary["rows_processed"] == 20 and summary["continued_from"] is None
    sobol = json.loads(local(first.output("sobol", "indices").uri).read_text())
    assert sobol["selected"] == ["t_env", "k"] or sobol["selected"] == ["k", "t_env"]
    assert local(first.output("sobol", "figure").uri).read_bytes()[:4] == b"\x89PNG"

    # New rows arrive in a second file: only they are filtered.
    write_batch(tmp_path / "incoming" / "002.csv", np.arange(5, 10, 0.25), seed=1)
    second = await engine.run(project, project_dir=tmp_path)
    assert second.ok, second.summary
    summary = json.loads(local(second.output("ukf", "summary").uri).read_text())
    assert summary["rows_processed"] == 20 and summary["rows_skipped"] == 20
    assert summary["continued_from"] == 4.75 and summary["rows_total"] == 40
    log = (second.run_dir / "ukf" / "log.txt").read_text()
    assert "continuing from the filter state at t=4.75" in log
    estimates = read_frame(local(second.output("ukf", "estimates").uri))
    assert len(estimates) == 40 and estimates["t"].is_monotonic_increasing
    k = summary["parameters"]["k"]
    assert k["q05"] < 0.35 < k["q95"]
    assert (
        k["sd"]
        < json.loads(local(first.output("ukf", "summary").uri).read_text())["parameters"]["k"]["sd"]
    )

    # The same answer as one run over all rows from scratch.
    fresh = await engine.run(
        project, project_dir=tmp_path, store_root=tmp_path / "other-store", use_cache=False
    )
    once = Posterior.load(local(fresh.output("ukf", "posterior").uri))
    twice = Posterior.load(local(second.output("ukf", "posterior").uri))
    np.testing.assert_allclose(once.extras["mean"], twice.extras["mean"], rtol=1e-9)
    np.testing.assert_allclose(once.extras["cov"], twice.extras["cov"], rtol=1e-9)

    bands = pd.read_csv(local(second.output("bands", "bands").uri))
    assert len(bands) == 40 and (bands["q05"] <= bands["q50"]).all()
    assert (bands["q50"] <= bands["q95"]).all()


def test_filter_model_callables_need_trust(tmp_path):
    """The transition and measurement are code the run imports: a project naming them needs
    the user's trust like any callable."""
    from twinflow_studio.project.trust import trust_reasons

    project = twin(tmp_path)
    project.nodes["ukf"].params["measurement"] = "mymodels:hx"
    where = {r.where for r in trust_reasons(project, str(tmp_path))}
    assert {"nodes.ukf.params.transition", "nodes.ukf.params.measurement"} <= where
    assert "nodes.bands.params.callable" in where and "nodes.sobol.params.callable" in where
