"""``open_lineage``: the one entry point the engine, CLI and UI use."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gremlin_python.driver.remote_connection import RemoteConnection

from twinflow_studio.lineage import graphson
from twinflow_studio.lineage.backends import BackendConfig, connection_factory
from twinflow_studio.lineage.outbox import Outbox
from twinflow_studio.lineage.queries import LineageQueries
from twinflow_studio.lineage.writer import ConnectionHolder, LineageWriter
from twinflow_studio.project.errors import TwinFlowError


class LineageBusyError(TwinFlowError, RuntimeError):
    """The embedded graph is open in another process (which delivers this one's records)."""


class LineageStore:
    """The lineage of one project directory: writer (``subscriber``), queries, export/import.

    Thread-based; ``start``/``close`` are cheap and never wait on the database, except that
    ``close`` gives the writer ``timeout`` seconds to deliver what is pending (the rest stays
    in the outbox for next time).
    """

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self._connections = ConnectionHolder(
            connection_factory(config), reconnect=config.backend != "embedded"
        )
        self.outbox = Outbox(config.path / "outbox")
        self.writer = LineageWriter(self.outbox, self._connections, config.batch_ops)
        self.queries = LineageQueries(self.connection)
        self._closed = False

    @property
    def backend(self) -> str:
        return self.config.backend

    @property
    def subscriber(self) -> Any:
        """The engine event subscriber (returns at once; never raises)."""
        return self.writer.subscriber

    def connection(self) -> RemoteConnection:
        """The live connection (opened on first use), for queries and custom traversals.

        The embedded graph has one process at a time: the one that delivers the outbox. In
        another process this raises ``LineageBusyError`` until that one lets go."""
        if self.config.backend == "embedded" and not self.outbox.try_own():
            pid = self.outbox.owner_pid()
            who = f"process {pid}" if pid else "another process"
            raise LineageBusyError(
                f"the embedded lineage graph in {self.config.path} is open in {who}; "
                "this process's records wait in the outbox and are delivered by it"
            )
        return self._connections.get()

    def start(self) -> LineageStore:
        self.writer.start()
        return self

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until everything recorded so far is in the database; ``False`` on timeout."""
        return self.writer.flush(timeout)

    def pending_bytes(self) -> int:
        return self.writer.pending_bytes()

    @property
    def last_error(self) -> str | None:
        return self.writer.last_error

    def export_graphson(self, path: Path) -> dict[str, int]:
        return graphson.export_graphson(self.connection(), Path(path))

    def import_graphson(self, path: Path) -> dict[str, int]:
        return graphson.import_graphson(self.connection(), Path(path), self.config.batch_ops)

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        self.writer.flush(timeout)
        self.writer.stop(timeout)
        # The graph first: whoever takes the outbox over next must be able to open it.
        self._connections.close()
        self.outbox.close()

    async def start_async(self) -> LineageStore:
        return self.start()

    async def aflush(self, timeout: float | None = None) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)

    async def aclose(self, timeout: float = 10.0) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close, timeout)

    def __enter__(self) -> LineageStore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lineage(project_dir: Path, config: Mapping[str, Any] | None = None) -> LineageStore:
    """The lineage store of ``project_dir`` configured by ``settings.lineage`` (``config``):
    ``{"backend": "embedded" | "gremlin-server" | "neptune", "url": ..., "region": ...,
    "path": ..., "batch_ops": ..., "timeout": ...}``. Not started: call ``start()`` (or use it
    as a context manager). Raises ``LineageConfigError`` for a malformed config."""
    return LineageStore(BackendConfig.from_settings(Path(project_dir), config))
