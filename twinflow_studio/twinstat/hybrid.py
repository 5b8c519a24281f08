"""Hybrid models: a simulation (deductive) plus a learned correction of its residuals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from twinflow_studio.twinstat.data import column_array
from twinflow_studio.twinstat.inductive import regression_metrics, train_estimator

SimFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def simulate(
    fn: SimFn, theta: np.ndarray, frame: pd.DataFrame, x_columns: Sequence[str]
) -> np.ndarray:
    x = column_array(frame, list(x_columns), "x_columns")
    out = np.asarray(fn(np.asarray(theta, dtype=float), x), dtype=float).reshape(-1)
    if out.shape[0] != len(frame):
        from twinflow_studio.twinstat.errors import TwinStatError

        raise TwinStatError(
            f"the simulation returned {out.shape[0]} values for {len(frame)} rows", field="callable"
        )
    return out


def train_hybrid(
    frame: pd.DataFrame,
    fn: SimFn,
    theta: np.ndarray,
    x_columns: Sequence[str],
    target: str,
    estimator: BaseEstimator,
    features: Sequence[str],
    validation_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[BaseEstimator, dict[str, float]]:
    """Fit ``estimator`` to ``target - simulation`` on ``features``; metrics compare the
    simulation alone with simulation + correction."""
    sim = simulate(fn, theta, frame, x_columns)
    y = column_array(frame, target, "target")
    work = frame.copy()
    work["__residual__"] = y - sim
    result = train_estimator(
        work, clone(estimator), features, "__residual__", validation_fraction, seed
    )
    corrected = sim + result.estimator.predict(frame[list(features)].to_numpy(dtype=float))
    metrics = {f"simulation_{k}": v for k, v in regression_metrics(y, sim).items()}
    metrics.update({f"hybrid_{k}": v for k, v in regression_metrics(y, corrected).items()})
    metrics.update({f"residual_{k}": v for k, v in result.metrics.items() if k != "n_rows"})
    return result.estimator, metrics


def predict_hybrid(payload: dict[str, Any], fn: SimFn, frame: pd.DataFrame) -> np.ndarray:
    sim = simulate(fn, np.asarray(payload["theta"]), frame, payload["x_columns"])
    features = list(payload["features"])
    return sim + payload["estimator"].predict(frame[features].to_numpy(dtype=float))
