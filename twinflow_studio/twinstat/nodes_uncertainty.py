"""The ``propagate`` and ``sensitivity`` nodes (see ``propagation`` and ``sensitivity``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twinflow_studio.engine.task import TaskContext
from twinflow_studio.twinstat.calibration import BatchModel
from twinflow_studio.twinstat.data import column_array
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.imports import import_callable
from twinflow_studio.twinstat.nodes import (
    _columns,
    _executor,
    _float,
    _frame,
    _int,
    _param,
    _required,
)
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import parse_priors
from twinflow_studio.twinstat.propagation import band_error, monte_carlo, polynomial_chaos
from twinflow_studio.twinstat.sensitivity import bar_chart, evaluate, sobol_indices


def _x(ctx: TaskContext) -> tuple[pd.DataFrame | None, list[str], np.ndarray]:
    """The model's inputs: the named columns of the connected data, or nothing."""
    x_columns = _param(ctx, "x_columns", [])
    if "data" not in ctx.inputs:
        if x_columns:
            raise TwinStatError("connect the data the x_columns come from", field="data")
        return None, [], np.empty(0)
    frame = _frame(ctx, "data")
    cols = _columns(_required(ctx, "x_columns"), "x_columns")
    return frame, cols, column_array(frame, cols, "x_columns")


def _quantiles(ctx: TaskContext) -> list[float]:
    qs = _param(ctx, "quantiles", [0.05, 0.5, 0.95])
    if (
        not isinstance(qs, list)
        or not qs
        or not all(isinstance(q, (int, float)) and not isinstance(q, bool) for q in qs)
        or not all(0 < q < 1 for q in qs)
    ):
        raise TwinStatError("a list of numbers between 0 and 1", field="quantiles")
    return sorted({float(q) for q in qs})


def _draws(ctx: TaskContext, post: Posterior) -> tuple[list[str], np.ndarray]:
    """Parameter vectors in the callable's order: posterior samples, with the node's fixed
    ``parameters`` filled in (an inferred noise sigma is not a model parameter)."""
    inferred = post.meta.get("noise", {}).get("inferred") is True
    fixed = _param(ctx, "parameters", {})
    if not isinstance(fixed, dict) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) for v in fixed.values()
    ):
        raise TwinStatError("must be a mapping of parameter name to number", field="parameters")
    names = _param(ctx, "parameter_names", [])
    if names:
        names = _columns(names, "parameter_names")
    elif len(fixed) <= 1:
        names = [n for n in post.names if not (inferred and n == "sigma") and n not in fixed]
        names += list(fixed)
    else:
        raise TwinStatError(
            "give 'parameter_names' to fix the order the callable expects", field="parameter_names"
        )
    missing = [n for n in names if n not in post.names and n not in fixed]
    if missing:
        raise TwinStatError(
            f"{missing} neither in the posterior ({post.names}) nor in 'parameters'",
            field="parameter_names",
        )
    columns = [
        np.full(post.samples.shape[0], float(fixed[n]))
        if n in fixed
        else post.samples[:, post.names.index(n)]
        for n in names
    ]
    return names, np.column_stack(columns)


@_executor
def run_propagate(ctx: TaskContext) -> dict[str, Any]:
    fn = import_callable(_required(ctx, "callable"), "callable")
    post = Posterior.load(ctx.inputs["posterior"].path) if "posterior" in ctx.inputs else None
    if post is None:
        raise TwinStatError("input is not connected", field="posterior")
    frame, x_cols, x = _x(ctx)
    names, samples = _draws(ctx, post)
    quantiles = _quantiles(ctx)
    seed = _int(ctx, "seed", 0)
    n_draws = _int(ctx, "n_draws", 500, 2)
    noise_sd = _float(ctx, "noise_sd", 0.0)
    if noise_sd < 0:
        raise TwinStatError("must be >= 0", field="noise_sd")
    method = _param(ctx, "method", "monte_carlo")
    rng = np.random.default_rng(seed)
    n_obs = np.asarray(fn(samples[0], x), dtype=float).size
    batch = BatchModel(fn, x, n_obs)
    batch.probe(samples[:2])

    def pick(n: int) -> np.ndarray:
        return samples[rng.choice(samples.shape[0], size=n, replace=n > samples.shape[0])]

    summary: dict[str, Any] = {"method": method, "parameters": names, "quantiles": quantiles}
    if method == "monte_carlo":
        bands = monte_carlo(batch, pick(n_draws), quantiles, noise_sd, seed)
    elif method == "pce":
        order = _int(ctx, "pce_order", 3, 1)
        bands = polynomial_chaos(batch, samples, quantiles, order, None, noise_sd, seed)
        summary["pce"] = bands.info
        check = _int(ctx, "mc_check_draws", 200, 0)
        if check:
            reference = monte_carlo(batch, pick(check), quantiles, noise_sd, seed)
            summary["error_vs_monte_carlo"] = band_error(bands, reference)
            ctx.log(
                "polynomial chaos vs Monte Carlo: max quantile error "
                f"{summary['error_vs_monte_carlo']['max_quantile_error_in_sd']:.3g} sd "
                f"({check} Monte Carlo draws)"
            )
    else:
        raise TwinStatError(f"unknown method {method!r}; use monte_carlo or pce", field="method")
    summary["model_evaluations"] = batch.calls
    out = frame[x_cols].reset_index(drop=True).copy() if frame is not None else pd.DataFrame()
    if frame is None or len(out) != n_obs:
        out = pd.DataFrame({"output": np.arange(n_obs)})
    out["mean"] = bands.mean
    out["sd"] = bands.sd
    for q, values in bands.quantiles.items():
        out[f"q{round(q * 100):02d}"] = values
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "bands.csv"
    out.to_csv(path, index=False)
    ctx.metrics.update({"model_evaluations": batch.calls, "mean_sd": float(np.mean(bands.sd))})
    if "error_vs_monte_carlo" in summary:
        ctx.metrics["pce_error_in_sd"] = summary["error_vs_monte_carlo"]["max_quantile_error_in_sd"]
    return {"bands": path, "summary": summary}


@_executor
def run_sensitivity(ctx: TaskContext) -> dict[str, Any]:
    fn = import_callable(_required(ctx, "callable"), "callable")
    priors = parse_priors(_required(ctx, "priors"))
    _, _, x = _x(ctx)
    top_k = _int(ctx, "select_top_k", 0)
    result = sobol_indices(
        evaluate(fn, x),
        priors,
        n_base=_int(ctx, "n_base", 1024, 1),
        aggregate=_param(ctx, "aggregate", "mean"),
        seed=_int(ctx, "seed", 0),
        num_resamples=_int(ctx, "num_resamples", 100, 10),
        conf_level=_float(ctx, "conf_level", 0.95),
    )
    indices = result.to_json(top_k, priors)
    table = pd.DataFrame(
        {
            "name": result.names,
            "S1": result.s1,
            "S1_conf": result.s1_conf,
            "ST": result.st,
            "ST_conf": result.st_conf,
        }
    )
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    table_path = ctx.output_dir / "indices.csv"
    table.to_csv(table_path, index=False)
    figure = bar_chart(result, ctx.output_dir / "sobol.png", f"Sobol indices: {ctx.node_id}")
    ctx.metrics.update({f"{n}_ST": float(v) for n, v in zip(result.names, result.st, strict=True)})
    ctx.metrics["model_evaluations"] = result.evaluations
    ctx.log(
        f"Sobol indices from {result.evaluations} evaluations; most influential first: "
        + ", ".join(f"{n} (ST {result.st[result.names.index(n)]:.2f})" for n in result.ranking())
    )
    return {"indices": indices, "table": table_path, "figure": figure}
