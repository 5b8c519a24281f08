"""Bayesian calibration with emcee's affine-invariant ensemble sampler.

As with emcee's ``EnsembleSampler``, calibration takes a log-posterior and sampler settings:
``calibrate(log_posterior(model, x, y, priors, noise), Sampler(n_steps=...))``.
:func:`log_posterior` bundles the model, the priors and the Gaussian likelihood; a caller that
already holds the joint prior (sigma last when inferred, as sequential updating does) builds
:class:`LogPosterior` itself.

The model is ``f(theta, x) -> predictions at x`` where ``theta`` holds the model parameters
in prior order (``theta[..., i]``). A model that accepts a 2-D ``theta`` of shape
(walkers, params) and returns (walkers, n_obs) is evaluated once per step for all walkers;
otherwise it is called walker by walker.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import emcee
import numpy as np
from scipy import optimize

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import Prior, PriorSet

ModelFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class Noise:
    """Known noise ``sigma`` (a number or one per observation) or a prior to infer it.

    An inferred sigma is sampled as the last parameter, named ``sigma``."""

    sigma: float | np.ndarray | None = None
    prior: Prior | None = None

    @property
    def inferred(self) -> bool:
        return self.prior is not None

    def describe(self) -> dict[str, Any]:
        if self.prior is not None:
            return {"inferred": True, "prior": self.prior.to_dict()}
        sigma = self.sigma
        return {
            "inferred": False,
            "sigma": sigma.tolist() if isinstance(sigma, np.ndarray) else sigma,
        }


class BatchModel:
    """Evaluates the model for a batch of parameter vectors, vectorized when it can be."""

    def __init__(self, fn: ModelFn, x: np.ndarray, n_obs: int, vectorize: bool | None = None):
        self.fn = fn
        self.x = x
        self.n_obs = n_obs
        self.calls = 0  # simulator evaluations (one per parameter vector)
        flag = getattr(fn, "vectorized", None)
        # Undecided (neither the caller nor the model said): probe() tries a 2-D batch.
        self.decided = vectorize is not None or flag is not None
        self.vectorized = vectorize if vectorize is not None else flag is True

    def probe(self, theta: np.ndarray) -> None:
        """Decide vectorization by trying a 2-D batch when the model did not say."""
        if getattr(self.fn, "vectorized", None) is not None:
            return
        self.decided = True
        try:
            out = np.asarray(self.fn(theta[:2], self.x), dtype=float)
        except Exception:
            self.vectorized = False
            return
        self.vectorized = out.shape == (2, self.n_obs)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        self.calls += theta.shape[0]
        if self.vectorized:
            out = np.asarray(self.fn(theta, self.x), dtype=float)
            return out.reshape(theta.shape[0], self.n_obs)
        return np.vstack(
            [np.asarray(self.fn(t, self.x), dtype=float).reshape(self.n_obs) for t in theta]
        )


class LogPosterior:
    """Vectorized log posterior: prior + Gaussian likelihood, -inf outside the support."""

    def __init__(self, priors: PriorSet, model: BatchModel, y: np.ndarray, noise: Noise):
        self.priors = priors
        self.model = model
        self.y = np.asarray(y, dtype=float).reshape(-1)
        self.noise = noise
        self.n_model = priors.ndim - (1 if noise.inferred else 0)
        if not noise.inferred and noise.sigma is None:
            raise TwinStatError("give a known sigma or a prior to infer it", field="noise")
        if not noise.inferred:
            sigma = np.asarray(noise.sigma, dtype=float)
            if np.any(~(sigma > 0)):
                raise TwinStatError("noise sigma must be > 0", field="noise.sigma")
            self._inv_var = 1.0 / sigma**2
            self._scalar_inv_var = float(self._inv_var) if sigma.ndim == 0 else None
            self._const = -0.5 * (len(self.y) * _LOG_2PI) - float(
                np.sum(np.log(sigma) * np.ones_like(self.y))
            )

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        lp = self.priors.logpdf(theta)
        ok = np.isfinite(lp)
        every = bool(ok.all())
        if not every and not ok.any():
            return lp
        # Fancy indexing copies; the common case (all walkers inside the support) skips it.
        inside = theta if every else theta[ok]
        pred = self.model(inside[:, : self.n_model] if self.noise.inferred else inside)
        resid = self.y - pred
        sq = resid * resid
        if self.noise.inferred:
            sigma = inside[:, -1]
            n = len(self.y)
            loglike = (
                -0.5 * sq.sum(axis=1) / (sigma * sigma) - n * np.log(sigma) - 0.5 * n * _LOG_2PI
            )
        elif self._scalar_inv_var is not None:
            loglike = -0.5 * self._scalar_inv_var * sq.sum(axis=1) + self._const
        else:
            loglike = -0.5 * (sq * self._inv_var).sum(axis=1) + self._const
        if every:
            return lp + loglike
        out = np.full(theta.shape[0], -np.inf)
        out[ok] = lp[ok] + loglike
        return out


def find_map(log_post: LogPosterior, priors: PriorSet, rng: np.random.Generator) -> np.ndarray:
    """The posterior mode: the best of a batch of prior draws, polished by Nelder-Mead."""
    draws = priors.sample(rng, 64)
    values = log_post(draws)
    if not np.isfinite(values).any():
        raise TwinStatError("the posterior is zero at every prior draw", field="priors")
    start = draws[int(np.argmax(values))]

    def objective(theta: np.ndarray) -> float:
        value = float(log_post(theta[None, :])[0])
        return -value if np.isfinite(value) else 1e300

    result = optimize.minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"maxiter": 2000, "xatol": 1e-8, "fatol": 1e-8},
    )
    return result.x if objective(result.x) <= objective(start) else start


def initial_walkers(
    log_post: LogPosterior,
    priors: PriorSet,
    n_walkers: int,
    start: str,
    rng: np.random.Generator,
) -> np.ndarray:
    if start == "map":
        centre = find_map(log_post, priors, rng)
        spread = np.std(priors.sample(rng, 256), axis=0) * 1e-2
        spread = np.where(spread > 0, spread, 1e-6)
        walkers = centre + spread * rng.standard_normal((n_walkers, priors.ndim))
        bad = ~np.isfinite(log_post(walkers))
        walkers[bad] = centre  # degenerate but valid; the stretch move spreads them out
        return walkers
    if start != "prior":
        raise TwinStatError(f"unknown start {start!r}; use 'prior' or 'map'", field="start")
    walkers = np.empty((0, priors.ndim))
    for _ in range(50):
        draw = priors.sample(rng, 2 * n_walkers)
        walkers = np.vstack([walkers, draw[np.isfinite(log_post(draw))]])
        if walkers.shape[0] >= n_walkers:
            return walkers[:n_walkers]
    raise TwinStatError(
        "could not draw starting points with a finite posterior from the prior", field="priors"
    )


def diagnostics(sampler: emcee.EnsembleSampler, burn: int, names: list[str]) -> dict[str, Any]:
    """Autocorrelation time, acceptance, effective sample size and a trust flag.

    emcee's rule of thumb: the chain should be at least 50 autocorrelation times long before
    tau itself (and so the ESS) can be believed."""
    n_kept = sampler.iteration - burn
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, tol=0), dtype=float)
    accept = np.asarray(sampler.acceptance_fraction, dtype=float)
    ess = sampler.nwalkers * n_kept / tau
    tau_max = float(np.max(tau))
    trustworthy = bool(np.isfinite(tau_max) and n_kept >= 50 * tau_max)
    warnings = []
    if not trustworthy:
        warnings.append(
            f"chain too short to trust: {n_kept} steps after burn-in, but 50 x tau = "
            f"{50 * tau_max:.0f}; run at least {math.ceil(50 * tau_max) + burn} steps"
        )
    # Far outside the usual 0.2-0.5 means walkers are stuck or the posterior is mis-scaled.
    if accept.mean() < 0.1 or accept.mean() > 0.9:
        warnings.append(f"mean acceptance fraction {accept.mean():.2f} is outside 0.1-0.9")
    return {
        "autocorr_time": dict(zip(names, tau.tolist(), strict=False)),
        "autocorr_time_max": tau_max,
        "acceptance_fraction_mean": float(accept.mean()),
        "acceptance_fraction_min": float(accept.min()),
        "effective_sample_size": dict(zip(names, ess.tolist(), strict=False)),
        "effective_sample_size_min": float(np.min(ess)),
        "n_steps": int(sampler.iteration),
        "burn": int(burn),
        "n_walkers": int(sampler.nwalkers),
        "trustworthy": trustworthy,
        "too_short": not trustworthy,
        "warnings": warnings,
    }


@dataclass(frozen=True)
class Sampler:
    """emcee settings: walkers (raised to at least 2 x params + 2, even), steps, burn-in
    (a quarter of the steps by default), thinning, where walkers start ('prior' or 'map')
    and the seed that makes a run repeatable."""

    n_walkers: int = 32
    n_steps: int = 2000
    burn: int | None = None
    thin: int = 1
    start: str = "prior"
    seed: int = 0


def log_posterior(
    model: ModelFn | BatchModel,
    x: np.ndarray,
    y: np.ndarray,
    priors: PriorSet,
    noise: Noise,
    *,
    vectorize: bool | None = None,
) -> LogPosterior:
    """The log-posterior of the model parameters (and sigma, appended last when the noise
    prior infers it) given observations ``y`` at ``x``. ``vectorize`` None lets
    :func:`calibrate` probe the model."""
    y = np.asarray(y, dtype=float).reshape(-1)
    full = priors
    if noise.inferred:
        assert noise.prior is not None
        if "sigma" in priors.names:
            raise TwinStatError("'sigma' is reserved for the inferred noise", field="priors")
        full = PriorSet([*priors.priors, Prior("sigma", noise.prior.dist, noise.prior.args)])
    batch = model if isinstance(model, BatchModel) else BatchModel(model, x, len(y), vectorize)
    return LogPosterior(full, batch, y, noise)


def calibrate(
    log_post: LogPosterior,
    sampler: Sampler = Sampler(),
    progress: Callable[[int, int], None] | None = None,
) -> Posterior:
    """Sample ``log_post`` with emcee; ``progress(done, total)`` is called about 20 times."""
    full = log_post.priors
    n_steps = sampler.n_steps
    n_walkers = max(int(sampler.n_walkers), 2 * full.ndim + 2)
    if n_walkers % 2:
        n_walkers += 1
    if n_steps < 2:
        raise TwinStatError("n_steps must be at least 2", field="n_steps")
    burn = n_steps // 4 if sampler.burn is None else int(sampler.burn)
    if not 0 <= burn < n_steps:
        raise TwinStatError(f"burn must be in [0, n_steps), got {burn}", field="burn")
    seed, start = sampler.seed, sampler.start
    rng = np.random.default_rng(seed)
    bm = log_post.model
    if not bm.decided:
        bm.probe(full.sample(rng, 2)[:, : log_post.n_model])
    p0 = initial_walkers(log_post, full, n_walkers, start, rng)
    ensemble = emcee.EnsembleSampler(n_walkers, full.ndim, log_post, vectorize=True)
    ensemble.random_state = np.random.RandomState(seed).get_state()
    step = max(1, n_steps // 20)
    for i, _ in enumerate(ensemble.sample(p0, iterations=n_steps)):
        if progress is not None and ((i + 1) % step == 0 or i + 1 == n_steps):
            progress(i + 1, n_steps)
    names = full.names
    return Posterior(
        names=names,
        samples=ensemble.get_chain(discard=burn, thin=sampler.thin, flat=True),
        log_prob=ensemble.get_log_prob(discard=burn, thin=sampler.thin, flat=True),
        chain=ensemble.get_chain(),
        diagnostics={
            **diagnostics(ensemble, burn, names),
            "model_evaluations": bm.calls,
            "vectorized": bm.vectorized,
            "start": start,
        },
        meta={"prior": full.to_spec(), "noise": log_post.noise.describe(), "seed": seed},
    )


def predictive(
    posterior: Posterior,
    batch: BatchModel,
    n_model: int,
    n_draws: int = 200,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Posterior predictive 5/50/95 % bands of the model mean at the data points, all draws
    in one call when the model is vectorized."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(
        posterior.samples.shape[0], size=min(n_draws, posterior.samples.shape[0]), replace=False
    )
    draws = posterior.samples[idx, :n_model]
    if not batch.decided:
        batch.probe(draws)
    preds = batch(draws)
    q05, q50, q95 = np.quantile(preds, [0.05, 0.5, 0.95], axis=0)
    return {"q05": q05, "q50": q50, "q95": q95}
