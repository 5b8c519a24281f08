"""The embedded backend: a gremlinpython ``RemoteConnection`` over an on-disk graphersal Store.

Traversals written with gremlinpython (``traversal().with_(conn)``) are translated to
graphersal scripts and run in-process; every submitted traversal is one atomic, durable commit
(the Store writes it to its write-ahead log before ``execute`` returns).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from pathlib import Path
from typing import Any

import graphersal
from gremlin_python.driver.remote_connection import RemoteConnection, RemoteTraversal
from gremlin_python.process.traversal import Bytecode, Traverser
from gremlin_python.structure.graph import Edge, Vertex

from twinflow_studio.lineage import bulk
from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.translate import translate
from twinflow_studio.project.errors import TwinFlowError

log = logging.getLogger(__name__)

_INDEXED_LABELS = (
    "Project",
    "ProjectVersion",
    "Run",
    "TaskRun",
    "Artifact",
    "Model",
    "ModelVersion",
    "TriggerEvent",
)


class EmbeddedError(TwinFlowError, RuntimeError):
    """The embedded graph refused a traversal; the message names the script that failed."""


class GraphersalConnection(RemoteConnection):
    """Runs gremlinpython bytecode on a graphersal graph kept in ``path`` (a Store directory)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(f"graphersal:{path}", "g")
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if (self._path / "").exists() and any(self._path.iterdir()):
                self._set_aside_unfinished_store()
            if (self._path / "").exists() and any(self._path.iterdir()):
                self._store = graphersal.Store.open(str(self._path))
            else:
                self._store = graphersal.Store.create(str(self._path))
        except graphersal.GraphersalError as err:
            raise EmbeddedError(f"cannot open the lineage store at {self._path}: {err}") from err
        self._graph = self._store.graph
        self._graph.set_limits(unlimited=True, max_value_depth=0)
        self._closed = False
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._ensure_indexes()

    def _set_aside_unfinished_store(self) -> None:
        """A process killed while it created the store leaves a folder without its ``GRAPH``
        file, which graphersal will never open. Nothing was ever committed to it (the
        records are still in the outbox, whose cursor only moves after a commit), so it is
        moved aside (kept, for a look) and a new store is made."""
        if (self._path / "GRAPH").exists() or (self._path / "GRAPH.copy").exists():
            return
        aside = self._path.with_name(f"{self._path.name}.unfinished-{int(time.time())}")
        log.warning("lineage: %s is an unfinished store; moved to %s", self._path, aside)
        self._path.rename(aside)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def graph(self) -> graphersal.Graph:
        """The live graph (for export/import helpers and diagnostics)."""
        return self._graph

    @property
    def store(self) -> graphersal.Store:
        return self._store

    def _ensure_indexes(self) -> None:
        existing = {index.get("name") for index in self._graph.indexes()}
        for label in _INDEXED_LABELS:
            if f"{label}_uid" not in existing:
                self._graph.create_index(label, "uid")

    def submit(self, bytecode: Bytecode) -> RemoteTraversal:
        if self._closed:
            raise EmbeddedError(f"the lineage store at {self._path} is closed")
        script, _ = translate(bytecode)
        try:
            result = self._graph.execute(script, atomic=True)
        except UnicodeEncodeError as err:
            # Only a traversal built by hand gets here: the lineage schema escapes lone
            # surrogates (schema.store_text) before anything reaches the graph.
            bad = err.object[err.start : err.end]
            raise EmbeddedError(
                f"the embedded graph stores UTF-8 text only; a string holds {bad!r} "
                "(a lone surrogate): pass it through schema.store_text first"
            ) from err
        except graphersal.GraphersalError as err:
            shown = script if len(script) < 600 else script[:600] + " ..."
            raise EmbeddedError(f"graphersal refused the traversal {shown}: {err}") from err
        if result is None:
            return RemoteTraversal(iter([]))
        if not isinstance(result, list):
            result = [result]
        return RemoteTraversal(iter([Traverser(_to_gremlin(item), 1) for item in result]))

    def upsert(self, ops: list[s.Op]) -> None:
        """What ``schema.batch_traversal(g, ops).iterate()`` does, without making and reading
        its bytecode: the embedded writer's path (``writer.write_ops``)."""
        if self._closed:
            raise EmbeddedError(f"the lineage store at {self._path} is closed")
        try:
            bulk.upsert(self._graph, ops, self._path.parent)
        except graphersal.GraphersalError as err:
            raise EmbeddedError(f"graphersal refused a batch of upserts: {err}") from err

    def submit_async(self, bytecode: Bytecode) -> concurrent.futures.Future[RemoteTraversal]:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, "graphersal-remote")
        return self._executor.submit(self.submit, bytecode)

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        try:
            self._store.close()
        except graphersal.GraphersalError as err:
            # Every commit is in the write-ahead log already; a close that cannot write its
            # clean-close mark (a full disk) only means the next open replays the log.
            log.warning("closing the lineage store at %s: %s", self._path, err)


def _to_gremlin(value: Any) -> Any:
    """graphersal's detached elements become gremlinpython's, so callers see one result type."""
    if isinstance(value, graphersal.Vertex):
        return Vertex(value.id, value.label or "")
    if isinstance(value, graphersal.Edge):
        return Edge(
            value.id,
            Vertex(value.out_v.id, value.out_v.label or ""),
            value.label or "",
            Vertex(value.in_v.id, value.in_v.label or ""),
        )
    if isinstance(value, list):
        return [_to_gremlin(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_gremlin(item) for key, item in value.items()}
    return value
