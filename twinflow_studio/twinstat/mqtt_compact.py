"""Merging an MQTT table's small parts, so a long-lived twin does not keep one file per batch.

A run of consecutive small parts of one day (``part-<seq>-<ms>.parquet``, or parts already
merged) becomes ``part-<first seq>-<last seq>-<ms>.parquet``. The steps, and what a kill -9
after each one leaves:

1. the merged rows are written to a hidden ``.part-*.tmp`` and fsynced: the temporary file
   is not data (``MqttTable.remove_leftovers`` deletes it); the small parts are the table;
2. renamed into place, folder fsynced: the commit. The merged part covers the seq range of
   the small ones, so readers (``MqttTable.scan``) take it and pass over them;
3. the small parts are deleted, folder fsynced: what a kill left of them is deleted by the
   next compaction (``superseded``).

So a row is never lost and never read twice, whatever moment the process dies. Only parts
whose acknowledgements have settled (seq <= the ``acked.json`` mark) are merged: the ingest
still needs the unsettled ones, one file per batch, to recognise redeliveries.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from twinflow_studio.twinstat.mqtt_table import MqttTable, Part, fsync_dir

log = logging.getLogger(__name__)

# A part smaller than this is merged with its neighbours, up to this size for the result.
SMALL_BYTES = 8 * 1024 * 1024
# Fewer small parts than this in a run are left alone (not worth rewriting yet).
MIN_RUN = 8


@dataclass
class CompactResult:
    merged: int = 0  # small parts merged
    written: int = 0  # merged parts written
    removed: int = 0  # superseded parts of an earlier, interrupted compaction deleted


def _size(part: Part) -> int | None:
    try:
        return part.path.stat().st_size
    except FileNotFoundError:
        return None


def _runs(parts: list[Part], upto: int, small: int, min_run: int) -> list[list[Part]]:
    """Runs of consecutive small parts of one day, settled (seq <= upto), each at most
    ``small`` bytes in all."""
    runs: list[list[Part]] = []
    run: list[Part] = []
    total = 0
    for part in parts:
        size = _size(part)
        eligible = size is not None and part.seq <= upto and size < small
        if eligible and run and part.path.parent == run[-1].path.parent:
            assert size is not None
            if total + size <= small:
                run.append(part)
                total += size
                continue
        if len(run) >= min_run:
            runs.append(run)
        run, total = ([part], size or 0) if eligible else ([], 0)
    if len(run) >= min_run:
        runs.append(run)
    return runs


def remove_superseded(table: MqttTable) -> int:
    """Delete the parts an interrupted compaction left behind its merged part."""
    _, superseded = table.scan()
    folders = set()
    for part in superseded:
        part.path.unlink(missing_ok=True)
        folders.add(part.path.parent)
    for folder in folders:
        fsync_dir(folder)
    return len(superseded)


def merge(table: MqttTable, run: list[Part]) -> Path:
    """Write ``run`` (consecutive parts of one folder) as one part, then delete it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = run[0].path.parent
    final = folder / (
        f"part-{run[0].start:012d}-{run[-1].seq:012d}-{max(p.last_ms for p in run)}.parquet"
    )
    tmp = folder / f".{final.name}.tmp"
    merged = pa.concat_tables([pq.read_table(p.path) for p in run], promote_options="permissive")
    with open(tmp, "wb") as fh:
        pq.write_table(merged, fh, compression="snappy")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)  # the commit: from here the merged part supersedes the run
    fsync_dir(folder)
    for part in run:
        part.path.unlink(missing_ok=True)
    fsync_dir(folder)
    return final


def compact(
    table: MqttTable,
    *,
    upto: int | None = None,
    small: int = SMALL_BYTES,
    min_run: int = MIN_RUN,
    max_runs: int | None = None,
) -> CompactResult:
    """Merge runs of small settled parts (seq <= ``upto``, default the acknowledged mark);
    at most ``max_runs`` of them, so a caller can bound the time one call takes."""
    result = CompactResult(removed=remove_superseded(table))
    mark = table.acked_seq() if upto is None else upto
    for run in _runs(table.parts(), mark, small, min_run)[:max_runs]:
        merge(table, run)
        result.merged += len(run)
        result.written += 1
    if result.written:
        log.info(
            "mqtt table %s: %d part(s) merged into %d", table.root, result.merged, result.written
        )
    return result
