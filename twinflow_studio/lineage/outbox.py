"""A durable, append-only outbox of lineage operations with a delivery cursor.

``outbox.jsonl`` holds one JSON line per engine event (its graph operations); ``outbox.cursor``
holds the byte offset up to which lines were delivered. Appends are single unbuffered
``write`` calls (in the kernel once they return, so a killed process loses nothing); the
reader fsyncs before delivering, so a batch that reached the database is also on disk.
Delivery is at-least-once and the upserts are idempotent, so a crash between delivery and
cursor update only re-sends what is already there.

Several processes may hold one outbox (the studio beside a CLI run, two CLI runs): every one
appends (``O_APPEND`` writes of whole lines do not interleave), one at a time delivers. The
deliverer is whoever holds ``outbox.lock`` (``flock``, released by the kernel when its process
dies); the others take it over when it is released (``try_own``). Each appender holds
``outbox.append.lock`` shared; what rewrites the file in place (dropping a torn tail,
compaction) needs it exclusive, i.e. only while nobody else appends.

When the disk is full an append keeps its line in memory, in order, and retries with the next
append, ``sync`` or ``close``; the outbox also keeps a small reserve file it deletes on the first
``ENOSPC`` so that the lines of the run in progress still reach the disk (the reserve is made
again when space returns).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.lineage import fastjson
from twinflow_studio.project.errors import TwinFlowError

log = logging.getLogger(__name__)

_COMPACT_BYTES = 64 << 20
RESERVE_BYTES = 256 << 10
# Errors that mean "no room", not "broken": the line is kept and retried.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutboxBusyError(TwinFlowError, RuntimeError):
    """Kept for callers written when one process at a time could hold an outbox; no longer
    raised (a second process appends and the first delivers)."""


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
        self.reserve_path = directory / "outbox.reserve"
        self._owner_lock = open(directory / "outbox.lock", "a+b")  # noqa: SIM115
        self._append_lock_file = open(directory / "outbox.append.lock", "a+b")  # noqa: SIM115
        self._owner = False
        self._own_lock = threading.Lock()
        self._append_lock = threading.Lock()
        self._pending: list[bytes] = []
        if self._exclusive_append():
            # Nobody else appends: a torn tail is a dead process's, safe to drop.
            self._drop_torn_tail()
        # Shared from now on (a downgrade, or a wait while another process compacts).
        fcntl.flock(self._append_lock_file, fcntl.LOCK_SH)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._cursor = 0
        self.try_own()
        self._make_reserve()

    # -- who delivers --------------------------------------------------------------------
    @property
    def owner(self) -> bool:
        """Whether this process delivers (holds ``outbox.lock``)."""
        return self._owner

    def try_own(self) -> bool:
        """Becomes the deliverer if nobody else is; ``True`` when this process is it."""
        with self._own_lock:
            if self._owner:
                return True
            try:
                fcntl.flock(self._owner_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._owner = True
            self._cursor = self._read_cursor()
            try:
                self._owner_lock.truncate(0)
                self._owner_lock.write(str(os.getpid()).encode())
                self._owner_lock.flush()
            except OSError:
                pass  # the pid only serves messages
            return True

    def owner_pid(self) -> int | None:
        """The pid the current deliverer wrote (for messages), if any."""
        try:
            return int((self.directory / "outbox.lock").read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _exclusive_append(self) -> bool:
        try:
            fcntl.flock(self._append_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    # -- disk-full reserve ---------------------------------------------------------------
    def _make_reserve(self) -> None:
        if self.reserve_path.exists():
            return
        try:
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError:
            return
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError:
            os.close(fd)
            self.reserve_path.unlink(missing_ok=True)  # no room for it now: next time
            return
        os.close(fd)

    def _release_reserve(self) -> bool:
        try:
            self.reserve_path.unlink()
        except OSError:
            return False
        log.warning("lineage: the disk is full; the outbox used its reserve (%s)", self.directory)
        return True

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
        # Another process delivers: its cursor file says how far (written atomically).
        return self._cursor if self._owner else self._read_cursor()

    @property
    def pending_lines(self) -> int:
        """Lines kept in memory because the disk was full."""
        return len(self._pending)

    def append(self, ops: list[dict[str, Any]]) -> None:
        """Appends one event's operations with one ``write`` (one system call: each one
        releases the GIL, and the engine's thread then waits for it behind the writer).
        When the disk is full the line waits in memory (in order) for the next try."""
        line = fastjson.dumps(ops) + b"\n"
        with self._append_lock:
            if self._pending:
                self._pending.append(line)
                self._write_pending()
                return
            try:
                os.write(self._fd, line)
            except OSError as err:
                if err.errno not in _NO_SPACE:
                    raise
                self._pending.append(line)
                if self._release_reserve():
                    self._write_pending()

    def _write_pending(self) -> None:
        # Called with _append_lock held. A short write (the disk filled up mid-line) is cut
        # back so that no torn line stays in the file for other lines to be glued onto.
        while self._pending:
            line = self._pending[0]
            try:
                start = os.lseek(self._fd, 0, os.SEEK_END)
                written = os.write(self._fd, line)
            except OSError as err:
                if err.errno not in _NO_SPACE:
                    raise
                return
            if written != len(line):
                # Cut the torn start of the line back off, unless another process appended
                # behind it meanwhile (then the glued line is set aside as damaged on delivery,
                # never lost silently, and this line is written again whole).
                if os.fstat(self._fd).st_size == start + written:
                    os.ftruncate(self._fd, start)
                return
            self._pending.pop(0)

    def retry_pending(self) -> bool:
        """Tries again to write what waits in memory; ``True`` when nothing waits."""
        with self._append_lock:
            if self._pending:
                self._write_pending()
            if not self._pending:
                self._make_reserve()
            return not self._pending

    def sync(self) -> None:
        self.retry_pending()
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
        try:
            with open(tmp, "w") as handle:
                handle.write(str(offset))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.cursor_path)
        except OSError:
            # No room for the cursor: what was delivered is delivered again later (the
            # upserts are idempotent); in this process the cursor still moves on.
            tmp.unlink(missing_ok=True)
            log.warning("lineage: cannot write %s; delivery resumes from there", self.cursor_path)
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
            if self._cursor != self.size() or self._pending:
                return
            # Other processes append to this file too: only when none does (their shared
            # lock) may it be cut. A failed conversion may drop our shared lock: retaken.
            if not self._exclusive_append():
                fcntl.flock(self._append_lock_file, fcntl.LOCK_SH)
                return
            try:
                if self._cursor != self.size():
                    return
                # Cursor first: a crash between the two steps re-sends (harmlessly) instead
                # of skipping lines appended after the truncation.
                self._cursor = 0
                tmp = self.cursor_path.with_suffix(".tmp")
                tmp.write_text("0")
                os.replace(tmp, self.cursor_path)
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._append_lock_file, fcntl.LOCK_SH)

    def close(self) -> None:
        with self._append_lock:
            if self._fd >= 0:
                if self._pending:
                    self._write_pending()
                if self._pending:
                    log.error(
                        "lineage: the disk is full; %d record(s) could not be kept in %s",
                        len(self._pending),
                        self.path,
                    )
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = -1
        with self._own_lock:
            if self._owner:
                self._owner = False
                fcntl.flock(self._owner_lock, fcntl.LOCK_UN)
        self._owner_lock.close()
        fcntl.flock(self._append_lock_file, fcntl.LOCK_UN)
        self._append_lock_file.close()
