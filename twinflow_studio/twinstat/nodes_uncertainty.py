"""The ``propagate`` and ``sensitivity`` nodes (see ``propagation`` and ``sensitivity``).

Each evaluates its simulation one of two ways: a Python ``callable`` it calls itself, or the
outputs of a simulation the engine ran (a container, an FMU in its image) for the samples of
a ``propagate_samples`` / ``sensitivity_samples`` node, connected as ``plan`` and
``evaluations`` (see ``uq_plan``)."""

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
    _json,
    _param,
    _required,
)
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import PriorSet, parse_priors
from twinflow_studio.twinstat.propagation import (
    Bands,
    band_error,
    monte_carlo,
    monte_carlo_bands,
    pce_bands,
    polynomial_chaos,
)
from twinflow_studio.twinstat.sensitivity import (
    SobolResult,
    bar_chart,
    check_aggregate,
    evaluate,
    sobol_analyze,
    sobol_indices,
)
from twinflow_studio.twinstat.uq_plan import (
    Evaluations,
    check_plan,
    finite_floats,
    plan_rows,
    plan_theta,
    read_evaluations,
)


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


def _evaluation_mode(ctx: TaskContext, analysis: str) -> bool:
    """Whether the node reads a simulation's outputs (plan + evaluations) rather than
    calling ``callable`` itself; half of a wiring, or both at once, is an error."""
    wired = [p for p in ("plan", "evaluations") if p in ctx.inputs]
    if not wired:
        return False
    if len(wired) == 1:
        other = "evaluations" if wired == ["plan"] else "plan"
        raise TwinStatError(
            f"connect '{other}' too: 'plan' from the {analysis}_samples node and "
            "'evaluations' from the simulation that ran its samples",
            field=other,
        )
    if _param(ctx, "callable", ""):
        raise TwinStatError(
            "give a callable or connect 'plan' and 'evaluations', not both", field="callable"
        )
    return True


def _evaluations(ctx: TaskContext, analysis: str) -> tuple[dict[str, Any], Evaluations]:
    plan = check_plan(_json(ctx, "plan"), analysis)
    x_columns = _param(ctx, "x_columns", [])
    outputs = _param(ctx, "output_columns", [])
    sample_column = str(_param(ctx, "sample_column", "sample"))
    found = read_evaluations(
        ctx.inputs["evaluations"].path,
        plan,
        sample_column,
        _columns(x_columns, "x_columns") if x_columns else [],
        _columns(outputs, "output_columns") if outputs else [],
        ctx.project_dir,
    )
    return plan, found


def _bands_table(labels: pd.DataFrame, bands: Bands) -> pd.DataFrame:
    out = labels.reset_index(drop=True).copy()
    out["mean"] = bands.mean
    out["sd"] = bands.sd
    for q, values in bands.quantiles.items():
        out[f"q{round(q * 100):02d}"] = values
    return out


def _propagate_evaluations(
    ctx: TaskContext, quantiles: list[float], noise_sd: float
) -> tuple[pd.DataFrame, dict[str, Any], int]:
    """Bands from the outputs of a simulation the engine ran for a propagate_samples plan."""
    for port in ("posterior", "data"):
        if port in ctx.inputs:
            raise TwinStatError(
                "the samples come from the plan: connect this to the propagate_samples node "
                "(posterior) or to the simulation (data) instead",
                field=port,
            )
    plan, found = _evaluations(ctx, "propagate")
    seed = int(plan.get("seed") or 0)
    method = plan.get("method")
    summary: dict[str, Any] = {
        "method": method,
        "parameters": plan["names"],
        "quantiles": quantiles,
        "evaluated_by": "evaluations",
    }
    if method == "monte_carlo":
        bands = monte_carlo_bands(found.values[plan_rows(plan, "draws")], quantiles, noise_sd, seed)
    elif method == "pce":
        pce = plan.get("pce") or {}
        order = pce.get("order")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise TwinStatError("plan's PCE order is missing", field="plan")
        fit = plan_rows(plan, "fit")
        bands = pce_bands(
            finite_floats(pce.get("mean"), "PCE mean").reshape(-1),
            np.atleast_2d(finite_floats(pce.get("cov"), "PCE covariance")),
            order,
            plan_theta(plan)[fit],
            found.values[fit],
            finite_floats(pce.get("evaluate_at"), "PCE samples"),
            quantiles,
            noise_sd,
            seed,
        )
        summary["pce"] = bands.info
        check = plan_rows(plan, "check")
        if len(check):
            reference = monte_carlo_bands(found.values[check], quantiles, noise_sd, seed)
            summary["error_vs_monte_carlo"] = band_error(bands, reference)
    else:
        raise TwinStatError(f"plan has an unknown method {method!r}", field="plan")
    evaluations = len(plan["theta"])
    ctx.log(
        f"{method} bands of {found.values.shape[1]} output(s) from {evaluations} simulated samples"
    )
    return _bands_table(found.labels, bands), summary, evaluations


@_executor
def run_propagate(ctx: TaskContext) -> dict[str, Any]:
    quantiles = _quantiles(ctx)
    noise_sd = _float(ctx, "noise_sd", 0.0)
    if noise_sd < 0:
        raise TwinStatError("must be >= 0", field="noise_sd")
    if _evaluation_mode(ctx, "propagate"):
        out, summary, evaluations = _propagate_evaluations(ctx, quantiles, noise_sd)
    else:
        out, summary, evaluations = _propagate_callable(ctx, quantiles, noise_sd)
    summary["model_evaluations"] = evaluations
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "bands.csv"
    out.to_csv(path, index=False)
    ctx.metrics.update({"model_evaluations": evaluations, "mean_sd": float(out["sd"].mean())})
    if "error_vs_monte_carlo" in summary:
        error = summary["error_vs_monte_carlo"]["max_quantile_error_in_sd"]
        ctx.metrics["pce_error_in_sd"] = error
        ctx.log(f"polynomial chaos vs Monte Carlo: max quantile error {error:.3g} sd")
    return {"bands": path, "summary": summary}


def _propagate_callable(
    ctx: TaskContext, quantiles: list[float], noise_sd: float
) -> tuple[pd.DataFrame, dict[str, Any], int]:
    fn = import_callable(_required(ctx, "callable"), "callable")
    post = Posterior.load(ctx.inputs["posterior"].path) if "posterior" in ctx.inputs else None
    if post is None:
        raise TwinStatError("input is not connected", field="posterior")
    frame, x_cols, x = _x(ctx)
    names, samples = _draws(ctx, post)
    seed = _int(ctx, "seed", 0)
    n_draws = _int(ctx, "n_draws", 500, 2)
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
    else:
        raise TwinStatError(f"unknown method {method!r}; use monte_carlo or pce", field="method")
    out = frame[x_cols].reset_index(drop=True).copy() if frame is not None else pd.DataFrame()
    if frame is None or len(out) != n_obs:
        out = pd.DataFrame({"output": np.arange(n_obs)})
    return _bands_table(out, bands), summary, batch.calls


def _sensitivity_evaluations(ctx: TaskContext, aggregate: str) -> tuple[SobolResult, PriorSet]:
    """Indices from the outputs of a simulation the engine ran for a sensitivity_samples plan."""
    if "data" in ctx.inputs:
        raise TwinStatError(
            "the samples come from the plan: connect the data to the simulation instead",
            field="data",
        )
    if _param(ctx, "priors", []):
        raise TwinStatError(
            "the priors come from the plan: set them on the sensitivity_samples node",
            field="priors",
        )
    plan, found = _evaluations(ctx, "sensitivity")
    priors = parse_priors(plan.get("priors"), "plan")
    if priors.names != plan["names"]:
        raise TwinStatError("plan's priors do not match its parameter names", field="plan")
    d = len(plan["names"])
    problem = {"num_vars": d, "names": plan["names"], "bounds": [[0.0, 1.0]] * d}
    n_base = plan.get("n_base")
    if not isinstance(n_base, int) or len(plan["theta"]) != n_base * (d + 2):
        raise TwinStatError("plan's sample count does not match its n_base", field="plan")
    result = sobol_analyze(
        problem,
        found.values,
        aggregate,
        seed=int(plan.get("seed") or 0),
        num_resamples=_int(ctx, "num_resamples", 100, 10),
        conf_level=_float(ctx, "conf_level", 0.95),
    )
    return result, priors


@_executor
def run_sensitivity(ctx: TaskContext) -> dict[str, Any]:
    top_k = _int(ctx, "select_top_k", 0)
    aggregate = _param(ctx, "aggregate", "mean")
    check_aggregate(aggregate)
    if _evaluation_mode(ctx, "sensitivity"):
        result, priors = _sensitivity_evaluations(ctx, aggregate)
    else:
        fn = import_callable(_required(ctx, "callable"), "callable")
        priors = parse_priors(_required(ctx, "priors"))
        _, _, x = _x(ctx)
        result = sobol_indices(
            evaluate(fn, x),
            priors,
            n_base=_int(ctx, "n_base", 1024, 1),
            aggregate=aggregate,
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
