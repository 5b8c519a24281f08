"""In-process executors of the TwinStat node kinds (see ``project/kinds_twinstat.py``).

Each takes a :class:`~twinflow_studio.engine.task.TaskContext` and returns ``{port: value}``.
Bad input raises :class:`TwinStatError` naming the node and the field at fault.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinflow_studio.engine.task import InputArtifact, TaskContext
from twinflow_studio.project.hashing import hash_path
from twinflow_studio.twinstat import artifacts
from twinflow_studio.twinstat.adaptive import adapt_prior
from twinflow_studio.twinstat.calibration import (
    BatchModel,
    LogPosterior,
    Noise,
    Sampler,
    calibrate,
    predictive,
)
from twinflow_studio.twinstat.data import column_array, read_frame
from twinflow_studio.twinstat.drift import error_metric
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.hybrid import predict_hybrid, simulate, train_hybrid
from twinflow_studio.twinstat.imports import import_callable
from twinflow_studio.twinstat.inductive import predict_frame, resolve_estimator, train_estimator
from twinflow_studio.twinstat.plots import pair_plot, predictive_plot, trace_plot
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import PriorSet, parse_prior, parse_priors, priors_from_samples
from twinflow_studio.twinstat.surrogate import (
    Surrogate,
    design_from_json,
    design_to_json,
    fit_surrogate,
    lhs_design,
    predictions_from_json,
)

Executor = Callable[[TaskContext], dict[str, Any]]


def _executor(fn: Executor) -> Executor:
    """Re-raise TwinStat errors with the node id in the message."""

    @functools.wraps(fn)
    def run(ctx: TaskContext) -> dict[str, Any]:
        try:
            return fn(ctx)
        except TwinStatError as exc:
            raise exc.at_node(ctx.node_id) from exc

    return run


def _param(ctx: TaskContext, name: str, default: Any = None) -> Any:
    value = ctx.params.get(name, default)
    return default if value is None else value


def _required(ctx: TaskContext, name: str) -> Any:
    value = ctx.params.get(name)
    if value in (None, "", [], {}):
        raise TwinStatError("is required", field=name)
    return value


def _input(ctx: TaskContext, port: str) -> InputArtifact:
    if port not in ctx.inputs:
        raise TwinStatError("input is not connected", field=port)
    return ctx.inputs[port]


def _frame(ctx: TaskContext, port: str, files: str = "all") -> pd.DataFrame:
    return read_frame(_input(ctx, port).path, field=port, files=files)


def _json(ctx: TaskContext, port: str) -> Any:
    artifact = _input(ctx, port)
    try:
        return json.loads(Path(artifact.path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TwinStatError(f"cannot read JSON: {exc}", field=port) from exc


def _model(ctx: TaskContext, port: str) -> dict[str, Any]:
    artifact = _input(ctx, port)
    return artifacts.load_model(
        artifact.path, artifact.sha256, field=port, producer=artifact.producer
    )


def _unchanged(artifact: InputArtifact) -> bool:
    try:
        return hash_path(Path(artifact.path)) == artifact.sha256
    except OSError:
        return False


def _columns(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise TwinStatError("must be a column name or a list of column names", field=field)


def _int(ctx: TaskContext, name: str, default: int, minimum: int = 0) -> int:
    value = _param(ctx, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TwinStatError(f"must be an integer >= {minimum}, got {value!r}", field=name)
    return value


def _float(ctx: TaskContext, name: str, default: float) -> float:
    value = _param(ctx, name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TwinStatError(f"must be a number, got {value!r}", field=name)
    return float(value)


def _theta(ctx: TaskContext) -> tuple[list[str], np.ndarray]:
    """Simulation parameters in the callable's order: the connected posterior's means (an
    inferred sigma left out), overridden or completed by the node's ``parameters``.

    The order comes from ``parameter_names``, else the posterior; a bare ``parameters``
    mapping cannot fix it (saved projects sort mapping keys), unless it has a single entry."""
    values: dict[str, float] = {}
    order: list[str] = []
    if "posterior" in ctx.inputs:
        post = Posterior.load(ctx.inputs["posterior"].path)
        inferred = post.meta.get("noise", {}).get("inferred") is True
        for name, mean in zip(post.names, post.mean(), strict=True):
            if not (inferred and name == "sigma"):
                values[name] = float(mean)
                order.append(name)
    given = _param(ctx, "parameters", {})
    if not isinstance(given, dict):
        raise TwinStatError("must be a mapping of parameter name to number", field="parameters")
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TwinStatError(f"{name!r} must be a number, got {value!r}", field="parameters")
        values[name] = float(value)
    names = _param(ctx, "parameter_names", [])
    if names:
        names = _columns(names, "parameter_names")
        missing = [n for n in names if n not in values]
        if missing:
            raise TwinStatError(f"no value for {missing}", field="parameters")
    elif order:
        names = order + [n for n in given if n not in order]
    elif len(given) <= 1:
        names = list(given)
    else:
        raise TwinStatError(
            "give 'parameter_names' to fix the order the callable expects", field="parameter_names"
        )
    return names, np.array([values[n] for n in names], dtype=float)


# ---- inductive -----------------------------------------------------------------------


@_executor
def run_sklearn_train(ctx: TaskContext) -> dict[str, Any]:
    estimator = resolve_estimator(_required(ctx, "estimator"), _param(ctx, "estimator_params", {}))
    frame = _frame(ctx, "data")
    result = train_estimator(
        frame,
        estimator,
        _columns(_required(ctx, "features"), "features"),
        _required(ctx, "target"),
        _float(ctx, "validation_fraction", 0.2),
        _int(ctx, "seed", 0),
    )
    path = artifacts.save_model(
        {
            "kind": "sklearn",
            "estimator": result.estimator,
            "estimator_path": ctx.params["estimator"],
            "features": result.features,
            "target": result.target,
        },
        ctx.output_dir / "model.skops",
    )
    ctx.metrics.update(result.metrics)
    ctx.log(
        f"trained {type(result.estimator).__name__}: "
        + ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
    )
    return {"model": path, "metrics": result.metrics}


@_executor
def run_sklearn_predict(ctx: TaskContext) -> dict[str, Any]:
    payload = _model(ctx, "model")
    frame = _frame(ctx, "data")
    column = _param(ctx, "column", "prediction")
    if payload.get("kind") == "sklearn":
        out = predict_frame(payload["estimator"], payload["features"], frame, column)
    elif payload.get("kind") == "hybrid":
        out = frame.copy()
        out[column] = predict_hybrid(payload, import_callable(payload["callable"], "model"), frame)
    else:
        raise TwinStatError(
            f"cannot predict with a {payload.get('kind')!r} artifact", field="model"
        )
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "predictions.csv"
    out.to_csv(path, index=False)
    return {"predictions": path}


# ---- deductive and hybrid ------------------------------------------------------------


@_executor
def run_simulation(ctx: TaskContext) -> dict[str, Any]:
    fn = import_callable(_required(ctx, "callable"), "callable")
    frame = _frame(ctx, "data")
    _, theta = _theta(ctx)
    out = frame.copy()
    out[_param(ctx, "column", "simulated")] = simulate(
        fn, theta, frame, _columns(_required(ctx, "x_columns"), "x_columns")
    )
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "simulated.csv"
    out.to_csv(path, index=False)
    return {"predictions": path}


@_executor
def run_simulation_batch(ctx: TaskContext) -> dict[str, Any]:
    fn = import_callable(_required(ctx, "callable"), "callable")
    names, points = design_from_json(_json(ctx, "design"))
    x = column_array(
        _frame(ctx, "data"), _columns(_required(ctx, "x_columns"), "x_columns"), "x_columns"
    )
    rows = []
    for i, theta in enumerate(points):
        ctx.check_cancelled()
        rows.append(np.asarray(fn(theta, x), dtype=float).reshape(-1).tolist())
        if (i + 1) % max(1, len(points) // 10) == 0:
            ctx.log(f"simulated {i + 1}/{len(points)} parameter sets")
    ctx.metrics["simulator_calls"] = len(points)
    return {"predictions": {"names": names, "predictions": rows}}


@_executor
def run_hybrid(ctx: TaskContext) -> dict[str, Any]:
    callable_path = _required(ctx, "callable")
    fn = import_callable(callable_path, "callable")
    estimator = resolve_estimator(_required(ctx, "estimator"), _param(ctx, "estimator_params", {}))
    frame = _frame(ctx, "data")
    x_columns = _columns(_required(ctx, "x_columns"), "x_columns")
    features = _columns(_param(ctx, "features", x_columns), "features")
    _, theta = _theta(ctx)
    model, metrics = train_hybrid(
        frame,
        fn,
        theta,
        x_columns,
        _required(ctx, "target"),
        estimator,
        features,
        _float(ctx, "validation_fraction", 0.2),
        _int(ctx, "seed", 0),
    )
    path = artifacts.save_model(
        {
            "kind": "hybrid",
            "callable": callable_path,
            "theta": theta.tolist(),
            "x_columns": x_columns,
            "features": features,
            "estimator": model,
        },
        ctx.output_dir / "hybrid.skops",
    )
    ctx.metrics.update(metrics)
    return {"model": path, "metrics": metrics}


# ---- surrogate -----------------------------------------------------------------------


@_executor
def run_lhs_design(ctx: TaskContext) -> dict[str, Any]:
    priors = parse_priors(_required(ctx, "priors"))
    points = lhs_design(
        priors, _int(ctx, "n_points", 60, 2), _int(ctx, "seed", 0), _float(ctx, "coverage", 0.998)
    )
    ctx.log(f"Latin-hypercube design: {len(points)} points over {priors.names}")
    return {"design": design_to_json(priors.names, points)}


@_executor
def run_surrogate(ctx: TaskContext) -> dict[str, Any]:
    names, points = design_from_json(_json(ctx, "design"))
    outputs = predictions_from_json(_json(ctx, "predictions"), len(points))
    surrogate = fit_surrogate(
        names, points, outputs, _float(ctx, "validation_fraction", 0.2), _int(ctx, "seed", 0)
    )
    path = artifacts.save_model(surrogate.to_payload(), ctx.output_dir / "surrogate.skops")
    metrics = {"n_design": len(points), "n_outputs": surrogate.n_outputs, **surrogate.validation}
    ctx.metrics.update(metrics)
    ctx.log("surrogate validation: " + json.dumps(surrogate.validation))
    return {"surrogate": path, "metrics": metrics}


# ---- calibration ---------------------------------------------------------------------


def _noise(spec: Any, frame: pd.DataFrame) -> Noise:
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        spec = {"sigma": spec}
    if not isinstance(spec, dict) or not spec:
        raise TwinStatError(
            "give {'sigma': number}, {'sigma_column': name} or {'prior': {...}}", field="noise"
        )
    if "prior" in spec:
        return Noise(prior=parse_prior("sigma", spec["prior"], "noise"))
    if "sigma_column" in spec:
        return Noise(sigma=column_array(frame, spec["sigma_column"], "noise.sigma_column"))
    sigma = spec.get("sigma")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise TwinStatError(f"sigma must be a number > 0, got {sigma!r}", field="noise.sigma")
    return Noise(sigma=float(sigma))


def _with_noise(priors: PriorSet, noise: Noise) -> PriorSet:
    if noise.prior is None:
        return priors
    if "sigma" in priors.names:
        raise TwinStatError("'sigma' is reserved for the inferred noise", field="priors")
    return PriorSet([*priors.priors, noise.prior])


def _adaptive_settings(spec: dict[str, Any]) -> dict[str, float] | None:
    """``sequential.adaptive``: true (defaults), false, or {alpha, max_widen, settle}."""
    value = spec.get("adaptive", True)
    if value is False:
        return None
    settings = {"alpha": 0.01, "max_widen": 16.0, "settle": 0.5}
    if value is True:
        return settings
    if not isinstance(value, dict) or set(value) - set(settings):
        raise TwinStatError(
            f"must be true, false or a mapping with keys {sorted(settings)}",
            field="sequential.adaptive",
        )
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise TwinStatError(f"{key!r} must be a number", field="sequential.adaptive")
        settings[key] = float(number)
    if not (0 < settings["alpha"] < 1 and 0 < settings["settle"] < 1):
        raise TwinStatError("alpha and settle must lie in (0, 1)", field="sequential.adaptive")
    if settings["max_widen"] < 2:
        raise TwinStatError("max_widen must be at least 2", field="sequential.adaptive")
    return settings


def _sequential_prior(
    ctx: TaskContext, base: PriorSet, data_sha: str
) -> tuple[PriorSet, dict[str, Any], Any]:
    """The prior for this run: the previous posterior (explicit ``prior`` input, else this
    node's last output) fitted by the configured approximation, or the base priors; and a
    function widening that fit by a factor (None when there is no previous posterior)."""
    spec = _param(ctx, "sequential", {"mode": "mvn"})
    if not isinstance(spec, dict):
        raise TwinStatError(
            "must be a mapping like {'mode': 'mvn', 'inflate': 1.0}", field="sequential"
        )
    mode = spec.get("mode", "mvn")
    if mode == "off":
        return base, {"source": "priors"}, None
    inflate = spec.get("inflate", 1.0)
    if isinstance(inflate, bool) or not isinstance(inflate, (int, float)) or inflate <= 0:
        raise TwinStatError("'inflate' must be a number > 0", field="sequential")
    source = "prior" if "prior" in ctx.inputs else "previous"
    artifact = ctx.inputs.get("prior") or ctx.previous_outputs.get("posterior")
    if artifact is None:
        return base, {"source": "priors"}, None
    if source == "previous" and not _unchanged(artifact):
        # This node's last output is not a cache hit the engine verified: check it here.
        ctx.log("the previous posterior changed on disk since it was stored: starting from priors")
        return base, {"source": "priors", "reason": "previous posterior changed on disk"}, None
    previous = Posterior.load(artifact.path, field_name=source)
    if previous.names != base.names:
        ctx.log(
            f"previous posterior has parameters {previous.names}, priors have "
            f"{base.names}: starting from the priors"
        )
        return base, {"source": "priors", "reason": "parameters changed"}, None
    if source == "previous" and previous.meta.get("data_sha256") == data_sha:
        # Same data again (e.g. only sampler settings changed): reusing the posterior as the
        # prior would count the data twice.
        return base, {"source": "priors", "reason": "same data as the previous posterior"}, None
    ctx.log(f"sequential update: prior from the {source} posterior ({mode}, inflate {inflate})")
    updated = priors_from_samples(base, previous.samples, mode, float(inflate))

    def widen(factor: float) -> PriorSet:
        return priors_from_samples(base, previous.samples, mode, float(inflate) * factor)

    info = {
        "source": source,
        "mode": mode,
        "inflate": inflate,
        "previous_data_sha256": previous.meta.get("data_sha256"),
    }
    return updated, info, widen


def _observed_vs_predicted(
    x: np.ndarray, y: np.ndarray, bands: dict[str, np.ndarray], label: str, cap: int = 1000
) -> dict[str, Any]:
    """The latest window's observations and predictive bands for the twin status (the last
    ``cap`` points: the status is a glance, the figure has them all)."""
    x2 = np.asarray(x, dtype=float)
    x_first = x2.reshape(len(y), -1)[:, 0] if x2.size else np.arange(len(y), dtype=float)
    keep = slice(max(0, len(y) - cap), len(y))
    return {
        "x_label": label,
        "x": x_first[keep].tolist(),
        "observed": np.asarray(y, dtype=float)[keep].tolist(),
        **{k: np.asarray(bands[k], dtype=float)[keep].tolist() for k in ("q05", "q50", "q95")},
    }


@_executor
def run_calibration(ctx: TaskContext) -> dict[str, Any]:
    base = parse_priors(_required(ctx, "priors"))
    data_files = _param(ctx, "data_files", "latest")
    frame = _frame(ctx, "data", files=data_files)
    y_column = _required(ctx, "y_column")
    y = column_array(frame, y_column, "y_column")
    noise = _noise(_required(ctx, "noise"), frame)
    full_base = _with_noise(base, noise)
    data_sha = _input(ctx, "data").sha256
    full, seq_info, widen = _sequential_prior(ctx, full_base, data_sha)

    model_path = _param(ctx, "model", "")
    x_columns = _param(ctx, "x_columns", [])
    x = column_array(frame, _columns(x_columns, "x_columns"), "x_columns") if x_columns else None
    fn: Callable[..., Any]  # the model f(theta, x): a surrogate, an FMU or a user callable
    if "surrogate" in ctx.inputs:
        surrogate = Surrogate.from_payload(_model(ctx, "surrogate"))
        missing = sorted(set(surrogate.names) - set(base.names))
        if missing or len(surrogate.names) != base.ndim:
            raise TwinStatError(
                f"surrogate parameters {surrogate.names} do not match priors {base.names}",
                field="priors",
            )
        if surrogate.n_outputs != len(y):
            raise TwinStatError(
                f"surrogate predicts {surrogate.n_outputs} outputs but the data has {len(y)} rows",
                field="surrogate",
            )
        order = [base.names.index(n) for n in surrogate.names]

        def predict(theta: np.ndarray, _x: Any) -> np.ndarray:
            return surrogate.predict(np.atleast_2d(theta)[:, order])

        predict.vectorized = True  # type: ignore[attr-defined]
        fn = predict
        model_desc = "surrogate"
    elif "fmu" in ctx.inputs:
        from twinflow_studio.twinstat.fmu import calibration_model

        if x is None:
            raise TwinStatError("name the time column (then the FMU inputs)", field="x_columns")
        fn = calibration_model(ctx.inputs["fmu"], _param(ctx, "fmu", {}), base.names)
        model_desc = f"fmu:{ctx.inputs['fmu'].sha256[:12]}"
    elif model_path:
        fn = import_callable(model_path, "model")
        model_desc = model_path
        if x is None:
            raise TwinStatError("name the model's input column(s)", field="x_columns")
    else:
        raise TwinStatError("give a model callable or connect a surrogate", field="model")

    vectorize_param = _param(ctx, "vectorize", "auto")
    vectorize = None if vectorize_param == "auto" else bool(vectorize_param)
    seed = _int(ctx, "seed", 0)
    batch = BatchModel(fn, x if x is not None else np.empty(0), len(y), vectorize)

    adaptive = _adaptive_settings(_param(ctx, "sequential", {}) or {})
    if widen is not None and adaptive is not None:
        check_model = batch if vectorize is not None else BatchModel(fn, batch.x, len(y))
        if vectorize is None:
            check_model.probe(full.sample(np.random.default_rng(seed), 2)[:, : base.ndim])
        full, check = adapt_prior(
            full, widen, full_base, check_model, y, noise, seed=seed, **adaptive
        )
        seq_info["adaptive"] = check
        ctx.metrics["predictive_p_value"] = check["check"]["p_value"]
        ctx.metrics["system_changed"] = check["changed"]
        if check["changed"]:
            how = (
                "restarting from the base priors"
                if check.get("restart")
                else (f"prior widened {check['widen']:g}x")
            )
            ctx.log(f"adaptive recalibration: {check['reason']}; {how}")

    def progress(done: int, total: int) -> None:
        ctx.check_cancelled()
        ctx.log(f"sampling: step {done}/{total}")

    # The node's params map one to one onto the log-posterior and the sampler settings.
    sampler = Sampler(
        n_walkers=_int(ctx, "n_walkers", 32, 2),
        n_steps=_int(ctx, "n_steps", 2000, 2),
        burn=ctx.params.get("burn"),
        thin=_int(ctx, "thin", 1, 1),
        start=_param(ctx, "start", "prior"),
        seed=seed,
    )
    # ``full`` is the joint prior (sigma last when inferred), possibly carried over.
    posterior = calibrate(LogPosterior(full, batch, y, noise), sampler, progress)
    posterior.meta.update(
        {
            "model": model_desc,
            "data_sha256": data_sha,
            "prior_source": seq_info,
            "base_prior": full_base.to_spec(),
        }
    )
    if "surrogate" in ctx.inputs:
        # The GP extrapolates poorly: say how much posterior mass lies outside its design.
        cols = posterior.samples[:, order]
        outside = ~np.all((cols >= surrogate.low) & (cols <= surrogate.high), axis=1)
        fraction = float(outside.mean())
        posterior.diagnostics["surrogate_outside_design_fraction"] = fraction
        posterior.diagnostics["surrogate_validation"] = surrogate.validation
        if fraction > 0.01:
            posterior.diagnostics["warnings"].append(
                f"{fraction:.1%} of the posterior lies outside the surrogate's design box; "
                "widen the design or rerun it over the posterior"
            )
    ctx.check_cancelled()
    path = posterior.save(ctx.output_dir / "posterior.npz")
    summary = posterior.summary()
    summary["prior_source"] = seq_info
    for w in posterior.diagnostics["warnings"]:
        ctx.log(f"WARNING: {w}")

    figures = ctx.output_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    eval_model = BatchModel(fn, batch.x, len(y), batch.vectorized)
    bands = predictive(posterior, eval_model, base.ndim, seed=seed)
    label = ", ".join(_columns(x_columns, "x_columns")) if x_columns else "observation"
    x_plot = x if x is not None else np.arange(len(y))
    summary["predictive"] = _observed_vs_predicted(x_plot, y, bands, label)
    if _param(ctx, "figures", True):
        trace_plot(posterior, figures / "trace.png")
        pair_plot(posterior, figures / "pair.png", seed=seed)
        predictive_plot(x_plot, y, bands, figures / "predictive.png", label)
    d = posterior.diagnostics
    if "surrogate" in ctx.inputs:
        ctx.metrics["surrogate_validation_rmse"] = surrogate.validation.get("validation_rmse")
    ctx.metrics.update(
        {
            **{f"{n}_mean": p["mean"] for n, p in summary["parameters"].items()},
            **{f"{n}_sd": p["sd"] for n, p in summary["parameters"].items()},
            "autocorr_time_max": d["autocorr_time_max"],
            "acceptance_fraction": d["acceptance_fraction_mean"],
            "ess_min": d["effective_sample_size_min"],
            "trustworthy": d["trustworthy"],
            "model_evaluations": d["model_evaluations"],
        }
    )
    return {"posterior": path, "summary": summary, "figures": figures}


# ---- drift ---------------------------------------------------------------------------


@_executor
def run_drift_check(ctx: TaskContext) -> dict[str, Any]:
    """Prediction error of the current twin on (new) data, compared with a threshold."""
    frame = _frame(ctx, "data", files=_param(ctx, "data_files", "latest"))
    y = column_array(frame, _required(ctx, "y_column"), "y_column")
    if "model" in ctx.inputs:
        payload = _model(ctx, "model")
        if payload.get("kind") == "sklearn":
            predicted = predict_frame(payload["estimator"], payload["features"], frame, "__p__")[
                "__p__"
            ].to_numpy()
        elif payload.get("kind") == "hybrid":
            predicted = predict_hybrid(
                payload, import_callable(payload["callable"], "model"), frame
            )
        else:
            raise TwinStatError(
                f"cannot check drift with a {payload.get('kind')!r} artifact", field="model"
            )
    elif "posterior" in ctx.inputs:
        fn = import_callable(_required(ctx, "callable"), "callable")
        _, theta = _theta(ctx)
        predicted = simulate(fn, theta, frame, _columns(_required(ctx, "x_columns"), "x_columns"))
    else:
        raise TwinStatError("connect a model or a posterior (with a callable)", field="model")
    metric = _param(ctx, "metric", "rmse")
    threshold = _float(ctx, "threshold", float("inf"))
    value = error_metric(y, predicted, metric)
    drifted = bool(abs(value) > threshold)
    report = {
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "drifted": drifted,
        "n_rows": int(len(y)),
    }
    ctx.metrics.update({f"drift_{metric}": value, "drifted": drifted})
    ctx.log(
        f"drift check: {metric}={value:.4g} (threshold {threshold:.4g}) -> "
        f"{'DRIFTED' if drifted else 'ok'}"
    )
    return {"report": report}
