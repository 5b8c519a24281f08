"""Prediction-error metrics used to decide whether a twin has drifted from its system."""

from __future__ import annotations

import numpy as np

from twinflow_studio.twinstat.errors import TwinStatError

METRICS = ("rmse", "mae", "mape", "bias")


def error_metric(observed: np.ndarray, predicted: np.ndarray, metric: str = "rmse") -> float:
    obs = np.asarray(observed, dtype=float).reshape(-1)
    pred = np.asarray(predicted, dtype=float).reshape(-1)
    if obs.shape != pred.shape or obs.size == 0:
        raise TwinStatError(f"need matching non-empty arrays, got {obs.shape} and {pred.shape}")
    err = pred - obs
    if metric == "rmse":
        return float(np.sqrt(np.mean(err**2)))
    if metric == "mae":
        return float(np.mean(np.abs(err)))
    if metric == "mape":
        with np.errstate(divide="ignore"):
            return float(np.mean(np.abs(err / obs)) * 100.0)
    if metric == "bias":
        return float(np.mean(err))
    raise TwinStatError(f"unknown metric {metric!r}; use one of {list(METRICS)}", field="metric")
