"""The kinds this package adds. Declarative only: importing this module must stay cheap and
must not import the executor's dependencies, because the studio and ``--validate`` read it
without running anything."""

from __future__ import annotations

from twinflow_studio.project.kinds import PYTHON_TARGETS, NodeKind, ParamSpec, PortSpec

ROLLING_MEAN = NodeKind(
    name="rolling_mean",
    label="Rolling mean",
    category="Signal processing",
    doc="Smooths one column of a table with a centred rolling mean and reports its range.",
    params=(
        ParamSpec(
            "column", "str", required=True, doc="The column to smooth", example="temperature_c"
        ),
        ParamSpec("window", "int", default=5, doc="Number of rows averaged"),
    ),
    inputs=(PortSpec("readings", "dataframe", doc="A table (CSV or Parquet)"),),
    outputs=(
        PortSpec("smoothed", "dataframe", doc="The table with a '<column>_smooth' column"),
        PortSpec("summary", "json", doc="Window, first, last, minimum and maximum"),
    ),
    # Runs in the project's worker processes like the core's Python kinds.
    target_kinds=PYTHON_TARGETS,
    executor="twinflow_example_plugin.executors:run_rolling_mean",
    icon="view-statistics",
    tags=("smoothing", "example"),
)

KINDS = [ROLLING_MEAN]
