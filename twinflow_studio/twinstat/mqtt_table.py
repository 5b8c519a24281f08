"""The durable, time-partitioned table an MQTT source's messages land in.

``<project>/.twinflow/mqtt/<source>/date=YYYY-MM-DD/part-<seq>-<last received ms>.parquet``:
one Parquet file per stored batch, written to a hidden temporary name, fsynced, renamed into
place and the folder fsynced, so a part is either whole or absent after a crash. Parts are
never rewritten; ``seq`` orders them. Compaction (``mqtt_compact.py``) merges runs of small
parts into ``part-<first seq>-<last seq>-<ms>.parquet``; a part whose seq range lies inside
another part's is superseded (left by a compaction killed before it removed it) and is
neither read nor counted. Beside the data, ``acked.json`` holds the highest part
whose acknowledgements surely reached the broker: parts after it may be delivered again
(MQTT QoS 1 redelivers what was not acknowledged), and the ingest drops those redeliveries.

Columns: the timestamp column (UTC), ``topic``, the mapped columns, and the internal
``_recv_ns`` (arrival, ns since the epoch), ``_mid`` (MQTT packet id) and ``_key`` (hash of
topic and payload). Windows leave the internal ones out.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_PART = re.compile(r"part-(\d{12})(?:-(\d{12}))?-(\d+)\.parquet")
_DATE = re.compile(r"date=\d{4}-\d{2}-\d{2}")
ACKED_FILE = "acked.json"


def table_dir(project_dir: Path, source: str) -> Path:
    """Where the messages of mqtt node ``source`` are stored (its id is one path part)."""
    if not source or source in (".", "..") or "/" in source or "\\" in source or "\0" in source:
        raise ValueError(f"node id {source!r} cannot name a folder")
    return Path(project_dir) / ".twinflow" / "mqtt" / source


@dataclass(frozen=True)
class Part:
    seq: int  # the last (or only) batch it holds
    last_ms: int
    path: Path
    first: int = 0  # the first batch it holds (0: only ``seq``)

    @property
    def start(self) -> int:
        return self.first or self.seq

    def covers(self, other: Part) -> bool:
        return (self.start, self.seq) != (other.start, other.seq) and (
            self.start <= other.start and other.seq <= self.seq
        )


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _listing_again(read: Callable[[], Any], attempts: int = 5) -> Any:
    """``read()``, listed afresh when a part vanished under it: a compaction (another
    thread or process) replaced it by the merged part between the listing and the read."""
    for attempt in range(attempts):
        try:
            return read()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
    return None


class MqttTable:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ---- reading ----------------------------------------------------------------------

    def parts(self) -> list[Part]:
        """Every stored part, oldest first (superseded ones left out)."""
        return self.scan()[0]

    def scan(self) -> tuple[list[Part], list[Part]]:
        """(the parts to read, oldest first; the superseded parts a compaction left)."""
        found: list[Part] = []
        if not self.root.is_dir():
            return [], []
        for day in self.root.iterdir():
            if not _DATE.fullmatch(day.name) or not day.is_dir():
                continue
            for entry in os.scandir(day):
                match = _PART.fullmatch(entry.name)
                if match:
                    first, last = int(match[1]), int(match[2] or match[1])
                    found.append(
                        Part(last, int(match[3]), Path(entry.path), first if match[2] else 0)
                    )
        found.sort(key=lambda p: (p.start, -p.seq))
        live: list[Part] = []
        superseded: list[Part] = []
        for part in found:  # by start, widest first: a covering part comes before the covered
            if live and live[-1].covers(part):
                superseded.append(part)
            else:
                live.append(part)
        live.sort(key=lambda p: p.seq)
        return live, superseded

    def next_seq(self) -> int:
        parts = self.parts()
        return parts[-1].seq + 1 if parts else 1

    def acked_seq(self) -> int:
        try:
            return int(json.loads((self.root / ACKED_FILE).read_text())["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def read(self, parts: list[Part] | None = None, internal: bool = False) -> Any:
        """The rows of ``parts`` (default: all) as one DataFrame, in arrival order."""
        if parts is None:
            return _listing_again(lambda: self._read(self.parts(), internal))
        return self._read(parts, internal)

    def _read(self, parts: list[Part] | None = None, internal: bool = False) -> Any:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        chosen = self.parts() if parts is None else parts
        if not chosen:
            return pd.DataFrame()
        table = pa.concat_tables(
            [pq.read_table(p.path) for p in chosen], promote_options="permissive"
        )
        frame = table.to_pandas()
        if not internal:
            frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
        return frame.reset_index(drop=True)

    def window(self, rows: int = 0, seconds: float = 0.0, now_ns: int | None = None) -> Any:
        """The last ``rows`` rows and/or the rows received in the last ``seconds`` (0: no
        limit on that side); everything when both are 0."""
        return _listing_again(lambda: self._window(rows, seconds, now_ns))

    def _window(self, rows: int, seconds: float, now_ns: int | None) -> Any:
        parts = self.parts()
        cutoff = None
        if seconds and seconds > 0:
            cutoff = (now_ns if now_ns is not None else time.time_ns()) - int(seconds * 1e9)
            # A part's name carries its last arrival: older parts need not be opened.
            parts = [p for p in parts if p.last_ms * 1_000_000 >= cutoff]
        if rows and rows > 0:
            chosen: list[Part] = []
            count = 0
            import pyarrow.parquet as pq

            for part in reversed(parts):
                chosen.append(part)
                count += pq.ParquetFile(part.path).metadata.num_rows
                if count >= rows:
                    break
            parts = list(reversed(chosen))
        frame = self._read(parts, internal=True)
        if frame.empty:
            return frame
        if cutoff is not None:
            frame = frame[frame["_recv_ns"] >= cutoff]
        if rows and rows > 0:
            frame = frame.tail(rows)
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
        return frame.reset_index(drop=True)

    def ids_after(self, seq: int) -> Iterator[tuple[int, Any]]:
        """(part seq, its ``_key`` and ``_mid`` columns) of the parts after ``seq``: what may
        be redelivered."""
        import pyarrow.parquet as pq

        for part in self.parts():
            if part.seq > seq:
                yield part.seq, pq.read_table(part.path, columns=["_key", "_mid"])

    # ---- writing ----------------------------------------------------------------------

    def append(self, seq: int, table: Any, last_recv_ns: int) -> Path:
        """Store one batch as part ``seq``, durably (fsync + atomic rename + folder fsync),
        in the date partition of its last arrival (UTC)."""
        import pyarrow.parquet as pq

        day = datetime.fromtimestamp(last_recv_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
        folder = self.root / f"date={day}"
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(folder.parent)
        final = folder / f"part-{seq:012d}-{last_recv_ns // 1_000_000}.parquet"
        tmp = folder / f".{final.name}.tmp"
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="snappy")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(folder)
        return final

    def write_acked(self, seq: int) -> None:
        """Record that the acknowledgements of parts up to ``seq`` reached the broker."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{ACKED_FILE}.tmp"
        tmp.write_text(json.dumps({"seq": seq}))
        os.replace(tmp, self.root / ACKED_FILE)

    def remove_leftovers(self) -> None:
        """Temporary files of a write a crash interrupted (never renamed, so never data)."""
        if not self.root.is_dir():
            return
        for day in self.root.iterdir():
            if day.is_dir() and _DATE.fullmatch(day.name):
                for tmp in day.glob(".part-*.tmp"):
                    tmp.unlink(missing_ok=True)
