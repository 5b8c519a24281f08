"""Known answers of the filters behind the ``state_estimation`` node."""

import numpy as np
import pandas as pd
import pytest
from twinstat_helpers import artifact, make_ctx, output_artifact

from twinflow_studio.twinstat import nodes
from twinflow_studio.twinstat.data import read_frame
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.filters import FilterSetup, run_filter
from twinflow_studio.twinstat.models_dynamic import cooling_fx, first_state, oscillator_fx
from twinflow_studio.twinstat.nodes_estimation import run_state_estimation
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import parse_priors

F = [[1.0, 0.5], [0.0, 1.0]]
H = [[1.0, 0.0]]
Q = [[0.02, 0.01], [0.01, 0.03]]
R_SD = 0.7
M0 = np.array([1.0, -0.5])
P0_SD = np.array([2.0, 1.0])


def linear_data(path, n=25, seed=0):
    rng = np.random.default_rng(seed)
    x = M0 + P0_SD * rng.standard_normal(2)
    ys = []
    for _ in range(n):
        ys.append(x[0] + R_SD * rng.standard_normal())
        x = np.array(F) @ x + rng.multivariate_normal([0, 0], Q)
    frame = pd.DataFrame({"t": np.arange(n, dtype=float), "y": ys})
    frame.to_csv(path, index=False)
    return frame


def closed_form(y):
    """Filtered means and covariances by conditioning the joint Gaussian of all states and
    observations, one batch per prefix y[0..k] (no recursion)."""
    f, h, q = np.array(F), np.array(H), np.array(Q)
    n, t = 2, len(y)
    means = [M0]
    marg = [np.diag(P0_SD**2)]
    for _ in range(1, t):
        means.append(f @ means[-1])
        marg.append(f @ marg[-1] @ f.T + q)
    big = np.zeros((n * t, n * t))
    for i in range(t):
        for j in range(i, t):
            block = np.linalg.matrix_power(f, j - i) @ marg[i]  # Cov(x_j, x_i)
            big[j * n : (j + 1) * n, i * n : (i + 1) * n] = block
            big[i * n : (i + 1) * n, j * n : (j + 1) * n] = block.T
    hh = np.kron(np.eye(t), h)
    mu = np.concatenate(means)
    out_m, out_p = [], []
    for k in range(t):
        rows = slice(0, k + 1)
        s_yy = (hh @ big @ hh.T)[rows, rows] + R_SD**2 * np.eye(k + 1)
        s_xy = (big @ hh.T)[k * n : (k + 1) * n, rows]
        gain = s_xy @ np.linalg.inv(s_yy)
        resid = y[: k + 1] - (hh @ mu)[rows]
        out_m.append(mu[k * n : (k + 1) * n] + gain @ resid)
        out_p.append(big[k * n : (k + 1) * n, k * n : (k + 1) * n] - gain @ s_xy.T)
    return np.array(out_m), np.array(out_p)


def kf_params(**extra):
    return {
        "method": "kf",
        "time_column": "t",
        "y_columns": ["y"],
        "states": [
            {"name": "pos", "dist": "normal", "mean": M0[0], "sd": P0_SD[0]},
            {"name": "vel", "dist": "normal", "mean": M0[1], "sd": P0_SD[1]},
        ],
        "F": F,
        "H": H,
        "process_noise": Q,
        "measurement_noise": R_SD,
        **extra,
    }


def test_linear_kalman_filter_equals_batch_gaussian_conditioning(tmp_path):
    frame = linear_data(tmp_path / "lin.csv")
    ctx = make_ctx(
        tmp_path,
        "state_estimation",
        kf_params(estimates_format="csv"),
        {"data": artifact("data", "dataframe", tmp_path / "lin.csv")},
    )
    out = run_state_estimation(ctx)
    assert out["estimates"].suffix == ".csv"  # full float precision in text too
    est = read_frame(out["estimates"])
    means, covs = closed_form(frame["y"].to_numpy())
    np.testing.assert_allclose(est[["pos", "vel"]].to_numpy(), means, rtol=0, atol=1e-8)
    np.testing.assert_allclose(est["pos_sd"] ** 2, covs[:, 0, 0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(est["vel_sd"] ** 2, covs[:, 1, 1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(est["cov_pos_vel"], covs[:, 0, 1], rtol=0, atol=1e-8)
    post = Posterior.load(out["posterior"])
    assert post.names == ["pos", "vel"]
    np.testing.assert_allclose(post.extras["mean"], means[-1], atol=1e-8)
    np.testing.assert_allclose(post.extras["cov"], covs[-1], atol=1e-8)
    # The draws follow the final Gaussian.
    assert abs(post.mean()[0] - means[-1][0]) < 4 * np.sqrt(covs[-1][0, 0] / 2000)


def test_linear_kalman_filter_resumes_exactly_where_it_stopped(tmp_path):
    frame = linear_data(tmp_path / "all.csv", n=30, seed=4)
    frame.iloc[:18].to_csv(tmp_path / "first.csv", index=False)
    one = run_state_estimation(
        make_ctx(
            tmp_path,
            "state_estimation",
            kf_params(),
            {"data": artifact("data", "dataframe", tmp_path / "first.csv")},
            attempt_dir="a",
        )
    )
    previous = {
        "posterior": artifact("posterior", "posterior", one["posterior"]),
        "estimates": artifact("estimates", "dataframe", one["estimates"]),
    }
    ctx = make_ctx(
        tmp_path,
        "state_estimation",
        kf_params(),
        {"data": artifact("data", "dataframe", tmp_path / "all.csv")},
        previous=previous,
        attempt_dir="b",
    )
    two = run_state_estimation(ctx)
    assert two["summary"]["rows_processed"] == 12 and two["summary"]["rows_skipped"] == 18
    assert any("continuing from the filter state at t=17" in line for line in ctx.logs)
    est = read_frame(two["estimates"])
    assert len(est) == 30
    means, _ = closed_form(frame["y"].to_numpy())
    np.testing.assert_allclose(est[["pos", "vel"]].to_numpy(), means, atol=1e-8)
    # Nothing new (say only n_draws changed): the state and history are handed on as they are.
    idle = run_state_estimation(
        make_ctx(
            tmp_path,
            "state_estimation",
            kf_params(n_draws=50),
            {"data": artifact("data", "dataframe", tmp_path / "all.csv")},
            previous={
                "posterior": artifact("posterior", "posterior", two["posterior"]),
                "estimates": artifact("estimates", "dataframe", two["estimates"]),
            },
            attempt_dir="idle",
        )
    )
    assert idle["summary"]["rows_processed"] == 0 and idle["summary"]["rows_total"] == 30
    assert len(read_frame(idle["estimates"])) == 30
    resting = Posterior.load(idle["posterior"])
    assert resting.samples.shape == (50, 2)
    np.testing.assert_array_equal(
        resting.extras["cov"], Posterior.load(two["posterior"]).extras["cov"]
    )
    # Changed settings start over rather than mixing two filters.
    again = make_ctx(
        tmp_path,
        "state_estimation",
        kf_params(measurement_noise=1.0),
        {"data": artifact("data", "dataframe", tmp_path / "all.csv")},
        previous={"posterior": artifact("posterior", "posterior", two["posterior"])},
        attempt_dir="c",
    )
    assert run_state_estimation(again)["summary"]["rows_processed"] == 30
    assert any("settings changed" in line for line in again.logs)


def cooling_series(seed, k=0.35, n=40, sd=0.5):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.25
    temp0 = 85.0 + 3.0 * rng.standard_normal()
    return t, 20.0 + (temp0 - 20.0) * np.exp(-k * t) + rng.normal(0, sd, n)


COOLING_INIT = [
    {"name": "T", "dist": "normal", "mean": 85.0, "sd": 5.0},
    {"name": "k", "dist": "lognormal", "mu": float(np.log(0.3)), "sigma": 0.5},
]


@pytest.mark.parametrize("method", ["ukf", "pf"])
def test_nonlinear_filters_cover_the_true_parameter_in_their_90_percent_band(method):
    init = parse_priors(COOLING_INIT)
    hits = 0
    repeats = 40  # ≥ 20 asked; 40 keeps the binomial noise of the coverage small
    for seed in range(repeats):
        t, y = cooling_series(seed)
        setup = FilterSetup(
            method,
            ["T"],
            ["k"],
            ["temp"],
            init,
            q=np.diag([1e-4, 0.0]),
            r=np.array([[0.25]]),
            fx=cooling_fx,
            hx=first_state,
            n_particles=1000,
            seed=seed,
        )
        res = run_filter(setup, t, y[:, None], None)
        hits += res.q05[-1, 1] <= 0.35 <= res.q95[-1, 1]
    assert hits >= 0.85 * repeats, hits


def test_ukf_recovers_a_damping_coefficient():
    rng = np.random.default_rng(7)
    t = np.arange(80) * 0.1
    x = np.array([1.0, 0.0])
    ys = []
    for i in range(len(t)):
        if i:
            x = oscillator_fx(x, 0.1, np.array([0.4, 4.0]))
        ys.append(x[0] + rng.normal(0, 0.02))
    init = parse_priors(
        [
            {"name": "p", "dist": "normal", "mean": 1.0, "sd": 0.1},
            {"name": "v", "dist": "normal", "mean": 0.0, "sd": 0.1},
            {"name": "c", "dist": "uniform", "low": 0.0, "high": 1.0},
        ]
    )

    def fx(x, dt, theta):
        return oscillator_fx(x, dt, np.array([theta[0], 4.0]))

    setup = FilterSetup(
        "ukf",
        ["p", "v"],
        ["c"],
        ["y"],
        init,
        np.diag([1e-6, 1e-6, 0.0]),
        np.array([[4e-4]]),
        fx=fx,
        hx=first_state,
    )
    res = run_filter(setup, t, np.array(ys)[:, None], None)
    assert res.q05[-1, 2] <= 0.4 <= res.q95[-1, 2]
    assert res.q95[-1, 2] - res.q05[-1, 2] < 0.2


def test_state_estimation_node_pf_posterior_feeds_a_simulation(tmp_path):
    t, y = cooling_series(3)
    pd.DataFrame({"t": t, "temp": y}).to_csv(tmp_path / "s.csv", index=False)
    params = {
        "method": "pf",
        "time_column": "t",
        "y_columns": ["temp"],
        "states": COOLING_INIT[:1],
        "parameters": COOLING_INIT[1:],
        "transition": "twinflow_studio.twinstat.models_dynamic:cooling_fx",
        "process_noise": {"T": 0.01},
        "measurement_noise": {"temp": 0.5},
        "n_particles": 500,
        "seed": 1,
    }
    data = artifact("data", "dataframe", tmp_path / "s.csv")
    out = run_state_estimation(make_ctx(tmp_path, "state_estimation", params, {"data": data}))
    post = Posterior.load(out["posterior"])
    assert post.names == ["k"] and post.samples.shape == (500, 1)
    assert post.extras["particles"].shape == (500, 2)
    s = out["summary"]["parameters"]["k"]
    assert s["q05"] < 0.35 < s["q95"]
    assert out["summary"]["diagnostics"]["vectorized"] is True
    sim = make_ctx(
        tmp_path,
        "simulation",
        {
            "callable": "twinflow_studio.twinstat.models:linear",
            "x_columns": ["t"],
            "parameters": {"b": 1.0},
            "parameter_names": ["k", "b"],
        },
        {
            "data": data,
            "posterior": output_artifact("posterior", "posterior", out["posterior"], tmp_path),
        },
        attempt_dir="sim",
    )
    frame = pd.read_csv(nodes.run_simulation(sim)["predictions"])
    np.testing.assert_allclose(frame["simulated"], post.mean()[0] + t, rtol=1e-9)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"method": "ekf"}, "field 'method'"),
        ({"F": [[1.0]]}, "field 'F'.*2x2"),
        ({"measurement_noise": -1}, "field 'measurement_noise'"),
        ({"process_noise": {"speed": 1.0}}, r"field 'process_noise'.*\['speed'\]"),
        ({"y_columns": ["nope"]}, r"field 'y_columns'.*\['nope'\] not in the data"),
        ({"states": [{"name": "pos", "dist": "beta"}]}, "field 'states.pos'"),
    ],
)
def test_bad_state_estimation_input_names_node_and_field(tmp_path, extra, fragment):
    linear_data(tmp_path / "lin.csv")
    ctx = make_ctx(
        tmp_path,
        "state_estimation",
        kf_params(**extra),
        {"data": artifact("data", "dataframe", tmp_path / "lin.csv")},
        node_id="filter",
    )
    with pytest.raises(TwinStatError, match="node 'filter'") as info:
        run_state_estimation(ctx)
    assert __import__("re").search(fragment, str(info.value)), str(info.value)


def pf_params(**extra):
    return {
        "method": "pf",
        "time_column": "t",
        "y_columns": ["temp"],
        "states": COOLING_INIT[:1],
        "parameters": COOLING_INIT[1:],
        "transition": "twinflow_studio.twinstat.models_dynamic:cooling_fx",
        "process_noise": {"T": 0.01},
        "measurement_noise": 0.5,
        "n_particles": 500,
        **extra,
    }


def test_particle_filter_resumes_from_its_particles(tmp_path):
    t, y = cooling_series(5, n=60)
    pd.DataFrame({"t": t[:30], "temp": y[:30]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"t": t, "temp": y}).to_csv(tmp_path / "b.csv", index=False)
    first = run_state_estimation(
        make_ctx(
            tmp_path,
            "state_estimation",
            pf_params(),
            {"data": artifact("data", "dataframe", tmp_path / "a.csv")},
            attempt_dir="a",
        )
    )
    carried = Posterior.load(first["posterior"]).extras["particles"]
    ctx = make_ctx(
        tmp_path,
        "state_estimation",
        pf_params(),
        {"data": artifact("data", "dataframe", tmp_path / "b.csv")},
        previous={
            "posterior": artifact("posterior", "posterior", first["posterior"]),
            "estimates": artifact("estimates", "dataframe", first["estimates"]),
        },
        attempt_dir="b",
    )
    second = run_state_estimation(ctx)
    s = second["summary"]
    assert s["rows_processed"] == 30 and s["rows_total"] == 60 and s["continued_from"] == t[29]
    est = read_frame(second["estimates"])
    assert len(est) == 60
    # The resumed run started from the carried cloud, not from the prior: its first
    # estimate of k is as tight as the first run's last one.
    assert est["k_sd"].iloc[30] < 2 * est["k_sd"].iloc[29] < 0.5 * est["k_sd"].iloc[0]
    assert np.std(carried[:, 1]) < 0.05
    k = s["parameters"]["k"]
    assert abs(k["mean"] - 0.35) < 4 * k["sd"]  # one seed: the 90 % band may just miss


def test_filter_posterior_is_a_calibration_prior_and_a_drift_check_input(tmp_path):
    t, y = cooling_series(2, n=30)
    pd.DataFrame({"t": t, "temp": y}).to_csv(tmp_path / "s.csv", index=False)
    data = artifact("data", "dataframe", tmp_path / "s.csv")
    out = run_state_estimation(
        make_ctx(tmp_path, "state_estimation", pf_params(method="ukf"), {"data": data})
    )
    post = artifact("posterior", "posterior", out["posterior"])
    t2 = np.arange(30) * 0.25  # starting at 85 degrees, as cooling_k assumes
    y2 = 20.0 + 65.0 * np.exp(-0.35 * t2) + np.random.default_rng(3).normal(0, 0.5, 30)
    pd.DataFrame({"t": t2, "temp": y2}).to_csv(tmp_path / "later.csv", index=False)
    later = artifact("data", "dataframe", tmp_path / "later.csv")
    calib = nodes.run_calibration(
        make_ctx(
            tmp_path,
            "calibration",
            {
                "model": "twinstat_helpers:cooling_k",
                "priors": [{"name": "k", "dist": "lognormal", "mu": -1.2, "sigma": 0.5}],
                "x_columns": ["t"],
                "y_column": "temp",
                "noise": {"sigma": 0.5},
                "n_steps": 300,
                "figures": False,
            },
            {"data": later, "prior": post},
            attempt_dir="calib",
        )
    )
    assert calib["summary"]["prior_source"]["source"] == "prior"
    # New evidence on top of the filter's: tighter, still around the truth.
    k, before = calib["summary"]["parameters"]["k"], out["summary"]["parameters"]["k"]
    assert k["sd"] < before["sd"]
    assert abs(k["mean"] - 0.35) < 4 * k["sd"]
    report = nodes.run_drift_check(
        make_ctx(
            tmp_path,
            "drift_check",
            {
                "callable": "twinflow_studio.twinstat.models:newton_cooling",
                "x_columns": ["t"],
                "parameters": {"t_env": 20.0, "t0": 85.0},
                "parameter_names": ["k", "t_env", "t0"],
                "y_column": "temp",
                "threshold": 5.0,
            },
            {"data": data, "posterior": post},
            attempt_dir="drift",
        )
    )["report"]
    assert report["drifted"] is False


def test_a_damaged_filter_state_is_not_resumed(tmp_path):
    linear_data(tmp_path / "lin.csv")
    data = {"data": artifact("data", "dataframe", tmp_path / "lin.csv")}
    first = run_state_estimation(make_ctx(tmp_path, "state_estimation", kf_params(), data))
    post = Posterior.load(first["posterior"])
    post.extras["cov"] = np.zeros((3, 3))  # not this filter's shape
    bad = post.save(tmp_path / "bad.npz")
    ctx = make_ctx(
        tmp_path,
        "state_estimation",
        kf_params(),
        data,
        previous={"posterior": artifact("posterior", "posterior", bad)},
        attempt_dir="again",
    )
    assert run_state_estimation(ctx)["summary"]["rows_processed"] == 25
    assert any("does not fit this filter: starting over" in line for line in ctx.logs)
