"""Reading tabular inputs and checking the columns a node names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinflow_studio.twinstat.errors import TwinStatError

_PARQUET = {".parquet", ".pq"}


def read_frame(source: Any, field: str = "data", files: str = "all") -> pd.DataFrame:
    """A DataFrame from a DataFrame, a CSV / Parquet file, or a folder of them: ``files``
    ``all`` concatenates the folder's tables in name order, ``latest`` takes the last name."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", *_PARQUET})
        if not found:
            raise TwinStatError(f"folder {path} holds no .csv or .parquet file", field=field)
        if files == "latest":
            return read_frame(found[-1], field)
        if files != "all":
            raise TwinStatError(
                f"unknown selection {files!r}; use all or latest", field="data_files"
            )
        return pd.concat([read_frame(p, field) for p in found], ignore_index=True)
    if not path.exists():
        raise TwinStatError(f"file {path} does not exist", field=field)
    try:
        if path.suffix.lower() in _PARQUET:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as exc:  # pandas raises many types; the message is what matters
        raise TwinStatError(f"cannot read {path.name} as a table: {exc}", field=field) from exc


def require_columns(
    frame: pd.DataFrame, columns: Sequence[str], field: str, numeric: bool = True
) -> None:
    if isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TwinStatError(
            f"column(s) {missing} not in the data; it has {list(frame.columns)}", field=field
        )
    if numeric:
        bad = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise TwinStatError(f"column(s) {bad} are not numeric", field=field)


def column_array(frame: pd.DataFrame, columns: Sequence[str] | str, field: str) -> np.ndarray:
    """The named columns as floats: 1-D for one column, (n, k) for several."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    if not cols:
        raise TwinStatError("name at least one column", field=field)
    require_columns(frame, cols, field)
    values = frame[cols].to_numpy(dtype=float)
    if np.isnan(values).any():
        rows = np.where(np.isnan(values).any(axis=1))[0][:5].tolist()
        raise TwinStatError(f"missing values in rows {rows}", field=field)
    return values[:, 0] if len(cols) == 1 else values
