"""The lineage writer: an engine subscriber that never blocks, and a thread that delivers.

``subscriber(event)`` converts the event to graph operations and appends them to the durable
outbox (one ``write`` call), then returns. A background thread reads the outbox from its cursor
in batches, upserts them with one traversal per batch, and moves the cursor on success. While
the database is unreachable the thread retries with backoff; records wait in the outbox (also
across restarts) and are delivered later in order.
"""

from __future__ import annotations

import errno
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from twinflow_studio.lineage import schema as s
from twinflow_studio.lineage.outbox import Entry, Outbox
from twinflow_studio.lineage.records import RecordConverter

log = logging.getLogger(__name__)

_MAX_BACKOFF = 10.0


def _no_room(err: BaseException) -> bool:
    """A full disk (the graph's own files, or the bulk import's scratch file): the entry is
    fine and waits in the outbox, it is not set aside as refused."""
    current: BaseException | None = err
    while current is not None:
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(current)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        current = current.__cause__
    return False


class ConnectionHolder:
    """One lazily opened connection, re-opened after a failure (remote backends)."""

    def __init__(self, factory: Callable[[], RemoteConnection], reconnect: bool) -> None:
        self._factory = factory
        self._reconnect = reconnect
        self._conn: RemoteConnection | None = None
        self._lock = threading.Lock()

    def get(self) -> RemoteConnection:
        with self._lock:
            if self._conn is None:
                self._conn = self._factory()
            return self._conn

    def reset(self, force: bool = False) -> None:
        """Drops the connection so the next ``get`` opens a new one (remote backends; and the
        embedded graph with ``force``, after a write the disk refused: reopening replays its
        log, so what is in memory is what is on disk)."""
        if not self._reconnect and not force:
            return
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                log.debug("closing a failed lineage connection failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def write_ops(conn: RemoteConnection, ops: list[s.Op], batch_ops: int) -> None:
    """Upserts ``ops`` (already merged) in traversals of at most ``batch_ops`` operations.

    The embedded connection takes the operations themselves (``upsert``), which means the
    same as the batch traversal but skips making bytecode only to read it back."""
    upsert: Callable[[list[s.Op]], None] | None = getattr(conn, "upsert", None)
    if upsert is not None:
        for start in range(0, len(ops), batch_ops):
            upsert(ops[start : start + batch_ops])
        return
    g = traversal().with_(conn)
    for start in range(0, len(ops), batch_ops):
        s.batch_traversal(g, ops[start : start + batch_ops]).iterate()


class LineageWriter:
    def __init__(self, outbox: Outbox, connections: ConnectionHolder, batch_ops: int) -> None:
        self._outbox = outbox
        self._connections = connections
        self._batch_ops = batch_ops
        self._converter = RecordConverter()
        self._wake = threading.Condition()
        self._delivered = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.no_room = False  # the last delivery failed on a full disk
        self.delivered_events = 0

    # -- engine side ----------------------------------------------------------------------
    def subscriber(self, event: Any) -> None:
        """An engine subscriber: converts and appends, never raises, never waits on I/O
        beyond one ``write`` to a local file."""
        try:
            ops = self._converter.ops_for(event)
            if not ops:
                return
            self._outbox.append([op.to_json() for op in ops])
        except Exception:  # noqa: BLE001 - lineage must never take the engine down
            log.exception("lineage: could not record %s", type(event).__name__)
            return
        with self._wake:
            self._wake.notify()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="lineage-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._wake:
            self._stop = True
            self._wake.notify()
        thread.join(timeout)
        self._thread = None

    def pending_bytes(self) -> int:
        return max(0, self._outbox.size() - self._outbox.cursor)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until everything appended so far is in the database; ``False`` on timeout.

        In a process that does not deliver (another one holds the outbox), this waits for
        that process's delivery, or for this one to take over when the other lets go."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._outbox.retry_pending()
        target = self._outbox.size()
        with self._wake:
            self._wake.notify()
        with self._delivered:
            while (
                self._outbox.pending_lines or self._outbox.cursor < target
            ) and not self._compacted_past(target):
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or self.no_room:
                    if not self._outbox.owner:
                        pid = self._outbox.owner_pid()
                        self.last_error = (
                            f"another process{f' ({pid})' if pid else ''} holds the outbox "
                            "and has not delivered them yet"
                        )
                    return False  # the records wait in the outbox for later
                # Polled too: another process's delivery notifies nobody here.
                self._delivered.wait(min(remaining, 0.2) if remaining is not None else 0.2)
                if self._outbox.pending_lines and self._outbox.retry_pending():
                    target = self._outbox.size()
        return True

    def _compacted_past(self, target: int) -> bool:
        # After compaction the cursor restarts at 0; an empty outbox means all delivered.
        return self._outbox.cursor == self._outbox.size() and self._outbox.cursor < target

    # -- delivery thread -------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.2
        while True:
            if self._outbox.pending_lines:
                self._outbox.retry_pending()  # the disk was full; is there room now?
            if not self._outbox.try_own():
                # Another process delivers (records appended here included); take over
                # once it lets go.
                with self._wake:
                    if self._stop:
                        return
                    self._wake.wait(0.5)
                continue
            with self._wake:
                if self._stop and self._outbox.cursor >= self._outbox.size():
                    return
                if self._outbox.cursor >= self._outbox.size():
                    self._wake.wait(1.0)
                    continue
            try:
                delivered = self.deliver_once()
            except Exception as err:  # noqa: BLE001 - keep retrying; the outbox keeps the data
                self.last_error = f"{type(err).__name__}: {err}"
                self.no_room = _no_room(err)
                log.warning("lineage: delivery failed, will retry: %s", self.last_error)
                self._connections.reset(force=_no_room(err))
                with self._wake:
                    if self._stop:
                        return
                    self._wake.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = 0.2
            if delivered:
                self.last_error = None
                self.no_room = False

    def deliver_once(self) -> int:
        """Delivers one batch from the cursor; returns the number of events delivered."""
        conn = self._connections.get()
        # A batch allocates hundreds of thousands of containers that all live until it is
        # written; the cyclic collector would scan them (and the rest of the heap) again and
        # again for nothing, which cost as much as the Python work itself. It is paused for
        # this batch only, and only on the embedded backend, where the batch is pure in-process
        # work (process-wide, so for a few hundred milliseconds at most, never across network
        # waits; the batch makes no reference cycles, so reference counting frees it all).
        paused = gc.isenabled() and getattr(conn, "upsert", None) is not None
        if paused:
            gc.disable()
        try:
            return self._deliver_batch(conn)
        finally:
            if paused:
                gc.enable()

    def _deliver_batch(self, conn: RemoteConnection) -> int:
        entries = self._outbox.read(self._batch_ops)
        if not entries:
            return 0
        self._outbox.sync()
        ops: list[s.Op] = []
        good: list[Entry] = []
        # Each line is self-contained, so most repeat the upserts of the run, the image and the
        # artifact the previous task made. A vertex upsert equal to the latest one read for
        # the same id changes nothing once merged (``merge_ops``): it is skipped here.
        latest: dict[str, Any] = {}
        for entry in entries:
            try:
                if entry.ops is None:
                    raise ValueError("damaged line")
                entry_ops: list[s.Op] = []
                entry_latest: dict[str, Any] = {}
                for item in entry.ops:
                    key = item.get("id") if type(item) is dict and "v" in item else None
                    if type(key) is str:
                        if (entry_latest.get(key) or latest.get(key)) == item:
                            continue
                        entry_latest[key] = item
                    entry_ops.append(s.op_from_json(item))
                # Only a line read whole counts: a refused one contributes nothing.
                ops.extend(entry_ops)
                latest.update(entry_latest)
                good.append(entry)
            except (ValueError, TypeError) as err:
                self._outbox.reject(entry, f"unreadable: {err}")
        if ops:
            try:
                write_ops(conn, s.merge_ops(ops), self._batch_ops)
            except Exception as err:
                if len(good) == 1 or _no_room(err) or not self._backend_answers(conn):
                    raise
                # The backend works but refused this batch: isolate the entry at fault.
                for entry in good:
                    self._deliver_single(conn, entry)
        self._outbox.advance(entries[-1].end)
        self.delivered_events += len(entries)
        with self._delivered:
            self._delivered.notify_all()
        return len(entries)

    def _deliver_single(self, conn: RemoteConnection, entry: Entry) -> None:
        ops = [s.op_from_json(item) for item in entry.ops or ()]
        try:
            write_ops(conn, s.merge_ops(ops), self._batch_ops)
        except Exception as err:
            if _no_room(err) or not self._backend_answers(conn):
                raise  # retried later: a full disk refuses everything, not this entry
            log.error(
                "lineage: the database refused an entry, kept in %s: %s",
                self._outbox.rejected_path,
                err,
            )
            self._outbox.reject(entry, f"refused: {err}")

    @staticmethod
    def _backend_answers(conn: RemoteConnection) -> bool:
        try:
            traversal().with_(conn).inject(0).to_list()
        except Exception:  # noqa: BLE001
            return False
        return True
