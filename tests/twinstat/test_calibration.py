"""Calibration against answers known in closed form or by construction."""

import numpy as np
import pytest

from twinflow_studio.twinstat.calibration import (
    BatchModel,
    Noise,
    Sampler,
    calibrate,
    log_posterior,
    predictive,
)
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.models import linear, newton_cooling, newton_cooling_scalar
from twinflow_studio.twinstat.priors import parse_prior, parse_priors


def linear_data(seed=1, n=25, sigma=0.3):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2, n)
    return x, 1.5 + 2.0 * x + rng.normal(0, sigma, n)


def closed_form(x, y, sigma, prior_mean, prior_sd):
    design = np.column_stack([np.ones_like(x), x])
    prec0 = np.diag(1 / np.asarray(prior_sd) ** 2)
    cov = np.linalg.inv(prec0 + design.T @ design / sigma**2)
    mean = cov @ (prec0 @ np.asarray(prior_mean) + design.T @ y / sigma**2)
    return mean, np.sqrt(np.diag(cov))


@pytest.mark.parametrize("start", ["prior", "map"])
def test_linear_gaussian_matches_closed_form(start):
    x, y = linear_data()
    priors = parse_priors(
        [
            {"name": "a", "dist": "normal", "mean": 0.5, "sd": 2.0},
            {"name": "b", "dist": "normal", "mean": 0.0, "sd": 1.0},
        ]
    )
    post = calibrate(
        log_posterior(linear, x, y, priors, Noise(sigma=0.3)),
        Sampler(n_steps=3000, seed=4, start=start),
    )
    mean, sd = closed_form(x, y, 0.3, [0.5, 0.0], [2.0, 1.0])
    summary = post.summary()["parameters"]
    for i, name in enumerate(["a", "b"]):
        assert abs(summary[name]["mean"] - mean[i]) < 0.1 * sd[i] * 2.5, name
        assert abs(summary[name]["sd"] / sd[i] - 1) < 0.1, name
    d = post.diagnostics
    assert d["trustworthy"] and not d["too_short"]
    assert 0.2 < d["acceptance_fraction_mean"] < 0.9
    assert d["effective_sample_size_min"] > 1000
    assert d["vectorized"] is True


def test_known_truth_is_covered_by_90_percent_interval():
    truth = np.array([0.35, 20.0, 90.0])
    t = np.linspace(0, 12, 30)
    priors = parse_priors(
        [
            {"name": "k", "dist": "lognormal", "mu": np.log(0.3), "sigma": 0.5},
            {"name": "t_env", "dist": "uniform", "low": 0.0, "high": 40.0},
            {
                "name": "t0",
                "dist": "truncnormal",
                "mean": 85.0,
                "sd": 10.0,
                "low": 50.0,
                "high": 120,
            },
        ]
    )
    covered = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        y = newton_cooling(truth, t) + rng.normal(0, 1.0, t.size)
        post = calibrate(
            log_posterior(newton_cooling, t, y, priors, Noise(sigma=1.0)),
            Sampler(n_steps=1500, seed=seed, start="map"),
        )
        s = post.summary()["parameters"]
        covered.append(
            [
                s[n]["q05"] <= v <= s[n]["q95"]
                for n, v in zip(["k", "t_env", "t0"], truth, strict=False)
            ]
        )
    rate = np.mean(covered)
    # 18 nominal-90 % intervals: fewer than 14 covered would be very unlikely (p < 0.01).
    assert rate >= 14 / 18, covered


def test_inferred_sigma_recovers_noise_level():
    x, y = linear_data(seed=2, n=200, sigma=0.5)
    priors = parse_priors(
        {"a": {"dist": "normal", "mean": 0, "sd": 5}, "b": {"dist": "normal", "mean": 0, "sd": 5}}
    )
    noise = Noise(prior=parse_prior("sigma", {"dist": "lognormal", "mu": 0.0, "sigma": 1.0}))
    post = calibrate(log_posterior(linear, x, y, priors, noise), Sampler(n_steps=1500, seed=0))
    s = post.summary()["parameters"]
    assert post.names == ["a", "b", "sigma"]
    assert s["sigma"]["q05"] < 0.5 < s["sigma"]["q95"]
    assert abs(s["sigma"]["mean"] - 0.5) < 0.06


def test_scalar_model_is_called_walker_by_walker_with_same_answer():
    truth = np.array([0.35, 20.0, 90.0])
    t = np.linspace(0, 12, 20)
    y = newton_cooling(truth, t) + np.random.default_rng(0).normal(0, 1.0, t.size)
    priors = parse_priors(
        {
            "k": {"dist": "uniform", "low": 0.01, "high": 2},
            "t_env": {"dist": "uniform", "low": 0, "high": 40},
            "t0": {"dist": "uniform", "low": 50, "high": 120},
        }
    )
    vec = calibrate(
        log_posterior(newton_cooling, t, y, priors, Noise(sigma=1.0)), Sampler(n_steps=300, seed=3)
    )
    scal = calibrate(
        log_posterior(newton_cooling_scalar, t, y, priors, Noise(sigma=1.0)),
        Sampler(n_steps=300, seed=3),
    )
    assert vec.diagnostics["vectorized"] and not scal.diagnostics["vectorized"]
    np.testing.assert_allclose(vec.samples, scal.samples, rtol=1e-9)


def test_same_seed_same_samples_and_short_chain_is_flagged():
    x, y = linear_data()
    priors = parse_priors(
        {"a": {"dist": "normal", "mean": 0, "sd": 5}, "b": {"dist": "normal", "mean": 0, "sd": 5}}
    )
    a = calibrate(
        log_posterior(linear, x, y, priors, Noise(sigma=0.3)), Sampler(n_steps=60, seed=11)
    )
    b = calibrate(
        log_posterior(linear, x, y, priors, Noise(sigma=0.3)), Sampler(n_steps=60, seed=11)
    )
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.diagnostics["too_short"] is True
    assert any("chain too short to trust" in w for w in a.diagnostics["warnings"])


def test_bad_settings_name_the_field():
    x, y = linear_data()
    priors = parse_priors(
        {"a": {"dist": "normal", "mean": 0, "sd": 5}, "b": {"dist": "normal", "mean": 0, "sd": 5}}
    )
    with pytest.raises(TwinStatError, match="'start'"):
        calibrate(
            log_posterior(linear, x, y, priors, Noise(sigma=0.3)),
            Sampler(n_steps=50, start="middle"),
        )
    with pytest.raises(TwinStatError, match="'burn'"):
        calibrate(
            log_posterior(linear, x, y, priors, Noise(sigma=0.3)), Sampler(n_steps=50, burn=80)
        )
    with pytest.raises(TwinStatError, match="'noise'"):
        calibrate(log_posterior(linear, x, y, priors, Noise()), Sampler(n_steps=50))


def test_the_predictive_band_probes_an_undecided_model_and_calls_it_once():
    x, y = linear_data()
    priors = parse_priors(
        {"a": {"dist": "normal", "mean": 0, "sd": 5}, "b": {"dist": "normal", "mean": 0, "sd": 5}}
    )
    post = calibrate(log_posterior(linear, x, y, priors, Noise(sigma=0.3)), Sampler(n_steps=200))
    calls = []

    def model(theta, at):
        calls.append(np.shape(theta))
        return linear(theta, at)

    bands = predictive(post, BatchModel(model, x, len(y)), 2, n_draws=150)
    assert calls[-1] == (150, 2) and len(calls) == 2  # the probe, then one batch
    mean = 1.5 + 2.0 * x
    assert np.all(bands["q05"] <= bands["q50"]) and np.all(bands["q50"] <= bands["q95"])
    assert np.max(np.abs(bands["q50"] - mean)) < 0.4
