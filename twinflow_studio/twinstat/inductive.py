"""Inductive models: any scikit-learn estimator, named by import path, trained on a table."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

from twinflow_studio.twinstat.data import column_array, require_columns
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.imports import import_object


def resolve_estimator(
    path: str, params: Mapping[str, Any] | None = None, field: str = "estimator"
) -> BaseEstimator:
    """An unfitted estimator from an import path. Only scikit-learn estimator classes
    (subclasses of ``sklearn.base.BaseEstimator``) are allowed: a node parameter must not be
    a way to call arbitrary code."""
    obj = import_object(path, field)
    if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
        raise TwinStatError(
            f"{path!r} is not a scikit-learn estimator class (a subclass of "
            "sklearn.base.BaseEstimator)",
            field=field,
        )
    params = dict(params or {})
    estimator: Any = obj() if _constructible(obj) else None
    valid: dict[str, Any] = estimator.get_params(deep=False) if estimator is not None else {}
    unknown = sorted(set(params) - set(valid)) if valid else []
    if unknown:
        raise TwinStatError(
            f"{obj.__name__} has no parameter(s) {unknown}; it takes {sorted(valid)}",
            field="estimator_params",
        )
    try:
        return obj(**params)
    except (TypeError, ValueError) as exc:
        raise TwinStatError(
            f"cannot build {obj.__name__}: {exc}", field="estimator_params"
        ) from exc


def _constructible(cls: type) -> bool:
    try:
        cls()
    except Exception:  # estimators with required arguments (e.g. meta-estimators)
        return False
    return True


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
    }


@dataclass
class TrainResult:
    estimator: BaseEstimator
    features: list[str]
    target: str
    metrics: dict[str, float]


def train_estimator(
    frame: pd.DataFrame,
    estimator: BaseEstimator,
    features: Sequence[str],
    target: str,
    validation_fraction: float = 0.2,
    seed: int = 0,
) -> TrainResult:
    """Fit on a train split, report R² and RMSE on train and held-out validation rows."""
    features = [features] if isinstance(features, str) else list(features)
    if not features:
        raise TwinStatError("name at least one feature column", field="features")
    if not isinstance(target, str) or not target:
        raise TwinStatError("name the target column", field="target")
    require_columns(frame, features, "features")
    require_columns(frame, [target], "target")
    if not 0.0 <= validation_fraction < 1.0:
        raise TwinStatError("must be in [0, 1)", field="validation_fraction")
    x = frame[features].to_numpy(dtype=float)
    y = column_array(frame, target, "target")
    model = clone(estimator)
    if "random_state" in model.get_params() and model.get_params()["random_state"] is None:
        model.set_params(random_state=seed)
    metrics: dict[str, float] = {"n_rows": float(len(y))}
    if validation_fraction > 0 and len(y) >= 5:
        x_tr, x_va, y_tr, y_va = train_test_split(
            x, y, test_size=validation_fraction, random_state=seed
        )
    else:
        x_tr, y_tr, x_va, y_va = x, y, x[:0], y[:0]
    model.fit(x_tr, y_tr)
    for key, value in regression_metrics(y_tr, model.predict(x_tr)).items():
        metrics[f"train_{key}"] = value
    if len(y_va):
        for key, value in regression_metrics(y_va, model.predict(x_va)).items():
            metrics[f"validation_{key}"] = value
    return TrainResult(model, features, target, metrics)


def predict_frame(
    estimator: BaseEstimator, features: Sequence[str], frame: pd.DataFrame, column: str
) -> pd.DataFrame:
    """``frame`` with a column of predictions added (the input frame is not changed)."""
    require_columns(frame, features, "data")
    out = frame.copy()
    x = frame[list(features)].astype(float)
    # An estimator fitted on a DataFrame (e.g. exported from a container) checks the names.
    out[column] = estimator.predict(x if hasattr(estimator, "feature_names_in_") else x.to_numpy())
    return out
