"""Adaptive recalibration: notice that the system changed and widen the carried-over prior.

The check is a posterior-predictive one, made before sampling: draw parameters from the prior
this update would use (the previous posterior's fit), predict the new data with each draw, and
measure how surprising the new data are under that predictive distribution:

    Q = r' C^-1 r,   r = y - mean prediction,   C = Cov(predictions) + diag(sigma^2)

Under "nothing changed" (and a model that is locally linear in its parameters) Q follows a
chi-square law with n = len(y) degrees of freedom, so ``p = chi2.sf(Q, n)``. When
``p < alpha`` (default 0.01) the system changed: the prior's standard deviations (in the
transformed space) are doubled, 2x, 4x, ... up to ``max_widen`` (default 16), until the new
data are typical under it (``p >= settle``, default 0.5: merely "not surprising" would leave
the prior leaning on the old value for several updates); when even ``max_widen`` is not
enough, the update restarts from the base priors. A false alarm (probability ``alpha`` per
update) only widens one prior, so coverage never drops; a real change is followed within a
few updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from twinflow_studio.twinstat.calibration import BatchModel, Noise
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import PriorSet

N_DRAWS = 256


def predictive_check(
    prior: PriorSet,
    batch: BatchModel,
    y: np.ndarray,
    noise: Noise,
    rng: np.random.Generator,
    n_draws: int = N_DRAWS,
) -> dict[str, float]:
    """How surprising ``y`` is under the prior predictive of ``prior`` (see module doc)."""
    y = np.asarray(y, dtype=float).reshape(-1)
    draws = prior.sample(rng, n_draws)
    n_model = prior.ndim - (1 if noise.inferred else 0)
    preds = batch(draws[:, :n_model])
    if noise.inferred:
        noise_var = np.full(y.shape, float(np.mean(draws[:, -1] ** 2)))
    else:
        noise_var = np.broadcast_to(np.asarray(noise.sigma, dtype=float) ** 2, y.shape)
    ok = np.all(np.isfinite(preds), axis=1)
    if ok.sum() < 2:
        raise TwinStatError("the model gives no finite predictions for the prior", field="model")
    preds = preds[ok]
    resid = y - preds.mean(axis=0)
    centred = preds - preds.mean(axis=0)
    if y.size <= preds.shape[0]:
        cov = centred.T @ centred / (preds.shape[0] - 1) + np.diag(noise_var)
        q = float(resid @ np.linalg.solve(cov, resid))
    else:
        # Woodbury: C = D + A A' with A = centred predictions / sqrt(m-1); never forms C.
        a = centred.T / np.sqrt(preds.shape[0] - 1)
        d_inv = 1.0 / noise_var
        dr = d_inv * resid
        inner = np.eye(a.shape[1]) + a.T @ (d_inv[:, None] * a)
        proj = a.T @ dr
        q = float(resid @ dr - proj @ np.linalg.solve(inner, proj))
    n = y.size
    return {"statistic": q, "dof": float(n), "p_value": float(stats.chi2.sf(q, n))}


def adapt_prior(
    carried: PriorSet,
    widen: Callable[[float], PriorSet],
    base: PriorSet,
    batch: BatchModel,
    y: np.ndarray,
    noise: Noise,
    *,
    alpha: float = 0.01,
    max_widen: float = 16.0,
    settle: float = 0.5,
    seed: int = 0,
) -> tuple[PriorSet, dict[str, Any]]:
    """The prior for this update and a report of the check (see the module doc for the rule)."""
    rng = np.random.default_rng(seed)
    first = predictive_check(carried, batch, y, noise, rng)
    info: dict[str, Any] = {"alpha": alpha, "check": first, "changed": False, "widen": 1.0}
    if first["p_value"] >= alpha:
        return carried, info
    info["changed"] = True
    info["reason"] = f"new data surprising under the previous posterior (p={first['p_value']:.2g})"
    factor = 2.0
    while factor <= max_widen:
        candidate = widen(factor)
        check = predictive_check(candidate, batch, y, noise, rng)
        if check["p_value"] >= settle:
            info.update({"widen": factor, "check_widened": check})
            return candidate, info
        factor *= 2.0
    info.update({"widen": None, "restart": True})
    return base, info
