"""The ``state_estimation`` node: Kalman, unscented Kalman and particle filters over a time
series, continued run after run from the filter state the last successful run left.

The filter state travels inside the node's posterior artifact (``extras``), so nothing but
the run store holds it, and the posterior itself is an ordinary one that simulation, drift
check and calibration (as a prior) read like emcee's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from twinflow_studio.engine.dataframes import write_dataframe
from twinflow_studio.engine.task import TaskContext
from twinflow_studio.project.hashing import hash_value
from twinflow_studio.twinstat.data import column_array, read_frame, require_columns
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.filters import (
    METHODS,
    Checkpoint,
    FilterResult,
    FilterSetup,
    run_filter,
    systematic_resample,
)
from twinflow_studio.twinstat.imports import import_callable
from twinflow_studio.twinstat.nodes import _columns, _executor, _frame, _int, _param, _required
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import PriorSet, parse_priors

# The parameters that define the filter: a change to any of them starts it over.
_CONFIG_KEYS = (
    "method",
    "time_column",
    "y_columns",
    "states",
    "parameters",
    "transition",
    "measurement",
    "F",
    "H",
    "process_noise",
    "measurement_noise",
    "n_particles",
    "resample_threshold",
    "sigma_points",
    "seed",
)


def _matrix(value: Any, rows: int, cols: int, field: str) -> np.ndarray:
    try:
        out = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise TwinStatError(f"must be a {rows}x{cols} matrix of numbers", field=field) from None
    if out.shape != (rows, cols) or not np.isfinite(out).all():
        raise TwinStatError(
            f"must be a {rows}x{cols} matrix of finite numbers, got shape {out.shape}",
            field=field,
        )
    return out


def _noise_matrix(value: Any, names: list[str], field: str, allow_scalar: bool) -> np.ndarray:
    """A covariance from a mapping name -> standard deviation (others 0), one standard
    deviation for all, or a full covariance matrix."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise TwinStatError(f"unknown name(s) {unknown}; known: {names}", field=field)
        sd = np.zeros(n)
        for i, name in enumerate(names):
            v = value.get(name, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise TwinStatError(f"{name!r} must be a number >= 0, got {v!r}", field=field)
            sd[i] = float(v)
        return np.diag(sd**2)
    if allow_scalar and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not value > 0:
            raise TwinStatError(f"must be > 0, got {value!r}", field=field)
        return np.eye(n) * float(value) ** 2
    if isinstance(value, list):
        cov = _matrix(value, n, n, field)
        if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12:
            raise TwinStatError("must be a symmetric positive semi-definite matrix", field=field)
        return cov
    raise TwinStatError(
        f"give a mapping name -> standard deviation over {names}"
        + (", one number," if allow_scalar else "")
        + " or a covariance matrix",
        field=field,
    )


def _observe_first(m: int) -> Any:
    def hx(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float)[..., :m]

    hx.vectorized = True  # type: ignore[attr-defined]
    hx.observes_first = m  # type: ignore[attr-defined]  # lets the UKF slice, not call
    return hx


def _setup(ctx: TaskContext) -> FilterSetup:
    method = _param(ctx, "method", "ukf")
    if method not in METHODS:
        raise TwinStatError(
            f"unknown method {method!r}; use one of {list(METHODS)}", field="method"
        )
    states = parse_priors(_required(ctx, "states"), "states")
    params_spec = _param(ctx, "parameters", [])
    params = parse_priors(params_spec, "parameters") if params_spec else None
    init = PriorSet([*states.priors, *(params.priors if params else [])])
    y_names = _columns(_required(ctx, "y_columns"), "y_columns")
    names = init.names
    n, m = len(names), len(y_names)
    q = _noise_matrix(_param(ctx, "process_noise", {}), names, "process_noise", False)
    r = _noise_matrix(_required(ctx, "measurement_noise"), y_names, "measurement_noise", True)
    if np.linalg.eigvalsh(r).min() <= 0:
        raise TwinStatError("every measurement needs noise > 0", field="measurement_noise")
    setup = FilterSetup(
        method=method,
        state_names=states.names,
        param_names=params.names if params else [],
        y_names=y_names,
        init=init,
        q=q,
        r=r,
        seed=_int(ctx, "seed", 0),
    )
    if method == "kf":
        setup.F = _matrix(_required(ctx, "F"), n, n, "F")
        setup.H = _matrix(_required(ctx, "H"), m, n, "H")
        return setup
    setup.fx = import_callable(_required(ctx, "transition"), "transition")
    measurement = _param(ctx, "measurement", "")
    if measurement:
        setup.hx = import_callable(measurement, "measurement")
    elif m > len(states.names):
        raise TwinStatError(
            f"{m} measured columns but only {len(states.names)} states: give a measurement",
            field="measurement",
        )
    else:
        setup.hx = _observe_first(m)
    setup.n_particles = _int(ctx, "n_particles", 1000, 10)
    threshold = _param(ctx, "resample_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TwinStatError("must be a number in (0, 1]", field="resample_threshold")
    if not 0 < threshold <= 1:
        raise TwinStatError("must be a number in (0, 1]", field="resample_threshold")
    setup.resample_threshold = float(threshold)
    sigma = _param(ctx, "sigma_points", {})
    if not isinstance(sigma, dict) or set(sigma) - {"alpha", "beta", "kappa"}:
        raise TwinStatError("a mapping with alpha, beta, kappa", field="sigma_points")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in sigma.values()):
        raise TwinStatError("alpha, beta and kappa must be numbers", field="sigma_points")
    setup.sigma_points = {k: float(v) for k, v in sigma.items()}
    return setup


def _fits(ex: dict[str, np.ndarray], n: int) -> bool:
    """Whether checkpoint arrays (read back from the run store) have this filter's shapes."""
    ok = ex["mean"].shape == (n,) and ex["cov"].shape == (n, n)
    if "particles" in ex or "weights" in ex:
        p, w = ex.get("particles"), ex.get("weights")
        if p is None or w is None:
            return False
        ok = ok and p.ndim == 2 and p.shape[1] == n
        ok = ok and w.shape == (p.shape[0],) and bool(np.isfinite(w).all()) and w.sum() > 0
    return ok and all(np.isfinite(a).all() for a in ex.values())


def _resume(
    ctx: TaskContext, config: str, incremental: bool, n: int
) -> tuple[Checkpoint | None, pd.DataFrame | None]:
    """The checkpoint and estimates of this node's last successful run, when they were made
    with the same settings."""
    artifact = ctx.previous_outputs.get("posterior")
    if not incremental or artifact is None:
        return None, None
    try:
        previous = Posterior.load(artifact.path, field_name="posterior")
    except TwinStatError as exc:
        ctx.log(f"previous filter state unreadable ({exc.reason}): starting over")
        return None, None
    info = previous.meta.get("filter")
    ex = previous.extras
    if not isinstance(info, dict) or "mean" not in ex or "cov" not in ex:
        ctx.log("the previous posterior holds no filter state: starting over")
        return None, None
    if info.get("config") != config or not isinstance(info.get("t"), (int, float)):
        ctx.log("filter settings changed since the last run: starting over")
        return None, None
    steps = info.get("steps")
    if not _fits(ex, n) or isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        ctx.log("the previous filter state does not fit this filter: starting over")
        return None, None
    start = Checkpoint(
        t=float(info["t"]),
        steps=steps,
        mean=ex["mean"],
        cov=ex["cov"],
        particles=ex.get("particles"),
        weights=ex.get("weights"),
    )
    history = None
    est = ctx.previous_outputs.get("estimates")
    if est is not None:
        try:
            history = read_frame(est.path, field="estimates")
        except TwinStatError:
            history = None
    return start, history


def _estimates_frame(setup: FilterSetup, time_column: str, res: FilterResult) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {time_column: res.times}
    sd = np.sqrt(np.maximum(np.diagonal(res.covs, axis1=1, axis2=2), 0.0))
    for i, name in enumerate(setup.names):
        cols[name] = res.means[:, i]
        cols[f"{name}_sd"] = sd[:, i]
        cols[f"{name}_q05"] = res.q05[:, i]
        cols[f"{name}_q95"] = res.q95[:, i]
    for i, a in enumerate(setup.names):
        for j in range(i + 1, len(setup.names)):
            cols[f"cov_{a}_{setup.names[j]}"] = res.covs[:, i, j]
    return pd.DataFrame(cols)


def _posterior(
    setup: FilterSetup, res: FilterResult, n_draws: int, seed: int
) -> tuple[Posterior, list[int]]:
    """The posterior over the parameters (the states, when nothing else is estimated)."""
    names = setup.param_names or setup.state_names
    idx = [setup.names.index(n) for n in names]
    cp = res.checkpoint
    rng = np.random.default_rng([seed, cp.steps])
    if cp.particles is not None and cp.weights is not None:
        samples = cp.particles[systematic_resample(cp.weights, rng)][:, idx]
        log_prob = np.zeros(samples.shape[0])  # equally weighted draws carry no density
    else:
        mean, cov = cp.mean[idx], cp.cov[np.ix_(idx, idx)]
        cov = 0.5 * (cov + cov.T)
        samples = rng.multivariate_normal(mean, cov, n_draws, method="eigh")
        log_prob = stats.multivariate_normal(mean, cov, allow_singular=True).logpdf(samples)
        log_prob = np.atleast_1d(log_prob)
    history = res.means[:, idx] if len(res.times) else cp.mean[idx][None, :]
    extras = {"mean": cp.mean, "cov": cp.cov}
    if cp.particles is not None and cp.weights is not None:
        extras.update(particles=cp.particles, weights=cp.weights)
    post = Posterior(
        names=list(names),
        samples=np.asarray(samples, dtype=float),
        log_prob=np.asarray(log_prob, dtype=float),
        chain=history[:, None, :],
        extras=extras,
    )
    return post, idx


def _describe(names: list[str], mean: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    sd = np.sqrt(np.maximum(np.diagonal(cov), 0.0))
    return {n: {"mean": float(mean[i]), "sd": float(sd[i])} for i, n in enumerate(names)}


@_executor
def run_state_estimation(ctx: TaskContext) -> dict[str, Any]:
    setup = _setup(ctx)
    time_column = _required(ctx, "time_column")
    frame = _frame(ctx, "data", files=_param(ctx, "data_files", "all"))
    require_columns(frame, [time_column], "time_column")
    require_columns(frame, setup.y_names, "y_columns")
    frame = frame.sort_values(time_column, kind="stable")
    times_all = column_array(frame, time_column, "time_column")
    config = hash_value({k: ctx.params.get(k) for k in _CONFIG_KEYS})
    incremental = bool(_param(ctx, "incremental", True))
    start, history = _resume(ctx, config, incremental, setup.n)
    keep = np.ones(len(frame), dtype=bool) if start is None else times_all > start.t
    skipped = int((~keep).sum())
    rows = frame[keep]
    if start is None and rows.empty:
        raise TwinStatError("the data has no rows", field="data")
    if start is not None:
        ctx.log(
            f"continuing from the filter state at {time_column}={start.t:g} "
            f"({start.steps} rows so far); {len(rows)} new row(s), {skipped} already filtered"
        )
    # Missing measurements are allowed (that row is a prediction only); times are not.
    z = rows[setup.y_names].to_numpy(dtype=float)
    times = rows[time_column].to_numpy(dtype=float)
    if np.isnan(times).any():
        raise TwinStatError("missing times", field="time_column")
    result = run_filter(setup, times, z, start, ctx.check_cancelled)
    cp = result.checkpoint
    estimates = _estimates_frame(setup, time_column, result)
    if history is not None and list(history.columns) == list(estimates.columns):
        estimates = pd.concat([history, estimates], ignore_index=True)
    n_draws = _int(ctx, "n_draws", 2000, 10)
    seed = _int(ctx, "seed", 0)
    post, _ = _posterior(setup, result, n_draws, seed)
    post.diagnostics = {**result.diagnostics, "warnings": []}
    post.meta = {
        "filter": {"method": setup.method, "t": cp.t, "steps": cp.steps, "config": config},
        "model": ctx.params.get("transition") or "linear",
        "prior": (
            parse_priors(ctx.params["parameters"], "parameters").to_spec()
            if setup.param_names
            else setup.init.to_spec()
        ),
        "data_sha256": ctx.inputs["data"].sha256,
        "states": _describe(setup.names, cp.mean, cp.cov),
        "seed": seed,
    }
    path = post.save(ctx.output_dir / "posterior.npz")
    fmt = _param(ctx, "estimates_format", "parquet")
    if fmt not in ("parquet", "csv"):
        raise TwinStatError(f"unknown format {fmt!r}; use parquet or csv", field="estimates_format")
    # Parquet by default: exact floats, and a few times faster to write than CSV, which
    # matters because the whole history is rewritten on every run.
    est_path = write_dataframe(estimates, ctx.output_dir / f"estimates.{fmt}")
    summary = post.summary()
    summary.update(
        {
            "method": setup.method,
            "rows_processed": len(times),
            "rows_total": cp.steps,
            "rows_skipped": skipped,
            "continued_from": start.t if start is not None else None,
            "last_time": cp.t,
            "estimates": post.meta["states"],
        }
    )
    ctx.metrics.update(
        {
            **{f"{n}_mean": v["mean"] for n, v in post.meta["states"].items()},
            **{f"{n}_sd": v["sd"] for n, v in post.meta["states"].items()},
            "rows_processed": len(times),
        }
    )
    ctx.log(
        f"{setup.method}: filtered {len(times)} row(s) up to {time_column}={cp.t:g}: "
        + ", ".join(f"{n}={v['mean']:.4g}±{v['sd']:.2g}" for n, v in post.meta["states"].items())
    )
    return {"estimates": est_path, "posterior": path, "summary": summary}
