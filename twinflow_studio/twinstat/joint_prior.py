"""A joint prior fitted to posterior samples in an unbounded space (sequential updating).

Each parameter is mapped to the real line first: ``logit`` when its original prior has two
finite bounds, ``log(x - low)`` / ``log(high - x)`` with one, the identity with none. In that
space a multivariate normal with the samples' full covariance (or a Gaussian KDE) is a good
fit for a posterior that is skewed near a bound, keeps the correlations between parameters,
and can never put mass outside the physical support. Densities are transformed back with the
log-Jacobian so the sampler sees a proper density over the original parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import Prior, PriorSet

_LOG_2PI = math.log(2.0 * math.pi)
# How close to a bound a sample may lie before the transform clips it (keeps logs finite).
_EDGE = 1e-12


class Transform:
    """The bijection between one parameter's support and the real line."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high
        self.kind = (
            "logit"
            if math.isfinite(low) and math.isfinite(high)
            else "log_low"
            if math.isfinite(low)
            else "log_high"
            if math.isfinite(high)
            else "identity"
        )

    def inside(self, x: np.ndarray) -> np.ndarray:
        return (x > self.low) & (x < self.high) if self.kind != "identity" else np.isfinite(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "logit":
            u = np.clip((x - self.low) / (self.high - self.low), _EDGE, 1 - _EDGE)
            return np.log(u) - np.log1p(-u)
        if self.kind == "log_low":
            return np.log(np.maximum(x - self.low, _EDGE))
        if self.kind == "log_high":
            return np.log(np.maximum(self.high - x, _EDGE))
        return x

    def inverse(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "logit":
            return self.low + (self.high - self.low) * (1.0 / (1.0 + np.exp(-z)))
        if self.kind == "log_low":
            return self.low + np.exp(z)
        if self.kind == "log_high":
            return self.high - np.exp(z)
        return z

    def log_jacobian(self, x: np.ndarray) -> np.ndarray:
        """log |dz/dx| at x (inside the support)."""
        if self.kind == "logit":
            width = self.high - self.low
            u = (x - self.low) / width
            return -math.log(width) - np.log(u) - np.log1p(-u)
        if self.kind == "log_low":
            return -np.log(x - self.low)
        if self.kind == "log_high":
            return -np.log(self.high - x)
        return np.zeros_like(x)


class JointPriorSet(PriorSet):
    """A multivariate normal (``kind='mvn'``) or Gaussian KDE (``kind='kde'``) over the
    transformed parameters, fitted to posterior samples; ``inflate`` multiplies the standard
    deviations (mvn) or the bandwidth (kde)."""

    def __init__(
        self,
        base: Sequence[Prior],
        samples: np.ndarray,
        kind: str = "mvn",
        inflate: float = 1.0,
    ) -> None:
        super().__init__(base)
        if kind not in ("mvn", "kde"):
            raise TwinStatError(f"unknown joint prior {kind!r}", field="sequential")
        if not inflate > 0:
            raise TwinStatError("'inflate' must be a number > 0", field="sequential")
        samples = np.atleast_2d(np.asarray(samples, dtype=float))
        if samples.shape[0] < self.ndim + 2:
            raise TwinStatError(
                f"need more than {self.ndim + 1} posterior samples to fit a joint prior",
                field="prior",
            )
        self.kind = kind
        self.inflate = float(inflate)
        self.samples = samples
        self.transforms = [Transform(*p.support) for p in base]
        z = self.to_z(samples)
        self.z_mean = z.mean(axis=0)
        cov = np.atleast_2d(np.cov(z, rowvar=False))
        # A ridge keeps a degenerate chain (a parameter the data pin down exactly) invertible.
        ridge = 1e-12 * max(1.0, float(np.max(np.abs(np.diag(cov)))))
        self.z_cov = cov * self.inflate**2 + ridge * np.eye(self.ndim)
        self._chol = np.linalg.cholesky(self.z_cov)
        self._log_det = 2.0 * float(np.sum(np.log(np.diag(self._chol))))
        self.kde: Any = None
        if kind == "kde":
            self.kde = stats.gaussian_kde(z.T)
            if self.inflate != 1.0:
                self.kde.set_bandwidth(self.kde.factor * self.inflate)

    # -- the transform ----------------------------------------------------------------
    def to_z(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        return np.column_stack([t.forward(theta[:, i]) for i, t in enumerate(self.transforms)])

    def from_z(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(z)
        return np.column_stack([t.inverse(z[:, i]) for i, t in enumerate(self.transforms)])

    # -- the density ------------------------------------------------------------------
    def z_logpdf(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "kde":
            return np.asarray(self.kde.logpdf(z.T), dtype=float)
        solved = np.linalg.solve(self._chol, (z - self.z_mean).T)
        return -0.5 * (np.sum(solved * solved, axis=0) + self._log_det + self.ndim * _LOG_2PI)

    def logpdf(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        inside = np.ones(theta.shape[0], dtype=bool)
        for i, t in enumerate(self.transforms):
            inside &= t.inside(theta[:, i])
        out = np.full(theta.shape[0], -np.inf)
        if not inside.any():
            return out
        x = theta[inside]
        jac = sum(t.log_jacobian(x[:, i]) for i, t in enumerate(self.transforms))
        out[inside] = self.z_logpdf(self.to_z(x)) + jac
        return out

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "kde":
            z = self.kde.resample(n, seed=rng).T
        else:
            z = self.z_mean + rng.standard_normal((n, self.ndim)) @ self._chol.T
        return self.from_z(z)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Marginal quantiles (good enough to lay a design over); the transforms are
        monotone, so a quantile in z maps to the same quantile of the parameter."""
        q = np.atleast_2d(q)
        sd = np.sqrt(np.diag(self.z_cov))
        z = self.z_mean + sd * stats.norm.ppf(np.clip(q, 1e-15, 1 - 1e-15))
        return self.from_z(z)

    def median(self) -> np.ndarray:
        return self.from_z(self.z_mean[None, :])[0]

    def widened(self, factor: float) -> JointPriorSet:
        """The same fit with standard deviations (or bandwidth) times ``factor`` more."""
        return JointPriorSet(self.priors, self.samples, self.kind, self.inflate * factor)

    def to_spec(self) -> list[dict[str, Any]]:
        spec = super().to_spec()
        corr = self.correlation()
        for i, entry in enumerate(spec):
            entry["approximation"] = self.kind
            entry["transform"] = self.transforms[i].kind
            entry["z_mean"] = float(self.z_mean[i])
            entry["z_sd"] = float(math.sqrt(self.z_cov[i, i]))
            entry["inflate"] = self.inflate
            entry["correlation"] = [float(c) for c in corr[i]]
        return spec

    def correlation(self) -> np.ndarray:
        sd = np.sqrt(np.diag(self.z_cov))
        return self.z_cov / np.outer(sd, sd)
