"""The TwinStat executors, driven through TaskContexts as the engine hands them over."""

import json

import numpy as np
import pandas as pd
import pytest
from twinstat_helpers import (
    COOLING_TRUTH,
    artifact,
    json_artifact,
    make_ctx,
    output_artifact,
)

from twinflow_studio.project.kinds import get_kind
from twinflow_studio.twinstat import nodes
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.models import newton_cooling
from twinflow_studio.twinstat.posterior import Posterior

COOLING = "twinflow_studio.twinstat.models:newton_cooling"
PRIORS = [
    {"name": "k", "dist": "lognormal", "mu": float(np.log(0.3)), "sigma": 0.5},
    {"name": "t_env", "dist": "uniform", "low": 0.0, "high": 40.0},
    {"name": "t0", "dist": "truncnormal", "mean": 85.0, "sd": 10.0, "low": 50.0, "high": 120.0},
]


def cooling_csv(path, truth=COOLING_TRUTH, seed=0, n=30, sigma=1.0):
    t = np.linspace(0, 12, n)
    theta = np.array([truth["k"], truth["t_env"], truth["t0"]])
    y = newton_cooling(theta, t) + np.random.default_rng(seed).normal(0, sigma, n)
    pd.DataFrame({"t": t, "temp": y}).to_csv(path, index=False)
    return path


def table_csv(path, seed=0, n=200):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0, 1, n), rng.uniform(-1, 1, n)
    y = 3 * x1 - 2 * x2 + 0.5 + rng.normal(0, 0.05, n)
    pd.DataFrame({"x1": x1, "x2": x2, "y": y}).to_csv(path, index=False)
    return path


def test_all_kinds_are_registered_with_importable_executors():
    import importlib

    for name in [
        "sklearn_train",
        "sklearn_predict",
        "simulation",
        "simulation_batch",
        "hybrid",
        "lhs_design",
        "surrogate",
        "calibration",
        "drift_check",
        "state_estimation",
        "propagate",
        "sensitivity",
    ]:
        kind = get_kind(name)
        assert kind is not None, name
        module, _, attr = kind.executor.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_train_and_predict_roundtrip(tmp_path):
    data = artifact("data", "dataframe", table_csv(tmp_path / "train.csv"))
    ctx = make_ctx(
        tmp_path,
        "sklearn_train",
        {
            "estimator": "sklearn.linear_model:Ridge",
            "estimator_params": {"alpha": 0.01},
            "features": ["x1", "x2"],
            "target": "y",
        },
        {"data": data},
    )
    out = nodes.run_sklearn_train(ctx)
    assert out["metrics"]["validation_r2"] > 0.98
    assert out["metrics"]["validation_rmse"] < 0.1
    assert ctx.metrics["train_r2"] > 0.98
    model = output_artifact("model", "model", out["model"], tmp_path)
    new = artifact("data", "dataframe", table_csv(tmp_path / "new.csv", seed=5, n=20))
    pctx = make_ctx(
        tmp_path,
        "sklearn_predict",
        {"column": "y_hat"},
        {"model": model, "data": new},
        attempt_dir="pred",
    )
    frame = pd.read_csv(nodes.run_sklearn_predict(pctx)["predictions"])
    assert np.sqrt(np.mean((frame["y_hat"] - frame["y"]) ** 2)) < 0.1


def test_tampered_model_is_refused(tmp_path):
    data = artifact("data", "dataframe", table_csv(tmp_path / "train.csv"))
    ctx = make_ctx(
        tmp_path,
        "sklearn_train",
        {"estimator": "sklearn.tree.DecisionTreeRegressor", "features": ["x1"], "target": "y"},
        {"data": data},
    )
    path = nodes.run_sklearn_train(ctx)["model"]
    model = artifact("model", "model", path)
    path.write_bytes(path.read_bytes() + b"\0")
    pctx = make_ctx(
        tmp_path,
        "sklearn_predict",
        {},
        {"model": model, "data": data},
        node_id="predict",
        attempt_dir="p",
    )
    with pytest.raises(TwinStatError, match=r"node 'predict', field 'model': .*changed"):
        nodes.run_sklearn_predict(pctx)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"estimator": "sklearn.linear_model:NoSuchModel"}, "'estimator'.*attribute 'NoSuchModel'"),
        ({"estimator": "os:system"}, "field 'estimator'.*not a scikit-learn estimator"),
        ({"estimator": "collections:OrderedDict"}, "not a scikit-learn estimator"),
        ({"estimator": "nosuchpkg.mod:X"}, "cannot import module 'nosuchpkg.mod'"),
        ({"estimator_params": {"alpah": 1}}, "field 'estimator_params'.*'alpah'"),
        ({"features": ["x1", "x9"]}, r"field 'features'.*\['x9'\] not in the data"),
        ({"target": "why"}, r"field 'target'.*\['why'\] not in the data"),
    ],
)
def test_bad_training_input_names_node_and_field(tmp_path, params, fragment):
    data = artifact("data", "dataframe", table_csv(tmp_path / "train.csv"))
    base = {"estimator": "sklearn.linear_model:Ridge", "features": ["x1", "x2"], "target": "y"}
    ctx = make_ctx(tmp_path, "sklearn_train", {**base, **params}, {"data": data}, node_id="trainer")
    with pytest.raises(TwinStatError, match="node 'trainer'") as info:
        nodes.run_sklearn_train(ctx)
    assert __import__("re").search(fragment, str(info.value)), str(info.value)
    assert (tmp_path / "train.csv").exists()  # input untouched


def test_simulation_and_hybrid_correct_a_biased_simulation(tmp_path):
    path = tmp_path / "d.csv"
    t = np.linspace(0, 12, 300)
    theta = np.array([0.35, 20.0, 90.0])
    # The "real" system has an extra slow sinusoidal heating the simulation does not know.
    y = newton_cooling(theta, t) + 2.0 * np.sin(t / 2)
    pd.DataFrame({"t": t, "temp": y}).to_csv(path, index=False)
    data = artifact("data", "dataframe", path)
    params = {"k": 0.35, "t_env": 20.0, "t0": 90.0}
    order = ["k", "t_env", "t0"]
    bad = make_ctx(
        tmp_path,
        "simulation",
        {"callable": COOLING, "x_columns": ["t"], "parameters": params},
        {"data": data},
        node_id="sim",
    )
    with pytest.raises(TwinStatError, match="node 'sim', field 'parameter_names'"):
        nodes.run_simulation(bad)
    sim = make_ctx(
        tmp_path,
        "simulation",
        {"callable": COOLING, "x_columns": ["t"], "parameters": params, "parameter_names": order},
        {"data": data},
    )
    frame = pd.read_csv(nodes.run_simulation(sim)["predictions"])
    np.testing.assert_allclose(frame["simulated"], newton_cooling(theta, t))
    hyb = make_ctx(
        tmp_path,
        "hybrid",
        {
            "callable": COOLING,
            "x_columns": ["t"],
            "parameters": params,
            "target": "temp",
            "parameter_names": order,
            "estimator": "sklearn.ensemble:RandomForestRegressor",
            "estimator_params": {"n_estimators": 50},
        },
        {"data": data},
        attempt_dir="h",
    )
    out = nodes.run_hybrid(hyb)
    m = out["metrics"]
    assert m["hybrid_rmse"] < 0.3 * m["simulation_rmse"]
    model = output_artifact("model", "model", out["model"], tmp_path)
    pred = make_ctx(
        tmp_path, "sklearn_predict", {}, {"model": model, "data": data}, attempt_dir="hp"
    )
    frame = pd.read_csv(nodes.run_sklearn_predict(pred)["predictions"])
    assert np.sqrt(np.mean((frame["prediction"] - y) ** 2)) < 0.3 * m["simulation_rmse"]


def calibration_params(**extra):
    return {
        "model": COOLING,
        "priors": PRIORS,
        "x_columns": ["t"],
        "y_column": "temp",
        "noise": {"sigma": 1.0},
        "n_steps": 1200,
        "start": "map",
        "seed": 1,
        **extra,
    }


def test_calibration_node_outputs_posterior_summary_and_figures(tmp_path):
    data = artifact("data", "dataframe", cooling_csv(tmp_path / "sensor.csv"))
    ctx = make_ctx(tmp_path, "calibration", calibration_params(), {"data": data})
    out = nodes.run_calibration(ctx)
    post = Posterior.load(out["posterior"])
    assert post.names == ["k", "t_env", "t0"]
    s = out["summary"]["parameters"]
    for name, value in COOLING_TRUTH.items():
        assert s[name]["q05"] - 3 * s[name]["sd"] < value < s[name]["q95"] + 3 * s[name]["sd"]
        assert set(s[name]) == {"mean", "sd", "q05", "q50", "q95"}
    json.dumps(out["summary"])
    for png in ("trace.png", "pair.png", "predictive.png"):
        assert (out["figures"] / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ctx.metrics["k_mean"] == pytest.approx(s["k"]["mean"])
    assert "autocorr_time_max" in ctx.metrics and "ess_min" in ctx.metrics
    assert any("sampling: step" in line for line in ctx.logs)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"priors": [{"name": "k", "dist": "beta"}]}, "field 'priors.k'.*unknown distribution"),
        ({"y_column": "temperature"}, r"field 'y_column'.*\['temperature'\] not in the data"),
        ({"x_columns": ["time"]}, "field 'x_columns'"),
        ({"noise": {"sigma": -1}}, "field 'noise.sigma'"),
        ({"model": "twinflow_studio.twinstat.models:nothing"}, "field 'model'"),
        ({"model": ""}, "field 'model'.*callable or connect a surrogate"),
        ({"n_steps": "many"}, "field 'n_steps'"),
    ],
)
def test_bad_calibration_input_names_node_and_field(tmp_path, params, fragment):
    data = artifact("data", "dataframe", cooling_csv(tmp_path / "sensor.csv"))
    ctx = make_ctx(
        tmp_path, "calibration", calibration_params(**params), {"data": data}, node_id="calib"
    )
    with pytest.raises(TwinStatError, match="node 'calib'") as info:
        nodes.run_calibration(ctx)
    assert __import__("re").search(fragment, str(info.value)), str(info.value)


def test_the_predictive_band_evaluates_a_probed_vectorized_model_in_one_call(tmp_path):
    """With ``vectorize: auto`` a model that takes a batch is found to; the band's 200
    posterior draws then go to it in one call, not draw by draw."""
    import twinstat_helpers

    data = artifact("data", "dataframe", cooling_csv(tmp_path / "sensor.csv"))
    params = calibration_params(
        model="twinstat_helpers:recording_cooling", n_steps=100, start="prior", figures=False
    )
    twinstat_helpers.THETA_SHAPES.clear()
    out = nodes.run_calibration(make_ctx(tmp_path, "calibration", params, {"data": data}))
    assert out["summary"]["diagnostics"]["vectorized"] is True
    assert twinstat_helpers.THETA_SHAPES[-1] == (200, 3)
    assert all(len(shape) == 2 for shape in twinstat_helpers.THETA_SHAPES)
    assert len(out["summary"]["predictive"]["q50"]) == 30


def sequential_runs(tmp_path, params, ks):
    """One calibration run per k (data from a system cooling at that rate), each finding the
    previous run's posterior as its node's last output; yields (summary, ctx) per run."""
    previous = {}
    for step, k in enumerate(ks):
        csv = cooling_csv(tmp_path / f"batch{step}.csv", truth={**COOLING_TRUTH, "k": k}, seed=step)
        ctx = make_ctx(
            tmp_path,
            "calibration",
            params,
            {"data": artifact("data", "dataframe", csv)},
            previous=previous,
            attempt_dir=f"run{step}",
        )
        out = nodes.run_calibration(ctx)
        previous = {"posterior": artifact("posterior", "posterior", out["posterior"])}
        yield out["summary"], ctx


def test_sequential_updating_tracks_a_drifting_system(tmp_path):
    """Each run's posterior becomes the next run's prior; as the system's k drifts from 0.35
    to 0.55 the posterior mean follows it."""
    params = calibration_params(
        n_steps=1000, figures=False, sequential={"mode": "normal", "inflate": 1.5}
    )
    means = []
    ks = [0.35, 0.45, 0.55]
    for step, (s, _) in enumerate(sequential_runs(tmp_path, params, ks)):
        k = ks[step]
        means.append(s["parameters"]["k"]["mean"])
        expected_source = "priors" if step == 0 else "previous"
        assert s["prior_source"]["source"] == expected_source
        if step:
            # The carried-over prior holds it back, but it moves toward the new truth.
            assert abs(means[-1] - k) < abs(means[-2] - k), (step, means)
    assert abs(means[0] - 0.35) < 0.03
    assert means[0] < means[1] < means[2]
    assert means[2] > 0.45


def test_same_data_is_not_counted_twice(tmp_path):
    csv = cooling_csv(tmp_path / "sensor.csv")
    data = artifact("data", "dataframe", csv)
    params = calibration_params(n_steps=300, figures=False)
    first = nodes.run_calibration(make_ctx(tmp_path, "calibration", params, {"data": data}))
    prev = {"posterior": artifact("posterior", "posterior", first["posterior"])}
    again = make_ctx(
        tmp_path,
        "calibration",
        {**params, "seed": 2},
        {"data": data},
        previous=prev,
        attempt_dir="again",
    )
    out = nodes.run_calibration(again)
    assert out["summary"]["prior_source"]["reason"] == "same data as the previous posterior"


def test_a_previous_posterior_changed_on_disk_is_not_the_prior(tmp_path):
    """The node's last posterior is no cache hit the engine verified: the node checks it."""
    first_csv = cooling_csv(tmp_path / "first.csv")
    params = calibration_params(n_steps=300, figures=False)
    first = nodes.run_calibration(
        make_ctx(
            tmp_path, "calibration", params, {"data": artifact("data", "dataframe", first_csv)}
        )
    )
    prev = {"posterior": artifact("posterior", "posterior", first["posterior"])}
    first["posterior"].write_bytes(first["posterior"].read_bytes() + b"\0")
    second_csv = cooling_csv(tmp_path / "second.csv", seed=3)
    ctx = make_ctx(
        tmp_path,
        "calibration",
        params,
        {"data": artifact("data", "dataframe", second_csv)},
        previous=prev,
        attempt_dir="second",
    )
    out = nodes.run_calibration(ctx)
    assert out["summary"]["prior_source"] == {
        "source": "priors",
        "reason": "previous posterior changed on disk",
    }
    assert any("previous posterior changed on disk" in line for line in ctx.logs)


def test_surrogate_pipeline_matches_direct_calibration_with_far_fewer_simulator_calls(tmp_path):
    data = artifact("data", "dataframe", cooling_csv(tmp_path / "sensor.csv", n=20))
    design = nodes.run_lhs_design(
        make_ctx(
            tmp_path,
            "lhs_design",
            {"priors": PRIORS, "n_points": 80, "seed": 0},
            attempt_dir="design",
        )
    )["design"]
    assert len(design["sets"]) == 80 and design["names"] == ["k", "t_env", "t0"]
    design_art = json_artifact(tmp_path, "design", design)
    sim_ctx = make_ctx(
        tmp_path,
        "simulation_batch",
        {"callable": COOLING, "x_columns": ["t"]},
        {"design": design_art, "data": data},
        attempt_dir="sim",
    )
    preds = nodes.run_simulation_batch(sim_ctx)["predictions"]
    assert sim_ctx.metrics["simulator_calls"] == 80
    sur_ctx = make_ctx(
        tmp_path,
        "surrogate",
        {"seed": 0},
        {"design": design_art, "predictions": json_artifact(tmp_path, "predictions", preds)},
        attempt_dir="sur",
    )
    sur = nodes.run_surrogate(sur_ctx)
    # Held-out design points: error small against the spread of temperatures (~25 K).
    assert sur["metrics"]["validation_rmse"] < 1.0
    assert sur["metrics"]["validation_nrmse"] < 0.05
    surrogate = artifact("surrogate", "model", sur["surrogate"])
    params = calibration_params(model="", x_columns=[], figures=False, n_steps=1200)
    via_sur = nodes.run_calibration(
        make_ctx(
            tmp_path,
            "calibration",
            params,
            {"data": data, "surrogate": surrogate},
            attempt_dir="cs",
        )
    )
    direct_ctx = make_ctx(
        tmp_path, "calibration", calibration_params(figures=False), {"data": data}, attempt_dir="cd"
    )
    direct = nodes.run_calibration(direct_ctx)
    for name in ("k", "t_env", "t0"):
        a, b = via_sur["summary"]["parameters"][name], direct["summary"]["parameters"][name]
        assert abs(a["mean"] - b["mean"]) < 0.5 * b["sd"], name
        assert 0.6 < a["sd"] / b["sd"] < 1.6, name
    assert direct_ctx.metrics["model_evaluations"] > 10 * 80


def test_surrogate_rejects_mismatched_predictions(tmp_path):
    design = [{"k": 0.1, "t_env": 1.0}, {"k": 0.2, "t_env": 2.0}, {"k": 0.3, "t_env": 3.0}]
    ctx = make_ctx(
        tmp_path,
        "surrogate",
        {},
        {
            "design": json_artifact(tmp_path, "design", design),
            "predictions": json_artifact(tmp_path, "predictions", [[1.0], [2.0]]),
        },
        node_id="gp",
    )
    with pytest.raises(TwinStatError, match="node 'gp', field 'predictions'.*one row"):
        nodes.run_surrogate(ctx)


def test_drift_check_reports_crossing(tmp_path):
    data = artifact("data", "dataframe", cooling_csv(tmp_path / "sensor.csv"))
    ctx = make_ctx(
        tmp_path, "calibration", calibration_params(n_steps=300, figures=False), {"data": data}
    )
    post = artifact("posterior", "posterior", nodes.run_calibration(ctx)["posterior"])
    drifted = cooling_csv(tmp_path / "new.csv", truth={**COOLING_TRUTH, "t_env": 28.0}, seed=9)
    reports = []
    for csv in (tmp_path / "sensor.csv", drifted):
        dctx = make_ctx(
            tmp_path,
            "drift_check",
            {"callable": COOLING, "x_columns": ["t"], "y_column": "temp", "threshold": 2.0},
            {"data": artifact("data", "dataframe", csv), "posterior": post},
            attempt_dir="d",
        )
        reports.append(nodes.run_drift_check(dctx)["report"])
    assert reports[0]["drifted"] is False and reports[0]["value"] < 1.5
    assert reports[1]["drifted"] is True and reports[1]["value"] > 2.0


def test_default_sequential_update_is_joint_and_adapts_to_a_step(tmp_path):
    """The default carries the joint posterior (mvn in log/logit space, correlations kept);
    a step in k is noticed by the predictive check, the prior widened, and k follows."""
    params = calibration_params(n_steps=800, figures=False)
    runs = [
        (summary, ctx.metrics, ctx.logs)
        for summary, ctx in sequential_runs(tmp_path, params, [0.35, 0.35, 0.55])
    ]
    carried = runs[1][0]["prior"]
    assert [p["approximation"] for p in carried] == ["mvn", "mvn", "mvn"]
    assert [p["transform"] for p in carried] == ["log_low", "logit", "logit"]
    assert abs(carried[0]["correlation"][1]) > 0.2  # k and T_env move together
    assert runs[1][1]["system_changed"] is False
    source = runs[2][0]["prior_source"]
    adaptive = source["adaptive"]
    # A jump this large (0.35 -> 0.55) is past 16x widening: the update restarts from the base.
    assert adaptive["changed"] is True and adaptive.get("restart") is True, adaptive
    assert adaptive["check"]["p_value"] < 0.01
    assert any("adaptive recalibration" in line for line in runs[2][2])
    k = runs[2][0]["parameters"]["k"]
    assert k["q05"] <= 0.55 <= k["q95"], k
