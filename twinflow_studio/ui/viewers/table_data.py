"""The first rows of a CSV or Parquet file, their column types and summary statistics.

Nothing here reads a large file whole: a CSV gives its first ``rows`` rows (pandas
``nrows``), a Parquet file its first record batch (``ParquetFile.iter_batches``) and its row
count from the footer. The statistics describe those rows, and say so. No Qt here: the view
runs ``load_table`` on a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.ui.viewers.reading import UnreadableOutput, file_size, open_regular

ROWS = 1000
SNIFF_BYTES = 64 << 10


@dataclass
class TablePreview:
    path: Path
    frame: Any  # pandas.DataFrame of the first rows
    dtypes: dict[str, str]
    stats: Any  # pandas.DataFrame: one row per column
    total_rows: int | None  # exact (Parquet) or None
    estimated_rows: int | None  # CSV: from the file size and the first rows' line length
    bytes_read: int
    file_size: int
    cells: list[list[str]] | None = None  # the frame's cells as shown (made off the UI thread)
    stats_cells: list[list[str]] | None = None

    @property
    def rows_loaded(self) -> int:
        return len(self.frame)

    def describe_extent(self) -> str:
        shown = f"first {self.rows_loaded:,} rows"
        if self.total_rows is not None:
            return f"{shown} of {self.total_rows:,}"
        if self.estimated_rows is not None and self.estimated_rows > self.rows_loaded:
            return f"{shown} of about {self.estimated_rows:,}"
        return f"{self.rows_loaded:,} rows"


def is_table(path: Path, port_type: str = "") -> bool:
    return path.suffix.lower() in (".csv", ".tsv", ".parquet", ".pq") or (
        port_type == "dataframe" and path.suffix.lower() not in (".json",)
    )


def load_table(path: Path, rows: int = ROWS) -> TablePreview:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _parquet(path, rows)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return _csv(path, rows, "\t" if suffix == ".tsv" else ",")
    # A dataframe port with another suffix: the engine writes Parquet or CSV; sniff it.
    with open_regular(path) as raw:
        magic = raw.read(4)
    return _parquet(path, rows) if magic == b"PAR1" else _csv(path, rows, ",")


def _csv(path: Path, rows: int, sep: str) -> TablePreview:
    import pandas as pd

    raw = open_regular(path)
    try:
        buffered = io.BufferedReader(raw, buffer_size=SNIFF_BYTES)
        head = buffered.peek(SNIFF_BYTES)[:SNIFF_BYTES]
        try:
            frame = pd.read_csv(buffered, nrows=rows, sep=sep, low_memory=True)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise UnreadableOutput(f"{path.name} is not a readable table: {exc}") from None
        bytes_read = raw.bytes_read
    finally:
        raw.close()
    size = file_size(path)
    estimate, sampled = _estimate_rows(path, head, size, len(frame))
    return _preview(path, frame, None, estimate, bytes_read + sampled, size)


def _estimate_rows(path: Path, head: bytes, size: int, loaded: int) -> tuple[int | None, int]:
    """Rows in a CSV of ``size`` bytes, from the line length at its start and its end (two
    64 KB samples: a file's first lines are often shorter than its last)."""
    if len(head) >= size:
        return max(loaded, head.count(b"\n") - 1), 0
    with open_regular(path) as raw:
        raw.seek(max(0, size - SNIFF_BYTES))
        tail = raw.read(SNIFF_BYTES) or b""
    lines = head.count(b"\n") + tail.count(b"\n")
    if lines < 2:
        return None, len(tail)
    return max(loaded, int(size / ((len(head) + len(tail)) / lines)) - 1), len(tail)


def _parquet(path: Path, rows: int) -> TablePreview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = open_regular(path)
    try:
        try:
            parquet = pq.ParquetFile(raw)
            total = parquet.metadata.num_rows
            batch = next(parquet.iter_batches(batch_size=rows), None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise UnreadableOutput(f"{path.name} is not a readable Parquet file: {exc}") from None
        frame = (
            batch.to_pandas()
            if batch is not None
            else parquet.schema_arrow.empty_table().to_pandas()
        )
        bytes_read = raw.bytes_read
    finally:
        raw.close()
    return _preview(path, frame.head(rows), total, total, bytes_read, file_size(path))


def _preview(
    path: Path, frame: Any, total: int | None, estimate: int | None, bytes_read: int, size: int
) -> TablePreview:
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.reset_index(drop=True)
    stats = column_stats(frame)
    return TablePreview(
        path=path,
        frame=frame,
        dtypes={c: str(t) for c, t in frame.dtypes.items()},
        stats=stats,
        total_rows=total,
        estimated_rows=estimate,
        bytes_read=bytes_read,
        file_size=size,
        cells=display_cells(frame),
        stats_cells=display_cells(stats),
    )


def display_cells(frame: Any) -> list[list[str]]:
    """Every cell of ``frame`` as the table shows it, row by row."""
    columns = [[cell_text(v) for v in frame[c].tolist()] for c in frame.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    return str(value)


def column_stats(frame: Any) -> Any:
    """Per column: type, non-null count, distinct values, and for numbers mean, std, min,
    median and max (of the rows given)."""
    import pandas as pd

    rows = []
    for name in frame.columns:
        col = frame[name]
        row: dict[str, Any] = {
            "column": name,
            "type": str(col.dtype),
            "non-null": int(col.notna().sum()),
            "distinct": int(col.nunique(dropna=True)),
        }
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            described = col.describe()
            for key, label in (
                ("mean", "mean"),
                ("std", "std"),
                ("min", "min"),
                ("50%", "median"),
                ("max", "max"),
            ):
                value = described.get(key)
                row[label] = None if value is None or pd.isna(value) else float(value)
        rows.append(row)
    columns = ["column", "type", "non-null", "distinct", "mean", "std", "min", "median", "max"]
    return pd.DataFrame(rows, columns=columns)
