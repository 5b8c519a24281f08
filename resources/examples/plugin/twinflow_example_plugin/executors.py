"""The executor of ``rolling_mean``: imported by the engine when such a node runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.task import TaskContext


def run_rolling_mean(ctx: TaskContext) -> dict[str, Any]:
    """Returns each output port's value: a file path for ``smoothed``, JSON for ``summary``."""
    table = ctx.inputs["readings"].load()
    column = str(ctx.params["column"])
    window = int(ctx.params.get("window", 5))
    if column not in table.columns:
        # A TaskFailed message is what the user sees in the run log; no traceback.
        raise TaskFailed(
            f"column {column!r} is not in the table (columns: {', '.join(table.columns)})",
            retryable=False,
        )
    if window < 1:
        raise TaskFailed(f"window must be at least 1, found {window}", retryable=False)
    smooth = table[column].rolling(window, center=True, min_periods=1).mean()
    table[f"{column}_smooth"] = smooth
    ctx.log(f"smoothed {len(table)} rows of {column!r} over {window}")
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    out: Path = ctx.output_dir / "smoothed.csv"
    table.to_csv(out, index=False)
    return {
        "smoothed": out,
        "summary": {
            "column": column,
            "window": window,
            "first": float(smooth.iloc[0]),
            "last": float(smooth.iloc[-1]),
            "min": float(smooth.min()),
            "max": float(smooth.max()),
        },
    }
