"""A durable, append-only outbox of lineage operations with a delivery cursor.

``outbox.jsonl`` holds one JSON line per engine event (its graph operations); ``outbox.cursor``
holds the byte offset up to which lines were delivered. Appends are single unbuffered
``write`` calls (in the kernel once they return, so a killed process loses nothing); the
reader fsyncs before delivering, so a batch that reached the database is also on disk.
Delivery is at-least-once and the upserts are idempotent, so a crash between delivery and
cursor update only re-sends what is already there.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.lineage import fastjson

_COMPACT_BYTES = 64 << 20


class OutboxBusyError(RuntimeError):
    """Another process holds this outbox (one writer per lineage directory)."""


@dataclass(frozen=True)
class Entry:
    end: int  # byte offset just after this line: the cursor once it is delivered
    ops: list[dict[str, Any]] | None  # None when the line is damaged
    raw: bytes


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "outbox.jsonl"
        self.cursor_path = directory / "outbox.cursor"
        self.rejected_path = directory / "outbox.rejected.jsonl"
        self._lock_file = open(directory / "outbox.lock", "a+b")  # noqa: SIM115
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            self._lock_file.close()
            raise OutboxBusyError(
                f"the lineage outbox in {directory} is in use by another process"
            ) from err
        self._append_lock = threading.Lock()
        self._drop_torn_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._cursor = self._read_cursor()

    def _drop_torn_tail(self) -> None:
        # A line cut by a crash mid-write was never acknowledged; drop it so later lines
        # do not get glued onto it.
        if not self.path.exists():
            return
        with open(self.path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            chunk = 1 << 16
            pos = size
            while pos > 0:
                start = max(0, pos - chunk)
                handle.seek(start)
                data = handle.read(pos - start)
                index = data.rfind(b"\n")
                if index >= 0:
                    handle.truncate(start + index + 1)
                    return
                pos = start
            handle.truncate(0)

    def _read_cursor(self) -> int:
        try:
            value = int(self.cursor_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            # A damaged cursor only costs re-delivery of idempotent upserts.
            return 0
        return min(max(value, 0), self.size())

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    @property
    def cursor(self) -> int:
        return self._cursor

    def append(self, ops: list[dict[str, Any]]) -> None:
        """Appends one event's operations with one ``write`` (one system call: each one
        releases the GIL, and the engine's thread then waits for it behind the writer)."""
        line = fastjson.dumps(ops) + b"\n"
        with self._append_lock:
            os.write(self._fd, line)

    def sync(self) -> None:
        os.fsync(self._fd)

    def read(self, max_ops: int) -> list[Entry]:
        """Undelivered entries from the cursor, at least one, up to about ``max_ops`` ops."""
        entries: list[Entry] = []
        count = 0
        with open(self.path, "rb") as handle:
            handle.seek(self._cursor)
            offset = self._cursor
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # being written right now
                offset += len(raw)
                try:
                    ops = fastjson.loads(raw)
                    if not isinstance(ops, list):
                        raise ValueError("not a list")
                except ValueError:
                    ops = None
                entries.append(Entry(offset, ops, raw))
                count += len(ops or ())
                if count >= max_ops:
                    break
        return entries

    def advance(self, offset: int) -> None:
        """Records that everything before ``offset`` is delivered (atomic, durable)."""
        tmp = self.cursor_path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            handle.write(str(offset))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.cursor_path)
        self._cursor = offset
        if offset >= _COMPACT_BYTES:
            self._compact()

    def reject(self, entry: Entry, reason: str) -> None:
        """Keeps an undeliverable entry aside (never silently dropped) with the reason."""
        record = {"reason": reason, "line": entry.raw.decode(errors="replace").rstrip("\n")}
        with open(self.rejected_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _compact(self) -> None:
        with self._append_lock:
            if self._cursor != self.size():
                return
            # Cursor first: a crash between the two steps re-sends (harmlessly) instead of
            # skipping lines appended after the truncation.
            self._cursor = 0
            tmp = self.cursor_path.with_suffix(".tmp")
            tmp.write_text("0")
            os.replace(tmp, self.cursor_path)
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        with self._append_lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()
