"""Samples out, evaluations back in (no Docker here: the 'simulation' is this test writing
the outputs table a container would): the wiring checks, the same bands as the callable
path, and every way an outputs table can be wrong named with its file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from twinstat_helpers import artifact, json_artifact, make_ctx

from twinflow_studio.engine.task import InputArtifact
from twinflow_studio.project import Node, Port, Project, validate
from twinflow_studio.project.hashing import hash_path
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.models import linear
from twinflow_studio.twinstat.nodes_uncertainty import run_propagate, run_sensitivity
from twinflow_studio.twinstat.nodes_uq_samples import (
    run_propagate_samples,
    run_sensitivity_samples,
)
from twinflow_studio.twinstat.posterior import Posterior

XS = np.array([-1.0, 0.5, 2.0])


def posterior(tmp_path: Path):
    samples = np.random.default_rng(0).multivariate_normal([1.0, 2.0], np.diag([0.04, 0.09]), 5000)
    post = Posterior(["a", "b"], samples, np.zeros(len(samples)), samples[:, None, :])
    return artifact("posterior", "posterior", post.save(tmp_path / "post.npz"))


def draw(tmp_path: Path, **params):
    ctx = make_ctx(tmp_path, "propagate_samples", params, {"posterior": posterior(tmp_path)})
    return run_propagate_samples(ctx)


def simulate(samples: pd.DataFrame) -> pd.DataFrame:
    """What a container computing y = a + b x writes: one row per (sample, x)."""
    rows = [
        {"sample": int(r["sample"]), "x": x, "y": r["a"] + r["b"] * x}
        for _, r in samples.iterrows()
        for x in XS
    ]
    return pd.DataFrame(rows)


def summarize(tmp_path: Path, plan, evaluations: Path, **params):
    inputs = {
        "plan": json_artifact(tmp_path, "plan", plan),
        "evaluations": InputArtifact(
            "evaluations", "dataframe", evaluations, hash_path(evaluations), producer="docker"
        ),
    }
    ctx = make_ctx(tmp_path, "propagate", {"x_columns": ["x"], **params}, inputs, "bands")
    return run_propagate(ctx)


@pytest.mark.parametrize("method", ["monte_carlo", "pce"])
def test_bands_from_evaluations_equal_the_callable_path(tmp_path: Path, method: str) -> None:
    settings = {"method": method, "n_draws": 300, "pce_order": 2, "seed": 7}
    out = draw(tmp_path, format="parquet", **settings)
    samples = pd.read_parquet(out["samples"])
    assert list(samples.columns) == ["sample", "a", "b"]
    assert out["design"]["sets"][0] == {"a": samples["a"][0], "b": samples["b"][0]}
    evaluations = tmp_path / "evaluations"  # no suffix, as a container's output
    simulate(samples).sample(frac=1.0, random_state=1).to_parquet(evaluations)
    bands = pd.read_csv(summarize(tmp_path, out["plan"], evaluations)["bands"])
    pd.DataFrame({"x": XS}).to_csv(tmp_path / "x.csv", index=False)
    direct_ctx = make_ctx(
        tmp_path,
        "propagate",
        {"callable": "twinflow_studio.twinstat.models:linear", "x_columns": ["x"], **settings},
        {
            "posterior": posterior(tmp_path),
            "data": artifact("data", "dataframe", tmp_path / "x.csv"),
        },
        attempt_dir="direct",
    )
    direct = pd.read_csv(run_propagate(direct_ctx)["bands"])
    assert list(bands["x"]) == list(XS) and list(bands["output"]) == ["y"] * 3
    for col in ("mean", "sd", "q05", "q50", "q95"):
        np.testing.assert_allclose(bands[col], direct[col], rtol=1e-9, atol=1e-12)
    if method == "monte_carlo":
        np.testing.assert_allclose(
            bands["mean"], linear(samples[["a", "b"]].to_numpy(), XS).mean(axis=0)
        )


def test_sobol_from_evaluations_equal_the_callable_path(tmp_path: Path) -> None:
    priors = [{"name": n, "dist": "uniform", "low": 0.0, "high": 1.0} for n in ("a", "b")]
    out = run_sensitivity_samples(
        make_ctx(tmp_path, "sensitivity_samples", {"priors": priors, "n_base": 64, "seed": 3})
    )
    samples = pd.read_csv(out["samples"])
    assert len(samples) == 64 * 4
    wide = pd.DataFrame({"sample": samples["sample"], "y": samples["a"] + 3 * samples["b"] ** 2})
    wide.to_csv(tmp_path / "evaluations", index=False)
    inputs = {
        "plan": json_artifact(tmp_path, "plan", out["plan"]),
        "evaluations": artifact("evaluations", "dataframe", tmp_path / "evaluations"),
    }
    got = run_sensitivity(make_ctx(tmp_path, "sensitivity", {}, inputs, attempt_dir="a"))
    (tmp_path / "quad.py").write_text(
        "def f(theta, x):\n    return theta[..., 0:1] + 3 * theta[..., 1:2] ** 2\n"
    )
    direct = {"callable": "quad:f", "priors": priors, "n_base": 64, "seed": 3}
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        same = run_sensitivity(make_ctx(tmp_path, "sensitivity", direct, attempt_dir="b"))
    finally:
        sys.path.remove(str(tmp_path))
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_allclose(got["indices"][key], same["indices"][key], rtol=1e-9)


def _table(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / ".twinflow" / "runs" / "r1" / "sim" / "outputs" / "evaluations"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda f: f.drop(columns="sample"), "has no column 'sample'"),
        (lambda f: f[f["sample"] != 3], "no output for sample(s) 3 (1 of 20 missing)"),
        (lambda f: f[~((f["sample"] == 4) & (f["x"] == 2.0))], "different numbers of rows"),
        (lambda f: f.assign(sample=f["sample"] + 0.5), "non-integer in row 0"),
        (lambda f: f.assign(sample=f["sample"] + 1), "sample id(s) 20 are not in the plan"),
        (lambda f: f.assign(y=f["y"].where(f["sample"] != 5, np.nan)), "NaN or infinity"),
        (lambda f: f.assign(a=f["a"] + 1.0), "parameter column 'a' is"),
        (lambda f: f.assign(x=f["x"] + (f["sample"] == 2)), "column 'x' differs"),
        (lambda f: f.assign(y="high"), "has no numeric output column"),
        (lambda f: f.iloc[0:0], "has no rows"),
    ],
)
def test_a_wrong_outputs_table_names_the_node_port_and_file(tmp_path: Path, change, fragment):
    out = draw(tmp_path, n_draws=20)
    samples = pd.read_csv(out["samples"])
    good = simulate(samples).merge(samples, on="sample")
    path = _table(tmp_path, change(good))
    with pytest.raises(TwinStatError) as info:
        summarize(tmp_path, out["plan"], path)
    message = str(info.value)
    assert message.startswith("node 'bands', field 'evaluations': output 'evaluations' of node ")
    assert "'sim' (.twinflow/runs/r1/sim/outputs/evaluations)" in message
    assert fragment in message, message


def test_outputs_in_a_folder_of_chunks_are_read_together(tmp_path: Path) -> None:
    out = draw(tmp_path, n_draws=30, seed=2)
    samples = pd.read_csv(out["samples"])
    table = simulate(samples)
    path = _table(tmp_path, table).with_name("chunks")
    path.mkdir()
    table.iloc[:40].to_csv(path / "part-0.csv", index=False)
    table.iloc[40:].to_parquet(path / "part-1")
    bands = pd.read_csv(summarize(tmp_path, out["plan"], path)["bands"])
    expected = linear(samples[["a", "b"]].to_numpy(), XS)
    np.testing.assert_allclose(bands["mean"], expected.mean(axis=0), rtol=1e-12)
    (path / "part-2").write_bytes(b"PAR1 not really")
    with pytest.raises(TwinStatError) as info:
        summarize(tmp_path, out["plan"], path)
    assert "cannot read output 'chunks' of node 'sim' (" in str(info.value)
    assert "outputs/chunks)/part-2 as CSV or Parquet" in str(info.value)


def test_a_plan_of_the_wrong_kind_or_half_a_wiring_is_named(tmp_path: Path) -> None:
    out = draw(tmp_path, n_draws=5)
    path = _table(tmp_path, simulate(pd.read_csv(out["samples"])))
    with pytest.raises(TwinStatError, match="field 'plan'.*not a sampling plan"):
        summarize(tmp_path, {"names": ["a"]}, path)
    plan = {**out["plan"], "analysis": "sensitivity"}
    with pytest.raises(TwinStatError, match="plan for 'sensitivity', not 'propagate'"):
        summarize(tmp_path, plan, path)
    ctx = make_ctx(tmp_path, "propagate", {}, {"plan": json_artifact(tmp_path, "plan", plan)})
    with pytest.raises(TwinStatError, match="field 'evaluations': connect 'evaluations' too"):
        run_propagate(ctx)
    with pytest.raises(TwinStatError, match="field 'callable'.*not both"):
        summarize(tmp_path, out["plan"], path, callable="twinflow_studio.twinstat.models:linear")


def _uq_project(**wiring: bool) -> Project:
    project = Project("wiring")
    project.add_node(
        Node("post", "python", params={"callable": "m:f"}, outputs=[Port("p", "posterior")])
    )
    project.add_node(Node("draws", "propagate_samples"))
    project.add_node(
        Node(
            "sim",
            "container",
            params={"image": "img", "command": ["run"]},
            inputs=[Port("samples", "dataframe")],
            outputs=[Port("evaluations", "dataframe")],
        )
    )
    project.add_node(Node("bands", "propagate", params=wiring.pop("params", {})))
    project.connect("post", "p", "draws", "posterior")
    project.connect("draws", "samples", "sim", "samples")
    if wiring.get("plan"):
        project.connect("draws", "plan", "bands", "plan")
    if wiring.get("evaluations"):
        project.connect("sim", "evaluations", "bands", "evaluations")
    if wiring.get("posterior"):
        project.connect("post", "p", "bands", "posterior")
    return project


@pytest.mark.parametrize(
    ("wiring", "expected"),
    [
        ({"plan": True, "evaluations": True}, []),
        ({"plan": True}, [("nodes.bands.inputs.evaluations", "missing_input")]),
        ({"evaluations": True}, [("nodes.bands.inputs.plan", "missing_input")]),
        (
            {"plan": True, "evaluations": True, "params": {"callable": "m:f"}},
            [("nodes.bands.params.callable", "bad_param")],
        ),
        (
            {"plan": True, "evaluations": True, "posterior": True},
            [("nodes.bands.inputs.posterior", "bad_wiring")],
        ),
        (
            {},
            [
                ("nodes.bands.params.callable", "missing_param"),
                ("nodes.bands.inputs.posterior", "missing_input"),
            ],
        ),
        ({"posterior": True, "params": {"callable": "m:f"}}, []),
        (
            {"plan": True, "evaluations": True, "params": {"n_draws": 100, "quantiles": [0.1]}},
            [("nodes.bands.params.n_draws", "ignored_param")],
        ),
    ],
)
def test_validation_names_a_half_or_double_wiring(wiring, expected) -> None:
    problems = [(p.path, p.code) for p in validate(_uq_project(**wiring)) if p.node_id == "bands"]
    assert problems == expected
