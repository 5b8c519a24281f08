"""A steady (or stepping) Newton-cooling sensor fed to the sequential calibration, batch by
batch, exactly as the calibration node chains it: calibrate -> priors_from_samples ->
(adaptive check) -> calibrate on the next batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinflow_studio.twinstat.adaptive import adapt_prior
from twinflow_studio.twinstat.calibration import BatchModel, LogPosterior, Noise, Sampler, calibrate
from twinflow_studio.twinstat.priors import PriorSet, parse_priors, priors_from_samples

SIGMA = 0.5  # sensor noise, degC
N_OBS = 6  # readings per batch
T_MAX = 60.0  # minutes covered by one batch
BASE = {
    "k": {"dist": "lognormal", "mu": float(np.log(0.04)), "sigma": 0.25},
    "t_env": {"dist": "normal", "mean": 20.0, "sd": 2.0},
    "t0": {"dist": "normal", "mean": 90.0, "sd": 5.0},
}
N_WALKERS = 16
N_STEPS = 220
BURN = 70


def cooling(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    theta = np.atleast_2d(theta)
    k, t_env, t0 = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    return t_env + (t0 - t_env) * np.exp(-k * t[None, :])


cooling.vectorized = True  # type: ignore[attr-defined]


@dataclass
class Update:
    q05: np.ndarray
    q95: np.ndarray
    changed: bool


def run_sequence(
    seed: int,
    truths: list[np.ndarray],
    mode: str = "mvn",
    adaptive: bool = True,
    sampler: str = "emcee",
) -> list[Update]:
    """One seeded repeat: batch i is drawn from ``truths[i]``; returns each posterior's
    5 % / 95 % quantiles per parameter (update 0 is the first calibration from the base)."""
    rng = np.random.default_rng(seed)  # the data: the same whichever sampler runs
    sample_rng = np.random.default_rng([seed, 1])
    base = parse_priors(BASE)
    noise = Noise(sigma=SIGMA)
    prior: PriorSet = base
    out: list[Update] = []
    for i, truth in enumerate(truths):
        t = np.sort(rng.uniform(0.0, T_MAX, N_OBS))
        y = cooling(truth, t)[0] + rng.normal(0.0, SIGMA, N_OBS)
        batch = BatchModel(cooling, t, N_OBS, vectorize=True)
        changed = False
        if i > 0:
            carried = priors_from_samples(base, samples, mode)  # noqa: F821 - set below
            prior = carried
            if adaptive:
                prior, info = adapt_prior(
                    carried,
                    lambda f, s=samples: priors_from_samples(base, s, mode, f),  # noqa: F821
                    base,
                    batch,
                    y,
                    noise,
                    seed=seed * 1000 + i,
                )
                changed = bool(info["changed"])
        if sampler == "emcee":
            samples = calibrate(
                LogPosterior(prior, batch, y, noise),
                Sampler(n_walkers=N_WALKERS, n_steps=N_STEPS, burn=BURN, seed=seed * 1000 + i),
            ).samples
        else:
            samples = importance_posterior(prior, batch, y, sample_rng)
        q05, q95 = np.quantile(samples, [0.05, 0.95], axis=0)
        out.append(Update(q05=q05, q95=q95, changed=changed))
    return out


def importance_posterior(
    prior: PriorSet, batch: BatchModel, y: np.ndarray, rng: np.random.Generator, n: int = 12000
) -> np.ndarray:
    """Posterior draws by sampling-importance-resampling from the prior: exact up to Monte
    Carlo error and vectorized, so hundreds of repeats fit in a CI budget. Used to check the
    posterior-to-prior rule itself; the emcee path is checked separately."""
    draws = prior.sample(rng, n)
    resid = y - batch(draws)
    logw = -0.5 * np.sum(resid * resid, axis=1) / SIGMA**2
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return draws[rng.choice(n, size=n, p=w)]


def draw_truth(rng: np.random.Generator) -> np.ndarray:
    """A truth drawn from the base prior: then the exact posterior's 90 % interval covers it
    in exactly 90 % of repeats, so any miss rate beyond binomial noise is the updating's."""
    base = parse_priors(BASE)
    return base.sample(rng, 1)[0]
