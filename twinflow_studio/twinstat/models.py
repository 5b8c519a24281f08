"""Reference simulation models in the ``f(theta, x)`` form the calibration node expects.

They broadcast: ``theta`` of shape (n_params,) gives (n_obs,), and (walkers, n_params)
gives (walkers, n_obs), so the sampler evaluates all walkers in one call.
"""

from __future__ import annotations

import numpy as np


def linear(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a + b x`` with theta = (a, b)."""
    th = np.asarray(theta, dtype=float)
    return th[..., 0, None] + th[..., 1, None] * np.asarray(x, dtype=float)


def newton_cooling(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Temperature of a body cooling toward its surroundings:
    ``T(t) = T_env + (T0 - T_env) exp(-k t)`` with theta = (k, T_env, T0)."""
    th = np.asarray(theta, dtype=float)
    k, t_env, t0 = th[..., 0, None], th[..., 1, None], th[..., 2, None]
    return t_env + (t0 - t_env) * np.exp(-k * np.asarray(t, dtype=float))


def newton_cooling_scalar(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The same model written for one parameter vector at a time (not vectorized)."""
    k, t_env, t0 = (float(v) for v in np.asarray(theta, dtype=float).reshape(3))
    return t_env + (t0 - t_env) * np.exp(-k * np.asarray(t, dtype=float))


def ishigami(theta: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
    """The Ishigami function (a = 7, b = 0.1), the usual sensitivity-analysis benchmark with
    known Sobol indices; ``x`` is ignored. theta = (x1, x2, x3), uniform on [-pi, pi]."""
    th = np.asarray(theta, dtype=float)
    x1, x2, x3 = th[..., 0, None], th[..., 1, None], th[..., 2, None]
    return np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
