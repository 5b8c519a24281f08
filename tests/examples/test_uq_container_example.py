"""The uq-container example end to end on real Docker: emcee calibration, then predictive
bands and Sobol indices through a simulator that runs once, in a container, for all samples."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinflow_studio.engine import Engine
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import load, validate

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "uq-container"
# What make_example.py drew the readings from, kept here: a test must not take its expected
# answer from the code under test.
TRUE_A, TRUE_B = 0.4, 0.12
LOADS = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
# Sobol priors of the example: a ~ U(0.3, 0.5), b ~ U(0.1, 0.14).
VAR_A, VAR_B = 0.2**2 / 12, 0.04**2 / 12


def test_the_uq_container_example_propagates_and_ranks_through_one_container_run(
    tmp_path: Path, base_image: str
) -> None:
    folder = tmp_path / "uq"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".twinflow", "__pycache__"))
    project = load(folder / "uq-container.twin")
    assert [p for p in validate(project) if p.severity == "error"] == []
    result = asyncio.run(Engine().run(project, project_dir=folder))
    assert result.ok, {k: v.error for k, v in result.nodes.items() if v.error}

    samples = pd.read_csv(artifact_path(result.output("draws", "samples")))
    assert len(samples) == 400
    bands = pd.read_csv(artifact_path(result.output("bands", "bands")))
    assert list(bands["load_kn"]) == LOADS
    loads = np.array(LOADS)
    predicted = samples["a"].to_numpy()[:, None] + samples["b"].to_numpy()[:, None] * loads
    np.testing.assert_allclose(bands["mean"], predicted.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bands["sd"], predicted.std(axis=0, ddof=1), rtol=1e-9)
    truth = TRUE_A + TRUE_B * loads
    assert np.all((bands["q05"] <= truth) & (truth <= bands["q95"])), (bands, truth)

    indices = json.loads(artifact_path(result.output("sobol", "indices")).read_text())
    # Variance-weighted over the loads, for the additive a + b * load.
    s_a = len(LOADS) * VAR_A / (len(LOADS) * VAR_A + VAR_B * float(np.sum(loads**2)))
    expected = np.array([s_a, 1.0 - s_a])
    for key in ("S1", "ST"):
        got, conf = np.array(indices[key]), np.array(indices[f"{key}_conf"])
        assert np.all(np.abs(got - expected) <= conf), (key, got, expected, conf)
    assert indices["ranking"] == ["b", "a"]

    for node in ("simulate", "simulate_sobol"):
        log = (folder / ".twinflow" / "runs" / result.run_id / node / "log.txt").read_text()
        assert log.count("simulated ") == 1, log
    assert (
        "simulated 400 parameter samples at 6 loads"
        in (folder / ".twinflow" / "runs" / result.run_id / "simulate" / "log.txt").read_text()
    )
