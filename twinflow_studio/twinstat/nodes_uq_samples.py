"""The ``propagate_samples`` and ``sensitivity_samples`` nodes: the parameter samples a
simulation the engine runs (a ``container`` node, an ``fmu`` node) evaluates in one go,
and the plan the ``propagate`` / ``sensitivity`` node summarizes its outputs with.

The samples are drawn exactly as the callable path of those nodes draws them (same seed,
same order), so a container and a callable computing the same model give the same bands.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinflow_studio.engine.task import TaskContext
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.nodes import _executor, _int, _param, _required
from twinflow_studio.twinstat.nodes_uncertainty import _draws
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.priors import parse_priors
from twinflow_studio.twinstat.propagation import gaussian_moments, pce_nodes
from twinflow_studio.twinstat.sensitivity import sobol_points
from twinflow_studio.twinstat.uq_plan import design, make_plan, write_samples

# The PCE plan carries the posterior samples the expansion is evaluated at; beyond this
# many it carries a seeded subsample (the bands' quantiles need no more).
MAX_EVALUATE_AT = 20000


def _outputs(ctx: TaskContext, names: list[str], theta: np.ndarray, plan: dict[str, Any]) -> dict:
    fmt = str(_param(ctx, "format", "csv"))
    path = write_samples(names, theta, ctx.output_dir, fmt)
    ctx.metrics["samples"] = int(len(theta))
    ctx.log(
        f"{len(theta)} parameter samples of {names} for the simulation ({path.name}); "
        "it runs once for all of them"
    )
    return {"samples": path, "design": design(names, theta), "plan": plan}


@_executor
def run_propagate_samples(ctx: TaskContext) -> dict[str, Any]:
    if "posterior" not in ctx.inputs:
        raise TwinStatError("input is not connected", field="posterior")
    post = Posterior.load(ctx.inputs["posterior"].path)
    names, samples = _draws(ctx, post)
    seed = _int(ctx, "seed", 0)
    method = _param(ctx, "method", "monte_carlo")
    rng = np.random.default_rng(seed)

    def pick(n: int) -> np.ndarray:
        return samples[rng.choice(samples.shape[0], size=n, replace=n > samples.shape[0])]

    if method == "monte_carlo":
        theta = pick(_int(ctx, "n_draws", 500, 2))
        plan = make_plan(
            "propagate", names, theta, method=method, seed=seed,
            rows={"draws": list(range(len(theta)))},
        )  # fmt: skip
        return _outputs(ctx, names, theta, plan)
    if method != "pce":
        raise TwinStatError(f"unknown method {method!r}; use monte_carlo or pce", field="method")
    order = _int(ctx, "pce_order", 3, 1)
    mean, cov = gaussian_moments(samples)
    fit = pce_nodes(mean, cov, order, None, seed)
    check = _int(ctx, "mc_check_draws", 200, 0)
    checks = pick(check) if check else np.empty((0, len(names)))
    evaluate_at = samples
    if len(samples) > MAX_EVALUATE_AT:
        keep = np.random.default_rng([seed, 3]).choice(len(samples), MAX_EVALUATE_AT, False)
        evaluate_at = samples[np.sort(keep)]
    theta = np.vstack([fit, checks])
    plan = make_plan(
        "propagate",
        names,
        theta,
        method=method,
        seed=seed,
        rows={
            "fit": list(range(len(fit))),
            "check": list(range(len(fit), len(theta))),
        },
        pce={
            "order": order,
            "mean": mean.tolist(),
            "cov": cov.tolist(),
            "evaluate_at": evaluate_at.tolist(),
        },
    )
    return _outputs(ctx, names, theta, plan)


@_executor
def run_sensitivity_samples(ctx: TaskContext) -> dict[str, Any]:
    priors = parse_priors(_required(ctx, "priors"))
    seed = _int(ctx, "seed", 0)
    n_base = _int(ctx, "n_base", 1024, 1)
    _, theta = sobol_points(priors, n_base, seed)
    plan = make_plan(
        "sensitivity",
        priors.names,
        theta,
        seed=seed,
        n_base=n_base,
        priors=[p.to_dict() for p in priors.priors],
    )
    return _outputs(ctx, priors.names, theta, plan)
