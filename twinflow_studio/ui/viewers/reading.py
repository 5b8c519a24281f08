"""Bounded reads of run outputs, which are untrusted container output.

A file is opened without following a link (``O_NOFOLLOW``) and without blocking (a FIFO a
container left must not hang the studio), and only when it is a regular file; readers get
no more than they ask for, and count what they took (the table view's promise not to read a
large file whole is tested on that count).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from twinflow_studio.engine.errors import EngineError


class UnreadableOutput(EngineError):
    """An output the studio will not read: not a regular file, a link, gone, too large."""


class CountingReader(io.RawIOBase):
    """A raw reader over a file descriptor that counts the bytes handed out."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, io.SEEK_CUR)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = os.read(self._fd, len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_regular(path: Path) -> CountingReader:
    """``path`` opened for reading when it is a regular file reached without a final link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise UnreadableOutput(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableOutput(f"{path} is not a regular file; it is not shown")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return CountingReader(fd)


def file_size(path: Path) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def read_head(path: Path, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes from the start of ``path``, and whether there was more."""
    with open_regular(path) as raw:
        data = bytearray()
        while len(data) <= limit:
            chunk = raw.read(min(1 << 20, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    return bytes(data[:limit]), len(data) > limit


def read_all(path: Path, limit: int) -> bytes:
    """The whole of ``path``, refused when it is larger than ``limit``."""
    data, more = read_head(path, limit)
    if more:
        raise UnreadableOutput(f"{path} is larger than {limit >> 20} MB; not loaded")
    return data


def read_tail(path: Path, limit: int) -> tuple[bytes, bool]:
    """At most the last ``limit`` bytes of ``path``, and whether there was more before."""
    with open_regular(path) as raw:
        size = os.fstat(raw._fd).st_size
        start = max(0, size - limit)
        raw.seek(start)
        data = bytearray()
        while len(data) < limit:
            chunk = raw.read(limit - len(data))
            if not chunk:
                break
            data += chunk
    return bytes(data), start > 0
