"""Uncertainty propagation: posterior draws pushed through a simulation, summarized as
predictive quantile bands, by Monte Carlo or through a polynomial-chaos expansion (chaospy).

The expansion is fitted by regression over a Gaussian approximation of the posterior (its
mean and covariance), so a skewed posterior is approximated; that is why a PCE run also
reports its error against a small Monte Carlo check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinflow_studio.twinstat.calibration import BatchModel
from twinflow_studio.twinstat.errors import TwinStatError


@dataclass
class Bands:
    mean: np.ndarray  # (n_obs,)
    sd: np.ndarray
    quantiles: dict[float, np.ndarray]
    evaluations: int
    info: dict[str, Any] = field(default_factory=dict)


def _summarize(outputs: np.ndarray, quantiles: Sequence[float]) -> tuple[np.ndarray, ...]:
    qs = np.quantile(outputs, list(quantiles), axis=0)
    return outputs.mean(axis=0), outputs.std(axis=0, ddof=1), qs


def _with_noise(outputs: np.ndarray, noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    if noise_sd <= 0:
        return outputs
    return outputs + rng.normal(0.0, noise_sd, outputs.shape)


def monte_carlo(
    batch: BatchModel,
    draws: np.ndarray,
    quantiles: Sequence[float],
    noise_sd: float = 0.0,
    seed: int = 0,
) -> Bands:
    """Bands of the model output over the given posterior draws (one model call per draw)."""
    before = batch.calls
    bands = monte_carlo_bands(batch(draws), quantiles, noise_sd, seed)
    bands.evaluations = batch.calls - before
    return bands


def monte_carlo_bands(
    outputs: np.ndarray, quantiles: Sequence[float], noise_sd: float = 0.0, seed: int = 0
) -> Bands:
    """Bands of model outputs (n_draws, n_obs) already computed at posterior draws."""
    outputs = _with_noise(
        np.asarray(outputs, dtype=float), noise_sd, np.random.default_rng([seed, 1])
    )
    mean, sd, qs = _summarize(outputs, quantiles)
    return Bands(mean, sd, dict(zip(quantiles, qs, strict=True)), int(outputs.shape[0]))


def polynomial_chaos(
    batch: BatchModel,
    samples: np.ndarray,
    quantiles: Sequence[float],
    order: int = 3,
    n_fit: int | None = None,
    noise_sd: float = 0.0,
    seed: int = 0,
) -> Bands:
    """Bands from a polynomial-chaos expansion of the model in the parameters, fitted at
    ``n_fit`` Sobol points of the posterior's Gaussian approximation (default: twice the
    number of polynomial terms) and then evaluated, cheaply, at every posterior sample."""
    samples = np.atleast_2d(samples)
    mean, cov = gaussian_moments(samples)
    nodes = pce_nodes(mean, cov, order, n_fit, seed)
    before = batch.calls
    evals = batch(nodes)
    bands = pce_bands(mean, cov, order, nodes, evals, samples, quantiles, noise_sd, seed)
    bands.evaluations = batch.calls - before
    return bands


def gaussian_moments(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the posterior's Gaussian approximation."""
    samples = np.atleast_2d(samples)
    cov = np.atleast_2d(np.cov(samples, rowvar=False))
    if not np.all(np.diagonal(cov) > 0):
        raise TwinStatError("every parameter of the posterior must vary", field="posterior")
    return samples.mean(axis=0), cov


def _expansion(mean: np.ndarray, cov: np.ndarray, order: int) -> tuple[Any, Any]:
    import chaospy  # imported here: it takes a second to load and only this path needs it

    if len(mean) == 1:
        dist = chaospy.Normal(float(mean[0]), math.sqrt(float(cov[0, 0])))
    else:
        dist = chaospy.MvNormal(mean, cov)
    return dist, chaospy.generate_expansion(order, dist)


def pce_nodes(
    mean: np.ndarray, cov: np.ndarray, order: int, n_fit: int | None, seed: int
) -> np.ndarray:
    """The ``(n_fit, d)`` parameter points the expansion is fitted at: Sobol points of the
    Gaussian approximation (default: twice the number of polynomial terms)."""
    dist, expansion = _expansion(mean, cov, order)
    terms = len(expansion)
    n_fit = n_fit or 2 * terms
    if n_fit < terms:
        raise TwinStatError(f"needs at least {terms} fit points for order {order}", field="pce")
    return np.atleast_2d(dist.sample(n_fit, rule="sobol", seed=seed)).T


def pce_bands(
    mean: np.ndarray,
    cov: np.ndarray,
    order: int,
    nodes: np.ndarray,
    evals: np.ndarray,
    samples: np.ndarray,
    quantiles: Sequence[float],
    noise_sd: float = 0.0,
    seed: int = 0,
) -> Bands:
    """Bands of the expansion fitted to the model outputs ``evals`` (n_fit, n_obs) at
    ``nodes`` (n_fit, d), evaluated at every posterior sample."""
    import chaospy

    _, expansion = _expansion(mean, cov, order)
    approx = chaospy.fit_regression(expansion, np.asarray(nodes).T, evals)
    samples = np.atleast_2d(samples)
    outputs = np.atleast_2d(np.asarray(approx(*samples.T), dtype=float)).T  # (n, n_obs)
    outputs = _with_noise(outputs, noise_sd, np.random.default_rng([seed, 2]))
    mean_out, sd_out, qs = _summarize(outputs, quantiles)
    info = {"order": order, "terms": len(expansion), "fit_points": int(len(nodes))}
    return Bands(mean_out, sd_out, dict(zip(quantiles, qs, strict=True)), int(len(nodes)), info)


def band_error(approx: Bands, reference: Bands) -> dict[str, Any]:
    """How far one set of bands lies from another, in units of the reference's spread."""
    scale = np.where(reference.sd > 0, reference.sd, 1.0)
    per_q = {
        f"q{round(q * 100):02d}": float(
            np.max(np.abs(approx.quantiles[q] - reference.quantiles[q]) / scale)
        )
        for q in reference.quantiles
    }
    return {
        "max_quantile_error_in_sd": max(per_q.values()) if per_q else 0.0,
        "quantile_error_in_sd": per_q,
        "mean_error_in_sd": float(np.max(np.abs(approx.mean - reference.mean) / scale)),
        "sd_ratio": float(np.median(approx.sd / scale)),
        "reference_draws": reference.evaluations,
    }
