"""Bringing outputs back from an untrusted container or Batch job into the run folder.

What a container wrote, or the archive a Batch job uploaded, is hostile input. Both paths
end here, and both rebuild the outputs as a fresh tree that we create ourselves under
``dest``: only regular files and directories, each created with ``O_EXCL``/``O_NOFOLLOW``
relative to an open directory descriptor (never by path), at most ``max_bytes`` in all.
Symbolic links, hard links, FIFOs, devices and sockets are refused by name, and nothing is
ever opened before its type is known, so a FIFO can no longer block the collector. The work
checks a cancel flag between entries and between chunks: a node timeout or a cancel stops it.

Our own member check decides what leaves a tar archive; ``tarfile`` only parses the stream
and we write the bytes, so the outcome does not depend on the Python patch level (the data
filter of 3.11 before its 2025 security release is bypassable).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.project.errors import TwinFlowError

MIB = 1024 * 1024
CHUNK = 4 * MIB
# An output tree is data, not a file system: these bound the work an inode bomb can cause.
MAX_ENTRIES = 100_000
MAX_DEPTH = 64
MAX_OPEN_DIRS = 128
# A pax or GNU long-name header is read into memory by tarfile: keep it small.
MAX_TAR_HEADER = 1 * MIB
_TAR_KINDS = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE)
_HEADER_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Flag(Protocol):
    def is_set(self) -> bool: ...


class UnsafeOutput(TaskFailed):
    """An output that must not enter the run store; a retry would produce it again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class CollectionCancelled(TwinFlowError):
    """The node timed out or was cancelled while its outputs were being collected."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_entries: int = MAX_ENTRIES
    max_depth: int = MAX_DEPTH
    # Where the cap comes from, for the message that tells the user how to raise it.
    source: str = ""

    @classmethod
    def for_profile(cls, name: str, max_output_mib: int) -> Limits:
        return cls(
            max_bytes=int(max_output_mib) * MIB,
            source=f"max_output_mib = {max_output_mib} of hardware profile {name!r}",
        )


# -- the tree we write -----------------------------------------------------------------------


class _Tree:
    """``dest`` and everything below it, created by us through directory descriptors."""

    def __init__(self, dest: Path, limits: Limits, cancelled: Flag | None) -> None:
        discard(dest)
        dest.mkdir(parents=True, mode=0o755)
        self.dest = dest
        self.limits = limits
        self.cancelled = cancelled
        self.total = 0
        self.entries = 0
        self._fds: dict[tuple[str, ...], int] = {(): os.open(dest, _DIR_FLAGS)}

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise CollectionCancelled()

    def count(self, name: str, depth: int) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeOutput(
                f"output entry {name!r}: more than {self.limits.max_entries} files and "
                "folders in the outputs; pack them into an archive"
            )
        if depth > self.limits.max_depth:
            raise UnsafeOutput(
                f"output entry {name!r}: folders nested deeper than {self.limits.max_depth}"
            )

    def reserve(self, name: str, size: int) -> None:
        if self.total + size > self.limits.max_bytes:
            raise UnsafeOutput(
                f"output entry {name!r}: the outputs exceed the size cap of "
                f"{_mib(self.limits.max_bytes)} ({self.limits.source}); raise it in the "
                "profile if this is expected"
            )

    def directory(self, parts: tuple[str, ...]) -> int:
        """The descriptor of ``dest/parts``, made (without following links) when missing."""
        if parts not in self._fds and len(self._fds) > MAX_OPEN_DIRS:
            # Wide trees: keep the number of open descriptors bounded.
            for key in [k for k in self._fds if k]:
                os.close(self._fds.pop(key))
        return self._directory(parts)

    def _directory(self, parts: tuple[str, ...]) -> int:
        fd = self._fds.get(parts)
        if fd is not None:
            return fd
        parent = self._directory(parts[:-1])
        try:
            os.mkdir(parts[-1], 0o755, dir_fd=parent)
        except FileExistsError:
            pass
        try:
            fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise UnsafeOutput(
                f"output entry {'/'.join(parts)!r}: is already there and not a folder"
            ) from exc
        self._fds[parts] = fd
        return fd

    def new_file(self, parts: tuple[str, ...], executable: bool) -> int:
        parent = self.directory(parts[:-1])
        try:
            return os.open(parts[-1], _NEW_FILE, 0o755 if executable else 0o644, dir_fd=parent)
        except FileExistsError:
            raise UnsafeOutput(f"output entry {'/'.join(parts)!r}: appears twice") from None

    def write_from(
        self, name: str, parts: tuple[str, ...], source: IO[bytes], size: int, executable: bool
    ) -> None:
        """Copies exactly ``size`` bytes of ``source`` into a new file ``dest/parts``."""
        self.reserve(name, size)
        fd = self.new_file(parts, executable)
        try:
            left = size
            source_fd = _fileno(source)
            while left > 0 and source_fd is not None:
                # In the kernel, chunk by chunk (the cancel flag is read between chunks).
                self.check_cancelled()
                try:
                    done = os.copy_file_range(source_fd, fd, min(CHUNK, left))
                except OSError:  # an older kernel or a file system that cannot: plain copy
                    source_fd = None
                    break
                if done == 0:
                    raise UnsafeOutput(f"output entry {name!r}: ends before its stated size")
                left -= done
            while left > 0:
                self.check_cancelled()
                chunk = source.read(min(CHUNK, left))
                if not chunk:
                    raise UnsafeOutput(f"output entry {name!r}: ends before its stated size")
                _write_all(fd, chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        self.total += size


def _fileno(source: IO[bytes]) -> int | None:
    if not hasattr(os, "copy_file_range"):
        return None
    try:
        return source.fileno()
    except (AttributeError, OSError, ValueError):
        return None  # a tar member is no file of its own


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- a folder a container wrote ----------------------------------------------------------------


def collect_folder(
    source: Path,
    dest: Path,
    ports: Iterable[str],
    limits: Limits,
    cancelled: Flag | None = None,
) -> dict[str, Path]:
    """Rebuilds each declared port found in ``source`` (written by a container) under
    ``dest``; returns {port: path}. Anything but regular files and folders fails the node."""
    tree = _Tree(dest, limits, cancelled)
    found: dict[str, Path] = {}
    try:
        root = os.open(source, _DIR_FLAGS)
    except OSError as exc:
        tree.close()
        raise UnsafeOutput(f"the outputs folder {source} cannot be opened: {exc.strerror}") from exc
    try:
        for port in ports:
            _check_port(port)
            try:
                info = os.stat(port, dir_fd=root, follow_symlinks=False)
            except FileNotFoundError:
                continue
            _copy_entry(tree, root, port, (port,), info, 1)
            found[port] = dest / port
    except BaseException:
        tree.close()
        discard(dest)  # no partial output stays behind
        raise
    finally:
        os.close(root)
        tree.close()
    return found


def _copy_entry(
    tree: _Tree, parent: int, name: str, parts: tuple[str, ...], info: os.stat_result, depth: int
) -> None:
    shown = "/".join(parts)
    tree.check_cancelled()
    tree.count(shown, depth)
    _check_name(shown, name)
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        fd = _open_checked(parent, name, shown, _DIR_FLAGS, info)
        try:
            tree.directory(parts)
            # Streamed, not listed: a folder of millions of names stops at the entry cap.
            with os.scandir(fd) as children:
                for child in children:
                    child_info = child.stat(follow_symlinks=False)
                    _copy_entry(tree, fd, child.name, (*parts, child.name), child_info, depth + 1)
        finally:
            os.close(fd)
        return
    if not stat.S_ISREG(mode):
        what = _describe(mode)
        if stat.S_ISLNK(mode):
            what += f" (to {_link_target(parent, name)!r})"
        raise UnsafeOutput(f"output entry {shown!r} is {what}; {_ONLY}")
    if info.st_nlink > 1:
        raise UnsafeOutput(
            f"output entry {shown!r} is a hard link ({info.st_nlink} names for one file); {_ONLY}"
        )
    # O_NONBLOCK: should the entry have turned into a FIFO since lstat, open must not wait.
    fd = _open_checked(parent, name, shown, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, info)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        tree.write_from(shown, parts, handle, info.st_size, bool(mode & stat.S_IXUSR))


def _open_checked(parent: int, name: str, shown: str, flags: int, info: os.stat_result) -> int:
    try:
        fd = os.open(name, flags | os.O_CLOEXEC, dir_fd=parent)
    except OSError as exc:
        raise UnsafeOutput(f"output entry {shown!r} cannot be read: {exc.strerror}") from exc
    now = os.fstat(fd)
    if (now.st_dev, now.st_ino, stat.S_IFMT(now.st_mode)) != (
        info.st_dev,
        info.st_ino,
        stat.S_IFMT(info.st_mode),
    ):
        os.close(fd)
        raise UnsafeOutput(f"output entry {shown!r} changed while it was being collected")
    return fd


def _link_target(parent: int, name: str) -> str:
    try:
        return os.readlink(name, dir_fd=parent)
    except OSError:
        return "?"


_ONLY = "outputs may only be regular files and folders"


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_port(port: str) -> None:
    if not port or port in (".", "..") or "/" in port or "\0" in port:
        raise UnsafeOutput(f"output port {port!r} is not a plain name")


def _check_name(shown: str, name: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeOutput(f"output entry {shown!r}: its name is not valid UTF-8") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafeOutput(f"output entry {shown!r}: its name holds control characters")


# -- an archive a Batch job uploaded -----------------------------------------------------------


class _GuardedTarInfo(tarfile.TarInfo):
    """Refuses oversized pax and GNU long-name headers before tarfile reads them into memory."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _HEADER_TYPES and self.size > MAX_TAR_HEADER:
            raise UnsafeOutput(
                f"outputs archive: a {self.size}-byte extended header (more than "
                f"{MAX_TAR_HEADER}); the archive is not ours"
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc]


class _Capped:
    """A read-only stream that stops at ``limit`` bytes and checks the cancel flag."""

    def __init__(self, raw: IO[bytes], limit: int, tree: _Tree) -> None:
        self._raw = raw
        self._limit = limit
        self._tree = tree
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        self._tree.check_cancelled()
        want = CHUNK if size is None or size < 0 else size
        data = self._raw.read(want)
        self.consumed += len(data)
        if self.consumed > self._limit:
            raise UnsafeOutput(
                f"outputs archive: larger than the size cap of {_mib(self._tree.limits.max_bytes)}"
                f" ({self._tree.limits.source})"
            )
        return data


def extract_archive(
    stream: IO[bytes],
    dest: Path,
    ports: Iterable[str],
    limits: Limits,
    cancelled: Flag | None = None,
) -> dict[str, Path]:
    """Unpacks a gzip tar stream whose top-level names are output ports into ``dest``.

    Each member is checked by us before a byte is written: a relative name made of plain
    components under a declared port, at most once, a regular file or a folder, within the
    size cap. Returns {port: path} for the ports the archive holds."""
    wanted = set(ports)
    for port in wanted:
        _check_port(port)
    tree = _Tree(dest, limits, cancelled)
    seen: set[tuple[str, ...]] = set()
    # Compressed data is at most a little larger than what it holds; headers are small.
    capped = _Capped(stream, limits.max_bytes + limits.max_bytes // 100 + 64 * MIB, tree)
    try:
        try:
            archive = tarfile.open(fileobj=capped, mode="r|gz", tarinfo=_GuardedTarInfo)  # type: ignore[call-overload]
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UnsafeOutput(f"outputs archive: not a gzip tar archive ({exc})") from exc
        with archive:
            while True:
                tree.check_cancelled()
                try:
                    member = archive.next()
                except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
                    raise UnsafeOutput(f"outputs archive: damaged ({exc})") from exc
                if member is None:
                    break
                parts = _member_parts(member, wanted)
                if parts in seen:
                    raise UnsafeOutput(f"outputs archive: entry {member.name!r} appears twice")
                seen.add(parts)
                tree.count(member.name, len(parts))
                if member.type == tarfile.DIRTYPE:
                    tree.directory(parts)
                    continue
                source = archive.extractfile(member)
                if source is None:  # pragma: no cover - regular members always have data
                    raise UnsafeOutput(f"outputs archive: entry {member.name!r} has no data")
                try:
                    tree.write_from(
                        member.name, parts, source, member.size, bool(member.mode & stat.S_IXUSR)
                    )
                except (tarfile.TarError, EOFError, zlib.error) as exc:
                    raise UnsafeOutput(f"outputs archive: damaged ({exc})") from exc
    except BaseException:
        tree.close()
        discard(dest)  # no partial output stays behind
        raise
    finally:
        tree.close()
    return {port: dest / port for port in sorted(wanted) if os.path.lexists(dest / port)}


def _member_parts(member: tarfile.TarInfo, wanted: set[str]) -> tuple[str, ...]:
    name = member.name
    shown = f"outputs archive: entry {name!r}"
    if member.type not in _TAR_KINDS:
        raise UnsafeOutput(f"{shown} is {_tar_kind(member)}; {_ONLY}")
    if name.startswith("/"):
        raise UnsafeOutput(f"{shown} has an absolute path")
    text = name.rstrip("/") if member.type == tarfile.DIRTYPE else name
    parts = tuple(text.split("/"))
    if any(p == ".." for p in parts):
        raise UnsafeOutput(f"{shown} climbs out with '..'")
    if any(p in ("", ".") for p in parts):
        raise UnsafeOutput(f"{shown} has an empty or '.' path component")
    for part in parts:
        _check_name(name, part)
    if parts[0] not in wanted:
        raise UnsafeOutput(f"{shown} is not under a declared output port")
    if member.size < 0 or (member.type == tarfile.DIRTYPE and member.size):
        raise UnsafeOutput(f"{shown} has an impossible size")
    return parts


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.isfifo():
        return "a FIFO (named pipe)"
    if member.ischr() or member.isblk():
        return "a device node"
    if member.issparse():
        return "a sparse file"
    return f"of tar type {member.type!r}"


def _mib(size: int) -> str:
    return f"{size / MIB:g} MiB"


# -- cleaning up what a container left ---------------------------------------------------------


def discard(path: Path) -> None:
    """Removes what a container left behind, never following links (rmtree walks by
    descriptor); folders it made unreadable are opened up first. Best effort: what stays is
    clutter in the attempt folder, never an output."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        path.unlink(missing_ok=True)
        return
    if os.geteuid() != 0:
        _open_up(path)
    shutil.rmtree(path, ignore_errors=True)


def _open_up(path: Path) -> None:
    for folder, dirs, _files in os.walk(path, topdown=True, followlinks=False):
        for name in dirs:
            child = os.path.join(folder, name)
            try:
                mode = os.lstat(child).st_mode
                if stat.S_ISDIR(mode) and mode & 0o700 != 0o700:
                    os.chmod(child, 0o700)
            except OSError:
                pass
