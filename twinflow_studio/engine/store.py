"""The run store: every output becomes a content-hashed artifact under
``<project dir>/.twinflow/runs/<run id>/<node id>/<port>``, and a cache index maps a node's
cache key to the artifacts it produced."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from twinflow_studio.engine.events import ArtifactRef
from twinflow_studio.engine.paths import child_path, file_uri_path, run_path, safe_suffix
from twinflow_studio.project.hashing import canonical_json, hash_path, path_size

log = logging.getLogger(__name__)


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)
        self.cache = CacheIndex(root / "cache.sqlite")
        self._value_dirs: set[str] = set()

    def run_dir(self, run_id: str) -> Path:
        return run_path(self.runs, run_id)

    def collect(
        self,
        run_id: str,
        node_id: str,
        port: str,
        port_type: str,
        value: Any,
        producer: str = "",
    ) -> ArtifactRef:
        """Move (or write) one output into its final place, hash it and record what wrote
        it (``producer``, see :func:`producer_of`)."""
        if not isinstance(value, Path):
            return self._collect_value(run_id, node_id, port, port_type, value, producer)
        if not value.exists():
            raise FileNotFoundError(f"output {port!r}: {value} does not exist")
        node_dir = child_path(self.run_dir(run_id), node_id)
        final_dir = node_dir / "outputs"
        suffix = "" if value.is_dir() else safe_suffix("".join(value.suffixes[-1:]))
        dest = child_path(final_dir, port, suffix)
        final_dir.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            _remove(dest)
        if _inside(value, node_dir):
            value.rename(dest)
        elif value.is_dir():
            shutil.copytree(value, dest)
        else:
            shutil.copy2(value, dest)
        return ArtifactRef(
            port=port,
            type=port_type,
            uri=dest.resolve().as_uri(),
            sha256=hash_path(dest),
            size=path_size(dest),
            kind="dir" if dest.is_dir() else "file",
            producer=producer,
        )

    def _collect_value(
        self, run_id: str, node_id: str, port: str, port_type: str, value: Any, producer: str
    ) -> ArtifactRef:
        # All of a run's values share one folder ('~' cannot occur in a node id), which saves
        # two directory creations per node: most of the cost of a small value.
        folder = self.run_dir(run_id) / "values"
        if run_id not in self._value_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self._value_dirs.add(run_id)
        data = canonical_json(value).encode("utf-8")
        # Both names are checked; '~' (in neither) joins them into one file name.
        dest = folder / f"{child_path(folder, node_id).name}~{child_path(folder, port).name}.json"
        dest.write_bytes(data)
        return ArtifactRef(
            port=port,
            type=port_type,
            uri=dest.absolute().as_uri(),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            kind="value",
            producer=producer,
        )

    def close(self) -> None:
        self.cache.close()


def producer_of(node_kind: str, target_kind: str) -> str:
    """The producer the run store records for a node's outputs: the kind of target that ran
    it, except for a data source, which hands on bytes it did not write (a user's file, an S3
    object a Batch job may have put there) whichever target copied them."""
    return "external" if node_kind == "datasource" else target_kind


def artifact_path(ref: ArtifactRef) -> Path:
    if not ref.uri.startswith("file://"):
        raise ValueError(f"artifact {ref.port!r} is not local: {ref.uri}")
    return Path(file_uri_path(ref.uri))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


class CacheIndex:
    """cache key -> (run id, outputs). Committed in batches: a crash loses at most the last
    uncommitted entries, which only means those nodes run again.

    ``put`` only queues an entry; ``flush`` writes the queue, on whatever thread calls it
    (the scheduler calls it on a worker thread while the run goes on). Entries being written
    stay readable, and reads go through a second connection, so neither ``put`` nor ``get``
    waits for a write (SQLite's WAL lets one writer and readers work at once)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()  # the queues below: held only to look or swap
        self._write_lock = threading.Lock()  # one flush at a time
        try:
            self._db = self._open(path)
            try:
                self._reader = self._open(path)
            except sqlite3.Error:
                self._db.close()
                raise
            self._read_lock = threading.Lock()
        except sqlite3.Error as exc:
            # A full disk (or a damaged file): this run works without the saved cache (its
            # nodes run), rather than not at all.
            log.warning("the run cache %s cannot be opened (%s); running without it", path, exc)
            self._db = self._reader = self._open(":memory:")  # one database: one connection
            self._read_lock = self._write_lock
        self._pending: dict[str, tuple[str, str, str, str, str]] = {}
        self._pending_latest: dict[str, tuple[str, str]] = {}
        # Taken from the queues by the flush that is writing them, until it has committed.
        self._flushing: dict[str, tuple[str, str, str, str, str]] = {}
        self._flushing_latest: dict[str, tuple[str, str]] = {}

    @staticmethod
    def _open(path: Path | str) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # WITHOUT ROWID: keyed by the key alone, one B-tree a row instead of two (a flush
        # takes half as long). Cache files made before this keep their rowid tables; the
        # queries are the same for both.
        db.execute(
            "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, node_id TEXT, run_id TEXT,"
            " outputs TEXT, metrics TEXT) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS latest (node_id TEXT PRIMARY KEY, run_id TEXT,"
            " outputs TEXT) WITHOUT ROWID"
        )
        return db

    def get(self, key: str) -> tuple[str, list[ArtifactRef], dict[str, Any]] | None:
        entry = self._queued(key)
        if entry is None:
            with self._read_lock:
                row = self._reader.execute(
                    "SELECT run_id, outputs, metrics FROM cache WHERE key=?", (key,)
                ).fetchone()
            if row is None:
                # A flush that failed puts its entries back in the queue, maybe after the
                # first look: look again rather than rerun the node for nothing.
                entry = self._queued(key)
            else:
                return row[0], _refs(row[1]), json.loads(row[2])
        if entry is None:
            return None
        return entry[2], _refs(entry[3]), json.loads(entry[4])

    def _queued(self, key: str) -> tuple[str, str, str, str, str] | None:
        with self._lock:
            return self._pending.get(key) or self._flushing.get(key)

    def latest_all(self) -> dict[str, tuple[str, list[ArtifactRef]]]:
        """Every node's last successful outputs, read in one query at the start of a run."""
        with self._read_lock:
            rows = self._reader.execute("SELECT node_id, run_id, outputs FROM latest").fetchall()
        with self._lock:  # queued entries are newer than any row: they come last and win
            for queue in (self._flushing_latest, self._pending_latest):
                rows += [(n, r, o) for n, (r, o) in queue.items()]
        return {node_id: (run_id, _refs(outputs)) for node_id, run_id, outputs in rows}

    def put(
        self,
        key: str,
        node_id: str,
        run_id: str,
        outputs: list[ArtifactRef],
        metrics: dict[str, Any],
    ) -> None:
        encoded = json.dumps([asdict(o) for o in outputs]) if outputs else "[]"
        figures = json.dumps(metrics, default=str) if metrics else "{}"
        with self._lock:
            self._pending[key] = (key, node_id, run_id, encoded, figures)
            self._pending_latest[node_id] = (run_id, encoded)

    @property
    def queued(self) -> int:
        """Entries waiting for a flush."""
        return len(self._pending)

    def flush(self) -> None:
        """Commits the queued entries. A full disk (or another database error) queues them
        again for the next flush instead of failing the run: a lost cache entry only means
        the node runs again."""
        with self._write_lock:
            with self._lock:
                if not self._pending and not self._pending_latest:
                    return
                entries, latest = self._pending, self._pending_latest
                self._flushing, self._flushing_latest = entries, latest
                self._pending, self._pending_latest = {}, {}
            try:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO cache VALUES (?,?,?,?,?)", list(entries.values())
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO latest VALUES (?,?,?)",
                    [(n, r, o) for n, (r, o) in latest.items()],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                with self._lock:  # back in the queue, behind anything put since
                    self._pending = {**entries, **self._pending}
                    self._pending_latest = {**latest, **self._pending_latest}
                log.warning("the run cache could not be saved (%s); it is tried again", exc)
            finally:
                with self._lock:
                    self._flushing, self._flushing_latest = {}, {}

    def close(self) -> None:
        self.flush()
        for db in [self._db] if self._reader is self._db else [self._db, self._reader]:
            try:
                db.close()
            except sqlite3.Error as exc:
                log.warning("closing the run cache failed: %s", exc)


def _refs(encoded: str) -> list[ArtifactRef]:
    return [ArtifactRef(**item) for item in json.loads(encoded)]
