"""Sequential state and parameter estimation over the rows of a time series.

Three filters share one state layout, the augmented vector ``s = [x, theta]``: the model's
states ``x`` evolve by the user's transition ``fx(x, dt, theta)``; the parameters ``theta``
are states that stay put (or random-walk, if given process noise), so one filter estimates
both. The linear Kalman filter and the unscented Kalman filter are filterpy's; the bootstrap
particle filter is written out here over numpy arrays so a vectorized model moves all
particles in one call.

A run starts from a :class:`Checkpoint` (the filter state after the last processed row) or,
the first time, from the initial distribution; it processes only rows after the checkpoint's
time and returns the next checkpoint, so live data is filtered once, incrementally.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from filterpy.kalman import KalmanFilter, MerweScaledSigmaPoints, UnscentedKalmanFilter

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import PriorSet

METHODS = ("kf", "ukf", "pf")
_Z90 = 1.6448536269514722  # standard normal 95 % quantile: a Gaussian's central 90 % band

Transition = Callable[[np.ndarray, float, np.ndarray], np.ndarray]
Measurement = Callable[[np.ndarray], np.ndarray]


@dataclass
class FilterSetup:
    """What a filter needs. ``q`` is per row for ``kf`` (a discrete-time model) and per unit
    of time for ``ukf``/``pf`` (the variance added over a step of ``dt`` is ``q * dt``)."""

    method: str
    state_names: list[str]
    param_names: list[str]
    y_names: list[str]
    init: PriorSet  # the initial distribution of states then parameters
    q: np.ndarray
    r: np.ndarray
    fx: Transition | None = None
    hx: Measurement | None = None
    F: np.ndarray | None = None
    H: np.ndarray | None = None
    n_particles: int = 1000
    resample_threshold: float = 0.5
    sigma_points: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    @property
    def names(self) -> list[str]:
        return [*self.state_names, *self.param_names]

    @property
    def n(self) -> int:
        return len(self.state_names) + len(self.param_names)

    @property
    def nx(self) -> int:
        return len(self.state_names)


@dataclass
class Checkpoint:
    """The filter state after row ``steps - 1`` at time ``t``."""

    t: float
    steps: int
    mean: np.ndarray
    cov: np.ndarray
    particles: np.ndarray | None = None
    weights: np.ndarray | None = None


@dataclass
class FilterResult:
    times: np.ndarray
    means: np.ndarray  # (T, n)
    covs: np.ndarray  # (T, n, n)
    q05: np.ndarray  # (T, n)
    q95: np.ndarray  # (T, n)
    checkpoint: Checkpoint
    diagnostics: dict[str, Any] = field(default_factory=dict)


def initial_moments(init: PriorSet) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (diagonal) covariance of the initial distribution, for the Gaussian filters."""
    mean = np.array([float(p.frozen.mean()) for p in init.priors])
    var = np.array([float(p.frozen.var()) for p in init.priors])
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        raise TwinStatError(
            "an initial distribution has no finite mean and variance", field="states"
        )
    return mean, np.diag(var)


def run_filter(
    setup: FilterSetup,
    times: np.ndarray,
    z: np.ndarray,
    start: Checkpoint | None,
    check: Callable[[], None] = lambda: None,
) -> FilterResult:
    """Filter the rows ``(times[i], z[i])`` (times increasing, after ``start.t``); a row with a
    missing value is a prediction only."""
    times = np.asarray(times, dtype=float)
    z = np.asarray(z, dtype=float).reshape(len(times), len(setup.y_names))
    if len(times) and np.any(np.diff(times) <= 0):
        raise TwinStatError("times must increase strictly from row to row", field="time_column")
    if setup.method == "kf":
        return _run_kf(setup, times, z, start, check)
    if setup.method == "ukf":
        return _run_ukf(setup, times, z, start, check)
    if setup.method == "pf":
        return _run_pf(setup, times, z, start, check)
    raise TwinStatError(
        f"unknown method {setup.method!r}; use one of {list(METHODS)}", field="method"
    )


def _gaussian_result(
    times: np.ndarray, means: np.ndarray, covs: np.ndarray, cp: Checkpoint, diag: dict[str, Any]
) -> FilterResult:
    sd = np.sqrt(np.maximum(np.diagonal(covs, axis1=1, axis2=2), 0.0))
    return FilterResult(
        times, means, covs, means - _Z90 * sd, means + _Z90 * sd, cp, {"band": "gaussian", **diag}
    )


def _run_kf(
    setup: FilterSetup,
    times: np.ndarray,
    z: np.ndarray,
    start: Checkpoint | None,
    check: Callable[[], None],
) -> FilterResult:
    assert setup.F is not None and setup.H is not None
    n, m = setup.n, len(setup.y_names)
    kf = KalmanFilter(dim_x=n, dim_z=m)
    kf.F, kf.H, kf.Q, kf.R = setup.F, setup.H, setup.q, setup.r
    if start is None:
        kf.x, kf.P = initial_moments(setup.init)
    else:
        kf.x, kf.P = start.mean.copy(), start.cov.copy()
    means = np.empty((len(times), n))
    covs = np.empty((len(times), n, n))
    observed = ~np.isnan(z).any(axis=1)
    for i in range(len(times)):
        if i or start is not None:  # the initial distribution is at the first row's time
            kf.predict()
        if observed[i]:
            kf.update(z[i])
        means[i] = kf.x
        covs[i] = kf.P
        if i % 256 == 255:
            check()
    cp = _next_checkpoint(start, times, kf.x, kf.P)
    return _gaussian_result(times, means, covs, cp, {"updates": int(observed.sum())})


class _Augmented:
    """The user's ``fx``/``hx`` lifted to the augmented state ``[x, theta]`` for filterpy.

    These run once per sigma point per step, so they do no more than the lifting: a model
    returning the wrong shape fails the slice assignment, reported by the filter loop."""

    def __init__(self, setup: FilterSetup) -> None:
        assert setup.fx is not None and setup.hx is not None
        self.fx, self.hx, self.nx, self.m = setup.fx, setup.hx, setup.nx, len(setup.y_names)
        observed = getattr(setup.hx, "observes_first", None)
        if observed is not None:
            self.h = self._first  # type: ignore[method-assign]

    def f(self, s: np.ndarray, dt: float) -> np.ndarray:
        out = s.copy()
        nx = self.nx
        out[:nx] = self.fx(s[:nx], dt, s[nx:])
        return out

    def h(self, s: np.ndarray) -> np.ndarray:
        return np.asarray(self.hx(s[: self.nx]), dtype=float).reshape(self.m)

    def _first(self, s: np.ndarray) -> np.ndarray:
        return s[: self.m]


def sigma_points(n: int, spec: dict[str, float]) -> MerweScaledSigmaPoints:
    return MerweScaledSigmaPoints(
        n,
        alpha=float(spec.get("alpha", 0.5)),
        beta=float(spec.get("beta", 2.0)),
        kappa=float(spec.get("kappa", 0.0)),
    )


def _run_ukf(
    setup: FilterSetup,
    times: np.ndarray,
    z: np.ndarray,
    start: Checkpoint | None,
    check: Callable[[], None],
) -> FilterResult:
    n, m = setup.n, len(setup.y_names)
    model = _Augmented(setup)
    points = sigma_points(n, setup.sigma_points)
    ukf = UnscentedKalmanFilter(dim_x=n, dim_z=m, dt=1.0, hx=model.h, fx=model.f, points=points)
    ukf.R = setup.r
    if start is None:
        ukf.x, ukf.P = initial_moments(setup.init)
    else:
        ukf.x, ukf.P = start.mean.copy(), start.cov.copy()
    means = np.empty((len(times), n))
    covs = np.empty((len(times), n, n))
    observed = ~np.isnan(z).any(axis=1)
    last_t = start.t if start is not None else None
    last_dt = math.nan
    q = setup.q
    try:
        for i in range(len(times)):
            if last_t is None:
                # No prediction before the first row: its sigma points come from the prior.
                ukf.sigmas_f = points.sigma_points(ukf.x, ukf.P)
            else:
                dt = times[i] - last_t
                # Evenly spaced data: Q is scaled once (read-back times differ in the last bit).
                if not abs(dt - last_dt) <= 1e-12 * abs(dt):
                    ukf.Q = q * dt
                    last_dt = dt
                ukf.predict(dt=dt)
            if observed[i]:
                ukf.update(z[i])
            means[i] = ukf.x
            covs[i] = ukf.P
            last_t = times[i]
            if i % 256 == 255:
                check()
    except np.linalg.LinAlgError as exc:
        raise TwinStatError(
            f"the covariance stopped being positive definite at time {times[i]:g} ({exc}); "
            "give more process noise, a wider initial distribution or other sigma_points",
            field="process_noise",
        ) from None
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as exc:
        raise TwinStatError(
            f"the model failed at time {times[i]:g}: {type(exc).__name__}: {exc}",
            field="transition",
        ) from exc
    cp = _next_checkpoint(start, times, ukf.x, ukf.P)
    return _gaussian_result(times, means, covs, cp, {"updates": int(observed.sum())})


def _next_checkpoint(
    start: Checkpoint | None,
    times: np.ndarray,
    mean: np.ndarray,
    cov: np.ndarray,
    particles: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> Checkpoint:
    steps = (start.steps if start is not None else 0) + len(times)
    t = float(times[-1]) if len(times) else (start.t if start is not None else -math.inf)
    return Checkpoint(
        t, steps, np.array(mean, dtype=float), np.array(cov, dtype=float), particles, weights
    )


# ---- bootstrap particle filter ---------------------------------------------------------


class _Batched:
    """Calls a model on all particles at once when it broadcasts, else particle by particle.

    Whether it broadcasts is decided on the first call by comparing a batched call with a
    loop over two particles: a function that silently mixes particles is caught there."""

    def __init__(self, fn: Callable[..., Any], width: int, field_name: str) -> None:
        self.fn, self.width, self.field = fn, width, field_name
        flag = getattr(fn, "vectorized", None)
        self.vectorized: bool | None = flag if isinstance(flag, bool) else None

    def __call__(self, first: np.ndarray, *rest: Any) -> np.ndarray:
        if self.vectorized is None:
            self.vectorized = self._probe(first, rest)
        try:
            if self.vectorized:
                out = np.asarray(self.fn(first, *rest), dtype=float)
                return out.reshape(first.shape[0], self.width)
            return np.vstack([self._one(first, rest, i) for i in range(first.shape[0])])
        except TwinStatError:
            raise
        except Exception as exc:  # the user's model failed: say which one
            raise TwinStatError(
                f"the model raised {type(exc).__name__}: {exc}", field=self.field
            ) from exc

    def _one(self, first: np.ndarray, rest: tuple[Any, ...], i: int) -> np.ndarray:
        args = [r[i] if isinstance(r, np.ndarray) and r.ndim == 2 else r for r in rest]
        return np.asarray(self.fn(first[i], *args), dtype=float).reshape(self.width)

    def _probe(self, first: np.ndarray, rest: tuple[Any, ...]) -> bool:
        k = min(2, first.shape[0])
        head = [r[:k] if isinstance(r, np.ndarray) and r.ndim == 2 else r for r in rest]
        try:
            batched = np.asarray(self.fn(first[:k], *head), dtype=float)
        except Exception:
            return False
        if batched.size != k * self.width:
            return False
        looped = np.vstack([self._one(first[:k], tuple(head), i) for i in range(k)])
        return bool(np.allclose(batched.reshape(k, self.width), looped, rtol=1e-10, atol=0))


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample. filterpy's helper draws from numpy's global random
    state; this one takes the run's generator so a seeded run is reproducible."""
    n = len(weights)
    positions = (rng.random() + np.arange(n)) / n
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per-column quantile ``q`` of weighted samples (N, n)."""
    order = np.argsort(values, axis=0)
    cw = np.cumsum(weights[order], axis=0)
    idx = (cw < q * cw[-1]).sum(axis=0)
    idx = np.minimum(idx, values.shape[0] - 1)
    return values[order[idx, np.arange(values.shape[1])], np.arange(values.shape[1])]


def _noise_factor(q: np.ndarray) -> np.ndarray:
    """A matrix L with L L^T = q (zero rows for noise-free components)."""
    if np.count_nonzero(q - np.diag(np.diagonal(q))) == 0:
        return np.diag(np.sqrt(np.maximum(np.diagonal(q), 0.0)))
    vals, vecs = np.linalg.eigh(q)
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def _run_pf(
    setup: FilterSetup,
    times: np.ndarray,
    z: np.ndarray,
    start: Checkpoint | None,
    check: Callable[[], None],
) -> FilterResult:
    assert setup.fx is not None and setup.hx is not None
    n, nx, m = setup.n, setup.nx, len(setup.y_names)
    # A fresh stream per segment: a continued run does not replay the first run's draws.
    rng = np.random.default_rng([setup.seed, start.steps if start is not None else 0])
    if start is not None and start.particles is not None and start.weights is not None:
        particles, weights = start.particles.copy(), start.weights.copy()
    else:
        particles = setup.init.sample(rng, setup.n_particles)
        weights = np.full(setup.n_particles, 1.0 / setup.n_particles)
    n_particles = particles.shape[0]
    fx = _Batched(setup.fx, nx, "transition")
    hx = _Batched(setup.hx, m, "measurement")
    r_inv = np.linalg.inv(setup.r)
    q_factor_rate = _noise_factor(setup.q)
    # Static parameters (no process noise) are kept alive by Liu-West kernel shrinkage at
    # each resampling, or the cloud would collapse onto a few values.
    static = np.array([setup.q[nx + j, nx + j] == 0 for j in range(len(setup.param_names))])
    shrink = 0.98
    means = np.empty((len(times), n))
    covs = np.empty((len(times), n, n))
    q05 = np.empty((len(times), n))
    q95 = np.empty((len(times), n))
    observed = ~np.isnan(z).any(axis=1)
    last_t = start.t if start is not None else None
    resamples = 0
    ess_min = float(n_particles)
    for i in range(len(times)):
        if last_t is not None:
            dt = times[i] - last_t
            moved = particles.copy()
            moved[:, :nx] = fx(particles[:, :nx], dt, particles[:, nx:])
            if q_factor_rate.any():
                moved += rng.standard_normal((n_particles, n)) @ (q_factor_rate.T * math.sqrt(dt))
            particles = moved
        if observed[i]:
            resid = z[i] - hx(particles[:, :nx])
            loglik = -0.5 * np.einsum("ij,jk,ik->i", resid, r_inv, resid)
            loglik += np.log(np.maximum(weights, 1e-300))
            if not np.isfinite(loglik).any():
                raise TwinStatError(
                    f"every particle has zero likelihood at time {times[i]:g}; check the "
                    "measurement noise and the model",
                    field="measurement_noise",
                )
            weights = np.exp(loglik - np.max(loglik))
            weights /= weights.sum()
        means[i] = weights @ particles
        centred = particles - means[i]
        covs[i] = (centred * weights[:, None]).T @ centred
        q05[i] = weighted_quantiles(particles, weights, 0.05)
        q95[i] = weighted_quantiles(particles, weights, 0.95)
        ess = 1.0 / float(np.sum(weights**2))
        ess_min = min(ess_min, ess)
        if ess < setup.resample_threshold * n_particles:
            particles = particles[systematic_resample(weights, rng)]
            weights = np.full(n_particles, 1.0 / n_particles)
            resamples += 1
            if static.any():
                cols = nx + np.flatnonzero(static)
                block = particles[:, cols]
                centre = block.mean(axis=0)
                spread = np.atleast_2d(np.cov(block, rowvar=False))
                jitter = rng.multivariate_normal(np.zeros(len(cols)), spread, n_particles)
                particles[:, cols] = (
                    shrink * block + (1 - shrink) * centre + math.sqrt(1 - shrink**2) * jitter
                )
        last_t = times[i]
        if i % 64 == 63:
            check()
    mean = weights @ particles
    centred = particles - mean
    cov = (centred * weights[:, None]).T @ centred
    cp = _next_checkpoint(start, times, mean, cov, particles, weights)
    diag = {
        "band": "weighted quantiles",
        "updates": int(observed.sum()),
        "resamples": resamples,
        "effective_sample_size_min": ess_min,
        "n_particles": n_particles,
        "vectorized": bool(fx.vectorized),
    }
    return FilterResult(times, means, covs, q05, q95, cp, diag)
