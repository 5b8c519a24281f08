"""Gaussian-process surrogates of expensive simulators over a Latin-hypercube design.

The surrogate maps a parameter vector to the simulator's outputs at the observation points
(one GP per output, sharing one kernel), so MCMC can run on it instead of the simulator.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import PriorSet


def lhs_design(priors: PriorSet, n: int, seed: int = 0, coverage: float = 0.998) -> np.ndarray:
    """``n`` Latin-hypercube points (n, ndim) laid out through the priors' quantiles; the tails
    beyond ``coverage`` are left out so unbounded priors still give finite points."""
    if n < 2:
        raise TwinStatError("a design needs at least 2 points", field="n_points")
    if not 0 < coverage <= 1:
        raise TwinStatError("coverage must be in (0, 1]", field="coverage")
    unit = qmc.LatinHypercube(d=priors.ndim, seed=seed).random(n)
    tail = (1.0 - coverage) / 2.0
    points = priors.ppf(tail + unit * (1.0 - 2.0 * tail))
    if not np.isfinite(points).all():
        raise TwinStatError(
            "the design reaches an infinite prior tail; lower coverage", field="coverage"
        )
    return points


def design_to_json(names: Sequence[str], points: np.ndarray) -> dict[str, Any]:
    """``{"names": [...], "sets": [{name: value}, ...]}``: the names list fixes the parameter
    order (JSON artifacts are stored with sorted keys, so dict order would be lost)."""
    return {
        "names": list(names),
        "sets": [dict(zip(names, map(float, row), strict=False)) for row in points],
    }


def design_from_json(design: Any, field_name: str = "design") -> tuple[list[str], np.ndarray]:
    """Names and points (n_sets, n_params) from :func:`design_to_json` output, or from a bare
    list of parameter dicts (then in the first set's key order)."""
    names: list[str] | None = None
    if isinstance(design, dict):
        names = design.get("names")
        design = design.get("sets")
    if not isinstance(design, list) or not design or not all(isinstance(d, dict) for d in design):
        raise TwinStatError(
            "the design must be a non-empty list of parameter dicts", field=field_name
        )
    if names is None:
        names = list(design[0])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TwinStatError("'names' must be a list of parameter names", field=field_name)
    for i, entry in enumerate(design):
        if set(entry) != set(names):
            raise TwinStatError(
                f"parameter set {i} has keys {sorted(entry)}, expected {sorted(names)}",
                field=field_name,
            )
    try:
        points = np.array([[float(d[n]) for n in names] for d in design])
    except (TypeError, ValueError) as exc:
        raise TwinStatError(f"non-numeric parameter value: {exc}", field=field_name) from None
    return list(names), points


def predictions_from_json(value: Any, n_sets: int, field_name: str = "predictions") -> np.ndarray:
    """(n_sets, n_outputs) from a list of lists or ``{"predictions": [...]}``."""
    if isinstance(value, dict):
        value = value.get("predictions")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TwinStatError(f"predictions are not numeric: {exc}", field=field_name) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_sets:
        raise TwinStatError(
            f"expected one row of predictions per parameter set ({n_sets}), got shape {arr.shape}",
            field=field_name,
        )
    if not np.isfinite(arr).all():
        raise TwinStatError("predictions contain NaN or infinity", field=field_name)
    return arr


@dataclass
class Surrogate:
    names: list[str]
    gp: GaussianProcessRegressor
    low: np.ndarray
    high: np.ndarray
    n_outputs: int
    validation: dict[str, Any] = field(default_factory=dict)

    vectorized = True

    def _unit(self, theta: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(theta) - self.low) / (self.high - self.low)

    def predict(self, theta: np.ndarray) -> np.ndarray:
        out = self.gp.predict(self._unit(theta))
        return np.asarray(out, dtype=float).reshape(-1, self.n_outputs)

    def __call__(self, theta: np.ndarray, x: Any = None) -> np.ndarray:
        return self.predict(theta)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": "surrogate",
            "names": self.names,
            "gp": self.gp,
            "low": self.low,
            "high": self.high,
            "n_outputs": self.n_outputs,
            "validation": self.validation,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any], field_name: str = "surrogate") -> Surrogate:
        if payload.get("kind") != "surrogate":
            raise TwinStatError("the model artifact is not a surrogate", field=field_name)
        return cls(
            names=list(payload["names"]),
            gp=payload["gp"],
            low=np.asarray(payload["low"]),
            high=np.asarray(payload["high"]),
            n_outputs=int(payload["n_outputs"]),
            validation=dict(payload.get("validation", {})),
        )


def _new_gp(ndim: int, seed: int, optimize: bool = True) -> GaussianProcessRegressor:
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(
        length_scale=np.full(ndim, 0.3), length_scale_bounds=(1e-2, 1e2)
    ) + WhiteKernel(1e-6, (1e-10, 1e-1))
    return GaussianProcessRegressor(
        kernel=kernel,
        normalize_y=True,
        n_restarts_optimizer=2 if optimize else 0,
        random_state=seed,
    )


def fit_surrogate(
    names: Sequence[str],
    points: np.ndarray,
    outputs: np.ndarray,
    validation_fraction: float = 0.2,
    seed: int = 0,
) -> Surrogate:
    """Fit on a training part of the design, measure error on the held-out part, then refit
    the kernel found on all points (no re-optimisation) for use."""
    points = np.asarray(points, dtype=float)
    outputs = np.asarray(outputs, dtype=float)
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    n = points.shape[0]
    if not 0 <= validation_fraction < 1:
        raise TwinStatError("must be in [0, 1)", field="validation_fraction")
    low, high = points.min(axis=0), points.max(axis=0)
    if np.any(high <= low):
        raise TwinStatError("every parameter must vary across the design", field="design")
    unit = (points - low) / (high - low)
    rng = np.random.default_rng(seed)
    n_val = int(round(n * validation_fraction))
    order = rng.permutation(n)
    val, train = order[:n_val], order[n_val:]
    if len(train) < 3:
        raise TwinStatError("too few design points to fit a surrogate", field="design")
    gp = _new_gp(points.shape[1], seed)
    with warnings.catch_warnings():
        # A deterministic simulator drives the white-noise term to its lower bound; expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(unit[train], outputs[train])
    validation: dict[str, Any] = {"n_train": int(len(train)), "n_validation": int(n_val)}
    if n_val:
        pred = np.asarray(gp.predict(unit[val])).reshape(n_val, -1)
        err = pred - outputs[val]
        rmse = float(np.sqrt(np.mean(err**2)))
        spread = float(np.std(outputs))
        validation.update(
            {
                "validation_rmse": rmse,
                "validation_nrmse": rmse / spread if spread > 0 else float("nan"),
                "validation_max_abs_error": float(np.max(np.abs(err))),
            }
        )
    final = GaussianProcessRegressor(
        kernel=gp.kernel_, normalize_y=True, optimizer=None, random_state=seed
    )
    final.fit(unit, outputs)
    return Surrogate(list(names), final, low, high, outputs.shape[1], validation)
