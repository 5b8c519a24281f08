"""Calibration figures as PNG files (matplotlib's Agg backend: no display, no Qt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twinflow_studio.twinstat.posterior import Posterior

_MAX_POINTS = 4000
_MAX_TRACE_STEPS = 500


def _save(fig: Figure, path: Path) -> Path:
    # A bare Figure with an Agg canvas touches no pyplot state, so worker threads are safe.
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=90)
    return path


def trace_plot(posterior: Posterior, path: Path) -> Path:
    chain = posterior.chain
    ndim = chain.shape[2]
    # Every k-th step is plenty at this resolution and keeps long chains cheap to draw.
    stride = max(1, chain.shape[0] // _MAX_TRACE_STEPS)
    steps = np.arange(0, chain.shape[0], stride)
    fig = Figure(figsize=(8, 1.8 * ndim + 0.5))
    fig.subplots_adjust(left=0.12, right=0.97, top=0.97, bottom=0.1, hspace=0.15)
    axes = fig.subplots(ndim, 1, sharex=True, squeeze=False)[:, 0]
    burn = int(posterior.diagnostics.get("burn", 0))
    for i, ax in enumerate(axes):
        # All walkers as one NaN-separated line: one path to draw instead of one per walker.
        walkers = chain[::stride, :, i].T
        ys = np.column_stack([walkers, np.full(walkers.shape[0], np.nan)]).ravel()
        xs = np.tile(np.append(steps, np.nan), walkers.shape[0])
        ax.plot(xs, ys, color="k", alpha=0.3, lw=0.4)
        ax.axvline(burn, color="tab:red", lw=1, ls="--")
        ax.set_ylabel(posterior.names[i])
    axes[-1].set_xlabel("step (dashed: end of burn-in)")
    return _save(fig, path)


def pair_plot(posterior: Posterior, path: Path, seed: int = 0) -> Path:
    samples = posterior.samples
    if samples.shape[0] > _MAX_POINTS:
        idx = np.random.default_rng(seed).choice(samples.shape[0], _MAX_POINTS, replace=False)
        samples = samples[idx]
    ndim = samples.shape[1]
    fig = Figure(figsize=(2.2 * ndim + 0.6, 2.2 * ndim + 0.6))
    fig.subplots_adjust(left=0.12, right=0.97, top=0.97, bottom=0.1, hspace=0.1, wspace=0.1)
    axes = fig.subplots(ndim, ndim, squeeze=False)
    for row in range(ndim):
        for col in range(ndim):
            ax = axes[row, col]
            if col > row:
                ax.set_axis_off()
                continue
            if row == col:
                ax.hist(
                    samples[:, col], bins=40, color="tab:blue", histtype="stepfilled", alpha=0.6
                )
                for q in np.quantile(samples[:, col], [0.05, 0.5, 0.95]):
                    ax.axvline(q, color="k", lw=0.8, ls=":")
                ax.set_yticks([])
            else:
                ax.plot(samples[:, col], samples[:, row], ",", color="k", alpha=0.3)
            if row == ndim - 1:
                ax.set_xlabel(posterior.names[col])
            if col == 0 and row > 0:
                ax.set_ylabel(posterior.names[row])
    return _save(fig, path)


def predictive_plot(
    x: np.ndarray, y: np.ndarray, bands: dict[str, np.ndarray], path: Path, x_label: str
) -> Path:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = x if x.ndim == 1 else np.arange(len(y))
    order = np.argsort(xs)
    ax.fill_between(
        xs[order],
        bands["q05"][order],
        bands["q95"][order],
        color="tab:orange",
        alpha=0.3,
        label="posterior predictive 90 %",
    )
    ax.plot(xs[order], bands["q50"][order], color="tab:orange", label="posterior median")
    ax.plot(xs, y, "o", ms=3 if len(y) <= 300 else 1.5, color="k", label="data")
    ax.set_xlabel(x_label if x.ndim == 1 else "observation")
    ax.legend(loc="best")
    return _save(fig, path)
