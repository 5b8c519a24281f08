import numpy as np
import pytest

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import parse_prior, parse_priors, priors_from_samples

SPECS = [
    {"dist": "uniform", "low": -1.0, "high": 3.0},
    {"dist": "normal", "mean": 2.0, "sd": 0.5},
    {"dist": "lognormal", "mu": 0.3, "sigma": 0.4},
    {"dist": "truncnormal", "mean": 1.0, "sd": 2.0, "low": 0.0, "high": 4.0},
    {"dist": "truncnormal", "mean": 1.0, "sd": 2.0, "low": 0.0},
]


@pytest.mark.parametrize("spec", SPECS)
def test_logpdf_matches_scipy(spec):
    prior = parse_prior("p", spec)
    x = np.linspace(-2, 6, 81)
    ours = prior.logpdf(x)
    ref = prior.frozen.logpdf(x)
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(ours))
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spec", SPECS)
def test_samples_follow_the_distribution(spec):
    prior = parse_prior("p", spec)
    draws = prior.sample(np.random.default_rng(3), 20000)
    assert abs(draws.mean() - prior.frozen.mean()) < 0.05 * prior.frozen.std() * 4
    assert np.isfinite(prior.logpdf(draws)).all()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"dist": "gamma", "a": 1}, "unknown distribution"),
        ({"dist": "normal", "mean": 0}, "needs 'sd'"),
        ({"dist": "normal", "mean": 0, "sd": -1}, "must be > 0"),
        ({"dist": "uniform", "low": 2, "high": 1}, "must be below"),
        ({"dist": "normal", "mean": "a", "sd": 1}, "must be a number"),
        ({"dist": "normal", "mean": 0, "sd": 1, "scale": 3}, "unknown key"),
    ],
)
def test_bad_prior_names_parameter_and_problem(spec, fragment):
    with pytest.raises(TwinStatError) as info:
        parse_priors([{"name": "k", **spec}])
    assert "priors.k" in str(info.value)
    assert fragment in str(info.value)


def test_prior_list_needs_names():
    with pytest.raises(TwinStatError, match=r"priors\[0\]"):
        parse_priors([{"dist": "normal", "mean": 0, "sd": 1}])


def test_duplicate_names_rejected():
    with pytest.raises(TwinStatError, match="repeat"):
        parse_priors([{"name": "a", "dist": "normal", "mean": 0, "sd": 1}] * 2)


def test_sequential_normal_fit_keeps_support_and_moments():
    base = parse_priors(
        {
            "k": {"dist": "lognormal", "mu": 0, "sigma": 1},
            "b": {"dist": "normal", "mean": 0, "sd": 10},
        }
    )
    rng = np.random.default_rng(0)
    samples = np.column_stack([rng.normal(0.5, 0.05, 5000), rng.normal(3.0, 0.2, 5000)])
    nxt = priors_from_samples(base, samples, "normal", inflate=2.0)
    k, b = nxt.priors
    assert k.dist == "truncnormal" and k.support == (0.0, np.inf)
    assert b.dist == "normal"
    assert abs(b.args["mean"] - 3.0) < 0.02 and abs(b.args["sd"] - 0.4) < 0.02
    kde = priors_from_samples(base, samples, "kde")
    assert np.isneginf(kde.logpdf(np.array([[-0.1, 3.0]])))[0]
    assert kde.logpdf(np.array([[0.5, 3.0]]))[0] > kde.logpdf(np.array([[0.7, 3.0]]))[0]
