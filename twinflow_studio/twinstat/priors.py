"""Prior distributions for calibration parameters.

Log-densities are written out in numpy rather than called through ``scipy.stats`` because
the sampler evaluates them for every walker at every step, and scipy's per-call overhead
would dominate a cheap model. The scipy frozen distributions are still used for drawing,
quantiles and as the reference the tests compare against.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from twinflow_studio.twinstat.errors import TwinStatError

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Which numbers each distribution needs; optional ones have defaults.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("mu", "sigma"),
    "truncnormal": ("mean", "sd"),
}
_OPTIONAL: dict[str, dict[str, float]] = {
    "truncnormal": {"low": -math.inf, "high": math.inf},
}
_ALIASES = {"truncated_normal": "truncnormal", "log-normal": "lognormal", "gaussian": "normal"}
DISTRIBUTIONS: tuple[str, ...] = tuple(_REQUIRED)


def distribution_args(dist: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) number names of a distribution (aliases resolved)."""
    dist = _ALIASES.get(dist.lower(), dist.lower())
    return _REQUIRED.get(dist, ()), tuple(_OPTIONAL.get(dist, {}))


def canonical_dist(dist: str) -> str:
    return _ALIASES.get(dist.lower(), dist.lower())


@dataclass(frozen=True)
class Prior:
    """One parameter's prior: ``dist`` is uniform, normal, lognormal or truncnormal."""

    name: str
    dist: str
    args: dict[str, float] = field(default_factory=dict)

    @property
    def frozen(self) -> Any:
        a = self.args
        if self.dist == "uniform":
            return stats.uniform(loc=a["low"], scale=a["high"] - a["low"])
        if self.dist == "normal":
            return stats.norm(loc=a["mean"], scale=a["sd"])
        if self.dist == "lognormal":
            return stats.lognorm(s=a["sigma"], scale=math.exp(a["mu"]))
        lo = (a["low"] - a["mean"]) / a["sd"]
        hi = (a["high"] - a["mean"]) / a["sd"]
        return stats.truncnorm(lo, hi, loc=a["mean"], scale=a["sd"])

    @property
    def support(self) -> tuple[float, float]:
        a = self.args
        if self.dist == "uniform" or self.dist == "truncnormal":
            return (a["low"], a["high"])
        if self.dist == "lognormal":
            return (0.0, math.inf)
        return (-math.inf, math.inf)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        a = self.args
        if self.dist == "uniform":
            inside = (x >= a["low"]) & (x <= a["high"])
            return np.where(inside, self._const, -np.inf)
        if self.dist == "normal":
            z = (x - a["mean"]) / a["sd"]
            return -0.5 * z * z + self._const
        if self.dist == "lognormal":
            positive = x > 0
            lx = np.log(np.where(positive, x, 1.0))
            z = (lx - a["mu"]) / a["sigma"]
            return np.where(positive, -0.5 * z * z - lx + self._const, -np.inf)
        z = (x - a["mean"]) / a["sd"]
        inside = (x >= a["low"]) & (x <= a["high"])
        return np.where(inside, -0.5 * z * z + self._const, -np.inf)

    @functools.cached_property
    def _const(self) -> float:
        """The normalising term of the log density (computed once per prior)."""
        a = self.args
        if self.dist == "uniform":
            return -math.log(a["high"] - a["low"])
        if self.dist == "normal":
            return -math.log(a["sd"]) - _LOG_SQRT_2PI
        if self.dist == "lognormal":
            return -math.log(a["sigma"]) - _LOG_SQRT_2PI
        return -self._trunc_log_norm

    @property
    def _trunc_log_norm(self) -> float:
        a = self.args
        lo = (a["low"] - a["mean"]) / a["sd"]
        hi = (a["high"] - a["mean"]) / a["sd"]
        mass = stats.norm.cdf(hi) - stats.norm.cdf(lo)
        return math.log(a["sd"]) + _LOG_SQRT_2PI + math.log(mass)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.asarray(self.frozen.ppf(rng.uniform(size=n)), dtype=float)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(self.frozen.ppf(q), dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dist": self.dist, **self.args}


def parse_prior(name: str, spec: Mapping[str, Any], field_name: str = "priors") -> Prior:
    """A :class:`Prior` from ``{"dist": ..., <numbers>}``; errors name the parameter."""
    where = f"{field_name}.{name}"
    if not isinstance(spec, Mapping):
        raise TwinStatError(f"a prior must be a mapping, got {type(spec).__name__}", field=where)
    dist = str(spec.get("dist", "")).lower()
    dist = _ALIASES.get(dist, dist)
    if dist not in _REQUIRED:
        raise TwinStatError(
            f"unknown distribution {spec.get('dist')!r}; use one of {sorted(_REQUIRED)}",
            field=where,
        )
    allowed = set(_REQUIRED[dist]) | set(_OPTIONAL.get(dist, {})) | {"dist", "name"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise TwinStatError(f"unknown key(s) {unknown} for a {dist} prior", field=where)
    args: dict[str, float] = dict(_OPTIONAL.get(dist, {}))
    for key in _REQUIRED[dist]:
        if key not in spec:
            raise TwinStatError(f"a {dist} prior needs {key!r}", field=where)
    for key in set(spec) - {"dist", "name"}:
        value = spec[key]
        if value is None and key in _OPTIONAL.get(dist, {}):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TwinStatError(f"{key!r} must be a number, got {value!r}", field=where) from None
        if math.isnan(number):
            raise TwinStatError(f"{key!r} is NaN", field=where)
        args[key] = number
    for key in ("sd", "sigma"):
        if key in args and not args[key] > 0:
            raise TwinStatError(f"{key!r} must be > 0, got {args[key]}", field=where)
    if dist in ("uniform", "truncnormal") and not args["low"] < args["high"]:
        raise TwinStatError(
            f"'low' ({args['low']}) must be below 'high' ({args['high']})", field=where
        )
    if dist == "uniform" and not all(math.isfinite(args[k]) for k in ("low", "high")):
        raise TwinStatError("a uniform prior needs finite bounds", field=where)
    prior = Prior(name=name, dist=dist, args=args)
    if dist == "truncnormal" and not math.isfinite(prior._trunc_log_norm):
        raise TwinStatError("the truncation interval holds no probability mass", field=where)
    return prior


class PriorSet:
    """The joint prior over named parameters (independent marginals by default)."""

    def __init__(self, priors: Sequence[Prior]) -> None:
        if not priors:
            raise TwinStatError("at least one parameter needs a prior", field="priors")
        names = [p.name for p in priors]
        if len(set(names)) != len(names):
            raise TwinStatError(f"parameter names repeat: {names}", field="priors")
        self.priors = list(priors)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.priors]

    @property
    def ndim(self) -> int:
        return len(self.priors)

    @property
    def bounds(self) -> list[tuple[float, float]]:
        return [p.support for p in self.priors]

    def logpdf(self, theta: np.ndarray) -> np.ndarray:
        """Log prior density for ``theta`` of shape (n, ndim); -inf outside the support."""
        theta = np.atleast_2d(theta)
        total = np.zeros(theta.shape[0])
        for i, prior in enumerate(self.priors):
            total = total + prior.logpdf(theta[:, i])
        return total

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.column_stack([p.sample(rng, n) for p in self.priors])

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Map unit-cube points (n, ndim) through each marginal's quantile function."""
        q = np.atleast_2d(q)
        return np.column_stack([p.ppf(q[:, i]) for i, p in enumerate(self.priors)])

    def median(self) -> np.ndarray:
        return np.array([float(p.ppf(np.array([0.5]))[0]) for p in self.priors])

    def to_spec(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.priors]


def parse_priors(spec: Any, field_name: str = "priors") -> PriorSet:
    """Priors from a list of ``{"name", "dist", ...}`` or a mapping ``name -> {"dist", ...}``."""
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        items = []
        for i, entry in enumerate(spec):
            if not isinstance(entry, Mapping) or not entry.get("name"):
                raise TwinStatError(
                    "each prior needs a 'name' and a 'dist'", field=f"{field_name}[{i}]"
                )
            items.append((str(entry["name"]), entry))
    else:
        raise TwinStatError(
            "priors must be a list of {name, dist, ...} or a mapping name -> {dist, ...}",
            field=field_name,
        )
    return PriorSet([parse_prior(str(name), entry, field_name) for name, entry in items])


SEQUENTIAL_MODES = ("mvn", "kde", "normal")


def priors_from_samples(
    base: PriorSet, samples: np.ndarray, mode: str = "mvn", inflate: float = 1.0
) -> PriorSet:
    """The next prior from posterior samples (sequential updating).

    ``mvn`` (the default): a multivariate normal with the samples' full covariance, fitted in
    the unbounded space of :mod:`~twinflow_studio.twinstat.joint_prior` (log / logit for
    bounded parameters), so correlations and physical bounds both survive; ``inflate``
    multiplies its standard deviations. ``kde``: a Gaussian KDE in the same space, for
    posteriors that are not Gaussian there (skewed, multi-modal); ``inflate`` multiplies its
    bandwidth. ``normal``: the old independent marginals (moment-matched normals truncated to
    the support); it drops the correlations and is overconfident when they are strong.
    """
    from twinflow_studio.twinstat.joint_prior import JointPriorSet

    samples = np.atleast_2d(np.asarray(samples, dtype=float))
    if samples.shape[1] != base.ndim:
        raise TwinStatError(
            f"previous posterior has {samples.shape[1]} parameters, priors have {base.ndim}",
            field="prior",
        )
    if mode in ("mvn", "kde"):
        return JointPriorSet(base.priors, samples, kind=mode, inflate=inflate)
    if mode != "normal":
        raise TwinStatError(
            f"unknown sequential mode {mode!r}; use one of {list(SEQUENTIAL_MODES)} or off",
            field="sequential",
        )
    out = []
    for i, prior in enumerate(base.priors):
        mean = float(np.mean(samples[:, i]))
        sd = float(np.std(samples[:, i], ddof=1)) * inflate
        sd = max(sd, 1e-12 * max(1.0, abs(mean)))
        lo, hi = prior.support
        if math.isinf(lo) and math.isinf(hi):
            out.append(Prior(prior.name, "normal", {"mean": mean, "sd": sd}))
        else:
            out.append(
                Prior(prior.name, "truncnormal", {"mean": mean, "sd": sd, "low": lo, "high": hi})
            )
    return PriorSet(out)
