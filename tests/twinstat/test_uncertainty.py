"""Known answers of the propagate and sensitivity nodes."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from twinstat_helpers import artifact, make_ctx

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.nodes_uncertainty import run_propagate, run_sensitivity
from twinflow_studio.twinstat.posterior import Posterior

LINEAR = "twinflow_studio.twinstat.models:linear"
ISHIGAMI = "twinflow_studio.twinstat.models:ishigami"
MEAN = np.array([1.0, 2.0])
COV = np.array([[0.04, -0.01], [-0.01, 0.09]])


def linear_posterior(tmp_path, n=20000):
    samples = np.random.default_rng(0).multivariate_normal(MEAN, COV, n)
    post = Posterior(["a", "b"], samples, np.zeros(n), samples[:, None, :])
    return artifact("posterior", "posterior", post.save(tmp_path / "post.npz"))


def x_data(tmp_path):
    pd.DataFrame({"x": np.linspace(-2, 3, 11)}).to_csv(tmp_path / "x.csv", index=False)
    return artifact("data", "dataframe", tmp_path / "x.csv")


def analytic_band(x, q):
    mean = MEAN[0] + MEAN[1] * x
    sd = np.sqrt(COV[0, 0] + 2 * x * COV[0, 1] + x * x * COV[1, 1])
    return mean + stats.norm.ppf(q) * sd, sd


@pytest.mark.parametrize("method", ["monte_carlo", "pce"])
def test_propagation_of_a_linear_model_matches_the_analytic_predictive_band(tmp_path, method):
    params = {"callable": LINEAR, "x_columns": ["x"], "method": method, "n_draws": 4000}
    ctx = make_ctx(
        tmp_path,
        "propagate",
        params,
        {"posterior": linear_posterior(tmp_path), "data": x_data(tmp_path)},
    )
    out = run_propagate(ctx)
    bands = pd.read_csv(out["bands"])
    x = bands["x"].to_numpy()
    for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        expected, sd = analytic_band(x, q)
        # Monte Carlo error of a 5 % quantile from 4000 draws is about 0.03 sd.
        assert np.max(np.abs(bands[col] - expected) / sd) < 0.12, (col, bands[col], expected)
    _, sd = analytic_band(x, 0.5)
    np.testing.assert_allclose(bands["sd"], sd, rtol=0.05)
    if method == "pce":
        err = out["summary"]["error_vs_monte_carlo"]
        # A linear model is exact at order 1: only the 200-draw check's own noise is left.
        assert err["max_quantile_error_in_sd"] < 0.4
        assert out["summary"]["model_evaluations"] == 2 * 10 + 200  # 10 terms at order 3
    else:
        assert out["summary"]["model_evaluations"] == 4000


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values(tmp_path):
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    s1 = np.array([v1, v2, 0.0]) / var
    st = np.array([v1 + v13, v2, v13]) / var
    priors = [
        {"name": f"x{i}", "dist": "uniform", "low": -math.pi, "high": math.pi} for i in (1, 2, 3)
    ]
    ctx = make_ctx(
        tmp_path,
        "sensitivity",
        {"callable": ISHIGAMI, "priors": priors, "n_base": 4096, "select_top_k": 2, "seed": 1},
    )
    out = run_sensitivity(ctx)
    ind = out["indices"]
    for key, truth in (("S1", s1), ("ST", st)):
        got, conf = np.array(ind[key]), np.array(ind[f"{key}_conf"])
        assert np.all(np.abs(got - truth) <= conf), (key, got, truth, conf)
        assert np.all(conf < 0.1)
    assert ind["ranking"] == ["x1", "x2", "x3"]
    assert ind["selected"] == ["x1", "x2"]
    assert [p["name"] for p in ind["selected_priors"]] == ["x1", "x2"]
    assert ind["evaluations"] == 4096 * 5
    assert out["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out["table"])
    assert list(table["name"]) == ["x1", "x2", "x3"]
    assert ctx.metrics["x1_ST"] == pytest.approx(ind["ST"][0])


@pytest.mark.parametrize(
    ("node", "extra", "fragment"),
    [
        ("sensitivity", {"n_base": 100}, "field 'n_base'.*power of 2"),
        ("sensitivity", {"aggregate": "max"}, "field 'aggregate'"),
        ("sensitivity", {"callable": "twinflow_studio.twinstat.models:nope"}, "field 'callable'"),
        ("propagate", {"method": "kriging"}, "field 'method'"),
        ("propagate", {"parameter_names": ["a", "c"]}, r"field 'parameter_names'.*\['c'\]"),
        ("propagate", {"quantiles": [0.5, 1.5]}, "field 'quantiles'"),
    ],
)
def test_bad_uncertainty_input_names_node_and_field(tmp_path, node, extra, fragment):
    if node == "sensitivity":
        params = {
            "callable": ISHIGAMI,
            "priors": [{"name": "x1", "dist": "uniform", "low": 0, "high": 1}] * 1,
            **extra,
        }
        inputs = {}
        run = run_sensitivity
    else:
        params = {"callable": LINEAR, "x_columns": ["x"], **extra}
        inputs = {"posterior": linear_posterior(tmp_path, 200), "data": x_data(tmp_path)}
        run = run_propagate
    ctx = make_ctx(tmp_path, node, params, inputs, node_id="uq")
    with pytest.raises(TwinStatError, match="node 'uq'") as info:
        run(ctx)
    assert __import__("re").search(fragment, str(info.value)), str(info.value)
