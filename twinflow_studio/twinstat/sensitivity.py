"""Global sensitivity: Sobol first- and total-order indices (SALib) of a simulation's output
over the priors, and a bar chart of them.

Points come from SALib's Saltelli/Sobol scheme on the unit cube and are mapped through each
prior's quantile function, so any prior (not only uniform ranges) defines the input space.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinflow_studio.twinstat.calibration import BatchModel
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.priors import PriorSet

AGGREGATES = ("mean", "variance_weighted")
_EDGE = 1e-9  # keeps unit-cube points off 0 and 1, where unbounded priors are infinite


@dataclass
class SobolResult:
    names: list[str]
    s1: np.ndarray
    s1_conf: np.ndarray
    st: np.ndarray
    st_conf: np.ndarray
    evaluations: int

    def ranking(self) -> list[str]:
        return [self.names[i] for i in np.argsort(-self.st, kind="stable")]

    def to_json(self, top_k: int, priors: PriorSet) -> dict[str, Any]:
        ranking = self.ranking()
        selected = ranking[:top_k] if top_k else ranking
        return {
            "names": self.names,
            "S1": self.s1.tolist(),
            "S1_conf": self.s1_conf.tolist(),
            "ST": self.st.tolist(),
            "ST_conf": self.st_conf.tolist(),
            "ranking": ranking,
            "selected": selected,
            "selected_priors": [p.to_dict() for p in priors.priors if p.name in selected],
            "evaluations": self.evaluations,
        }


def sobol_indices(
    batch_fn: Any,
    priors: PriorSet,
    n_base: int = 1024,
    aggregate: str = "mean",
    seed: int = 0,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> SobolResult:
    """Indices of ``batch_fn(theta (n, d)) -> (n, n_out)``: of the output's mean over its
    columns (``mean``), or per column then averaged weighted by each column's variance
    (``variance_weighted``, the aggregated indices of Gamboa et al.)."""
    check_aggregate(aggregate)
    problem, theta = sobol_points(priors, n_base, seed)
    out = np.asarray(batch_fn(theta), dtype=float).reshape(theta.shape[0], -1)
    return sobol_analyze(problem, out, aggregate, seed, num_resamples, conf_level)


def check_aggregate(aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise TwinStatError(
            f"unknown aggregate {aggregate!r}; use {list(AGGREGATES)}", field="aggregate"
        )


def sobol_points(priors: PriorSet, n_base: int, seed: int = 0) -> tuple[dict[str, Any], np.ndarray]:
    """SALib's problem and the ``(n_base * (d + 2), d)`` parameter points the model runs at:
    Saltelli/Sobol points on the unit cube through each prior's quantile function."""
    from SALib.sample import sobol as sample

    if n_base < 8 or n_base & (n_base - 1):
        raise TwinStatError(f"must be a power of 2 >= 8, got {n_base}", field="n_base")
    d = priors.ndim
    problem = {"num_vars": d, "names": priors.names, "bounds": [[0.0, 1.0]] * d}
    unit = sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    return problem, priors.ppf(np.clip(unit, _EDGE, 1.0 - _EDGE))


def sobol_analyze(
    problem: dict[str, Any],
    out: np.ndarray,
    aggregate: str = "mean",
    seed: int = 0,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> SobolResult:
    """Indices from the model outputs ``out`` (n_points, n_out) at ``sobol_points``."""
    from SALib.analyze import sobol as analyze

    check_aggregate(aggregate)
    if not np.isfinite(out).all():
        raise TwinStatError(
            "the simulation returned NaN or infinity inside the priors", field="callable"
        )

    def analyze_column(y: np.ndarray) -> dict[str, np.ndarray]:
        return analyze.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
        )

    if aggregate == "mean" or out.shape[1] == 1:
        res = analyze_column(out.mean(axis=1))
        s1, s1c, st, stc = (np.asarray(res[k]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
    else:
        var = out.var(axis=0)
        keep = var > 0
        if not keep.any():
            raise TwinStatError("the output does not vary over the priors", field="callable")
        w = var[keep] / var[keep].sum()
        parts = [analyze_column(out[:, j]) for j in np.flatnonzero(keep)]
        s1, s1c, st, stc = (
            np.sum([wi * np.asarray(p[k]) for wi, p in zip(w, parts, strict=True)], axis=0)
            for k in ("S1", "S1_conf", "ST", "ST_conf")
        )
    return SobolResult(list(problem["names"]), s1, s1c, st, stc, int(out.shape[0]))


def evaluate(fn: Any, x: np.ndarray) -> Any:
    """``theta (n, d) -> (n, n_out)`` for a callable ``f(theta, x)``, vectorized when it can be."""

    def run(theta: np.ndarray) -> np.ndarray:
        n_out = np.asarray(fn(theta[0], x), dtype=float).size
        batch = BatchModel(fn, x, n_out)
        batch.probe(theta[:2])
        return batch(theta)

    return run


def bar_chart(result: SobolResult, path: Path, title: str = "Sobol indices") -> Path:
    """First- and total-order indices with their confidence intervals, as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: safe off the main thread

    fig = Figure(figsize=(max(4.0, 1.0 + 0.9 * len(result.names)), 3.2), layout="constrained")
    draw_bars(fig.subplots(), result.names, result.s1, result.s1_conf, result.st, result.st_conf)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def draw_bars(ax: Any, names: list[str], s1: Any, s1_conf: Any, st: Any, st_conf: Any) -> None:
    """The bar chart on a matplotlib axis (shared with the studio's calibration panel)."""
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, s1, 0.4, yerr=s1_conf, capsize=3, label="first order S1")
    ax.bar(pos + 0.2, st, 0.4, yerr=st_conf, capsize=3, label="total order ST")
    ax.set_xticks(pos, names)
    ax.set_ylabel("share of output variance")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend()
