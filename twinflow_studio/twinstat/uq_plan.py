"""Propagation and sensitivity for a simulation the engine runs (a container, an FMU in its
image): the parameter samples go out as a table, the simulation's outputs come back as a
table, and a *plan* (JSON) ties the two together.

The plan holds every parameter vector sent out, so the analysing node needs nothing else:
it checks that the outputs answer exactly those samples (ids, and any parameter columns the
simulation echoes) before it summarizes them. What the simulation wrote is untrusted input:
it is read as a table only (CSV or Parquet, never pickled), and every problem is reported
as a TwinStatError naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinflow_studio.twinstat.errors import TwinStatError

PLAN_KIND = "twinflow.uq_plan"
PLAN_VERSION = 1
SAMPLE_COLUMN = "sample"
FORMATS = ("csv", "parquet")
_PARQUET_MAGIC = b"PAR1"
_SHOWN = 5  # ids listed in a message before "..."


def make_plan(analysis: str, names: list[str], theta: np.ndarray, **extra: Any) -> dict[str, Any]:
    theta = np.asarray(theta, dtype=float).reshape(len(theta), len(names))
    return {
        "kind": PLAN_KIND,
        "version": PLAN_VERSION,
        "analysis": analysis,
        "names": list(names),
        "theta": theta.tolist(),
        **extra,
    }


def write_samples(names: list[str], theta: np.ndarray, folder: Path, fmt: str) -> Path:
    """The samples as the simulation reads them: a ``sample`` id column (0, 1, ...) and one
    column per parameter; floats written so that they read back bit for bit."""
    if fmt not in FORMATS:
        raise TwinStatError(f"must be one of {list(FORMATS)}, got {fmt!r}", field="format")
    frame = pd.DataFrame(np.asarray(theta, dtype=float), columns=names)
    frame.insert(0, SAMPLE_COLUMN, np.arange(len(frame), dtype=np.int64))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"samples.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False, float_format="%.17g")
    else:
        frame.to_parquet(path, index=False)
    return path


def design(names: list[str], theta: np.ndarray) -> dict[str, Any]:
    """The same samples as a design (parameter sets in order), what an ``fmu`` node takes:
    its ``results`` then number the sets 0, 1, ... in its ``set`` column."""
    rows = np.asarray(theta, dtype=float).tolist()
    return {"names": list(names), "sets": [dict(zip(names, r, strict=True)) for r in rows]}


def check_plan(plan: Any, analysis: str) -> dict[str, Any]:
    """The plan, its shape checked (it came through a port: trust nothing about it)."""
    if not isinstance(plan, dict) or plan.get("kind") != PLAN_KIND:
        raise TwinStatError(
            f"is not a sampling plan; connect the 'plan' output of a {analysis}_samples node",
            field="plan",
        )
    if plan.get("version") != PLAN_VERSION:
        raise TwinStatError(f"plan version {plan.get('version')!r} is not supported", field="plan")
    if plan.get("analysis") != analysis:
        raise TwinStatError(
            f"is a plan for {plan.get('analysis')!r}, not {analysis!r}; connect the 'plan' of a "
            f"{analysis}_samples node",
            field="plan",
        )
    names, theta = plan.get("names"), plan.get("theta")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise TwinStatError("plan has no parameter names", field="plan")
    try:
        values = np.asarray(theta, dtype=float)
    except (TypeError, ValueError):
        values = np.empty(0)
    if values.ndim != 2 or values.shape[1] != len(names) or values.shape[0] < 2:
        raise TwinStatError("plan's samples are not a table of parameter vectors", field="plan")
    return plan


def plan_theta(plan: dict[str, Any]) -> np.ndarray:
    return np.asarray(plan["theta"], dtype=float)


def plan_rows(plan: dict[str, Any], key: str) -> np.ndarray:
    rows = (plan.get("rows") or {}).get(key)
    n = len(plan["theta"])
    if not isinstance(rows, list) or not all(
        isinstance(r, int) and not isinstance(r, bool) and 0 <= r < n for r in rows
    ):
        raise TwinStatError(f"plan's {key!r} rows are missing or out of range", field="plan")
    return np.asarray(rows, dtype=int)


@dataclass
class Evaluations:
    """The simulation's outputs, one row per sample (in sample order), and what each output
    column is: the ``x_columns`` values of its row and the name of the output variable."""

    values: np.ndarray  # (n_samples, n_outputs)
    labels: pd.DataFrame  # (n_outputs, len(x_columns) + 1)


def where(path: Path, project_dir: Path | None) -> str:
    """How a message names an input file: the producing node and port when the run store's
    layout (``<run>/<node>/outputs/<port>``) shows them, and the file relative to the project."""
    shown = str(path)
    if project_dir is not None:
        try:
            shown = str(Path(path).resolve().relative_to(Path(project_dir).resolve()))
        except ValueError:
            pass
    parts = Path(path).parts
    if len(parts) >= 3 and parts[-2] == "outputs":
        port = Path(parts[-1]).name.split(".")[0]
        return f"output {port!r} of node {parts[-3]!r} ({shown})"
    return shown


def read_table(path: Path, field: str, label: str) -> pd.DataFrame:
    """A CSV or Parquet file whatever its name (a container's output has no suffix), or a
    folder of them (e.g. one per chunk a simulation worked on), concatenated in name order."""
    path = Path(path)
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*") if p.is_file())
        if not parts:
            raise TwinStatError(f"{label} is an empty folder", field=field)
        return pd.concat(
            [read_table(p, field, f"{label}/{p.relative_to(path)}") for p in parts],
            ignore_index=True,
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise TwinStatError(f"cannot read {label}: {exc.strerror}", field=field) from exc
    if not head:
        raise TwinStatError(f"{label} is empty", field=field)
    try:
        if head == _PARQUET_MAGIC:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as exc:  # pandas and pyarrow raise many types; the message is what matters
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TwinStatError(f"cannot read {label} as CSV or Parquet: {first}", field=field) from exc


def _ids(values: np.ndarray) -> str:
    shown = ", ".join(str(int(v)) for v in values[:_SHOWN])
    return shown + (", ..." if len(values) > _SHOWN else "")


def read_evaluations(
    path: Path,
    plan: dict[str, Any],
    sample_column: str = SAMPLE_COLUMN,
    x_columns: list[str] | None = None,
    output_columns: list[str] | None = None,
    project_dir: Path | None = None,
) -> Evaluations:
    """The outputs table checked against the plan. One row per sample (wide), or several
    rows per sample (long: e.g. a time series per sample, labelled by ``x_columns``); rows
    may come in any order."""
    field = "evaluations"
    label = where(path, project_dir)
    frame = read_table(path, field, label)
    x_columns = list(x_columns or [])
    theta = plan_theta(plan)
    n = len(theta)

    def fail(message: str) -> TwinStatError:
        return TwinStatError(f"{label}: {message}", field=field)

    columns = [str(c) for c in frame.columns]
    frame.columns = pd.Index(columns)
    for col in [sample_column, *x_columns, *(output_columns or [])]:
        if col not in columns:
            raise fail(f"has no column {col!r}; it has {columns}")
    if frame.empty:
        raise fail("has no rows")
    ids = pd.to_numeric(frame[sample_column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(ids) | (ids != np.round(ids))
    if bad.any():
        raise fail(f"column {sample_column!r} holds a non-integer in row {int(np.argmax(bad))}")
    ids_int = ids.astype(np.int64)
    unknown = np.unique(ids_int[(ids_int < 0) | (ids_int >= n)])
    if len(unknown):
        raise fail(f"sample id(s) {_ids(unknown)} are not in the plan's 0..{n - 1}")
    counts = np.bincount(ids_int, minlength=n)
    missing = np.flatnonzero(counts == 0)
    if len(missing):
        raise fail(f"no output for sample(s) {_ids(missing)} ({len(missing)} of {n} missing)")
    if counts.min() != counts.max():
        odd = np.flatnonzero(counts != np.bincount(counts).argmax())
        raise fail(
            f"samples have different numbers of rows ({counts.min()} to {counts.max()}), e.g. "
            f"sample(s) {_ids(odd)}"
        )
    rows = int(counts[0])
    # Rows of a sample are put in order of its x columns, so a simulation may write them in
    # any order; without x columns, their written order is the outputs' order.
    key = "_sample_id"
    while key in columns:  # a sort key that is none of the table's own columns
        key += "_"
    frame = (
        frame.assign(**{key: ids_int})
        .sort_values([key, *x_columns], kind="mergesort")
        .drop(columns=key)
        .reset_index(drop=True)
    )
    _check_echo(frame, plan, theta, rows, fail)
    echoed = set(plan["names"]) & set(columns)
    outputs = list(output_columns or []) or [
        c
        for c in columns
        if c != sample_column
        and c not in x_columns
        and c not in echoed
        and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not outputs:
        raise fail(f"has no numeric output column besides {sample_column!r}")
    for col in outputs:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise fail(f"output column {col!r} is not numeric")
    values = frame[outputs].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        row = int(np.argmax(~np.isfinite(values).all(axis=1)))
        raise fail(f"NaN or infinity in the outputs of sample {row // rows} (columns {outputs})")
    labels = _labels(frame, x_columns, outputs, n, rows, fail)
    return Evaluations(values.reshape(n, rows * len(outputs)), labels)


def _check_echo(
    frame: pd.DataFrame, plan: dict[str, Any], theta: np.ndarray, rows: int, fail: Any
) -> None:
    """Parameter columns the simulation echoes must be the plan's: other values mean it
    simulated another plan's samples, whose outputs must not be summarized as these."""
    expected = np.repeat(theta, rows, axis=0)
    for j, name in enumerate(plan["names"]):
        if name not in frame.columns:
            continue
        got = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        off = ~np.isclose(got, expected[:, j], rtol=1e-9, atol=1e-12)
        if off.any():
            i = int(np.argmax(off))
            raise fail(
                f"parameter column {name!r} is {got[i]!r} in row {i} but the plan sent "
                f"{expected[i, j]!r}: were another plan's samples simulated?"
            )


def _labels(
    frame: pd.DataFrame, x_columns: list[str], outputs: list[str], n: int, rows: int, fail: Any
) -> pd.DataFrame:
    first = frame.iloc[:rows]
    labels = pd.DataFrame(
        {col: np.repeat(first[col].to_numpy(), len(outputs)) for col in x_columns}
    )
    labels["output"] = outputs * rows
    for col in x_columns:
        block = frame[col].to_numpy().reshape(n, rows)
        same = (block == block[0]) | _both_nan(block, block[0])
        if not same.all():
            sample = int(np.argmax(~same.all(axis=1)))
            raise fail(f"column {col!r} differs between samples 0 and {sample}")
    return labels


def _both_nan(block: np.ndarray, first: np.ndarray) -> np.ndarray:
    if block.dtype.kind != "f":
        return np.zeros(block.shape, dtype=bool)
    return np.isnan(block) & np.isnan(first)


def finite_floats(values: Any, field: str) -> np.ndarray:
    """A JSON list of numbers from the plan, as floats, all finite."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TwinStatError(f"plan's {field} are not numbers", field="plan") from exc
    if not np.isfinite(array).all() or array.size == 0 or math.prod(array.shape) == 0:
        raise TwinStatError(f"plan's {field} are not finite numbers", field="plan")
    return array
