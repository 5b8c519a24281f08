"""Content checks before the run store serves an artifact again: a cache hit must be for the
same bytes, so every cached output is hashed again and compared with the hash recorded when it
was stored. A file edited, truncated, replaced by a link or removed since then is not served;
the node runs again.

Why a full re-hash and not a stat check (size, mtime, inode): an edit that keeps the size
(a digit changed in a CSV) and resets the mtime (``touch -r``, ``os.utime``, a restore from a
backup, a filesystem with coarse timestamps) passes any stat check, and then the run would
"succeed" on data nobody produced. The size is still compared first, because a size change
needs no hashing to prove, and it bounds what the inline path below can be made to read.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from twinflow_studio.engine.events import ArtifactRef
from twinflow_studio.engine.paths import file_uri_path
from twinflow_studio.project.errors import TwinFlowError
from twinflow_studio.project.hashing import hash_tree

# Below this many bytes in all, the outputs of a cache hit are hashed on the calling (event
# loop) thread: a thread hop costs more than hashing a few small files, and on a run of
# thousands of small cached nodes the hop would be most of the check's cost. Larger outputs,
# and folders (whose file count the recorded size does not bound), are hashed on a thread.
INLINE_BYTES = 256 * 1024
_CHUNK = 1 << 20


def stale_reason(ref: ArtifactRef) -> str | None:
    """None when ``ref``'s bytes on disk still have its recorded hash; else why not."""
    if not ref.uri.startswith("file://"):
        return None  # remote (s3://): the target that reads it checks it
    # A str, not a Path: the Path object was most of the cost of checking a tiny file.
    path = file_uri_path(ref.uri)
    try:
        if ref.kind == "dir":
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return _where(ref, path) + " is no longer a folder"
            actual = hash_tree(Path(path))
        else:
            actual = _hash_regular_file(path, ref.size)
    except _Changed as exc:
        return f"{_where(ref, path)} {exc}"
    except FileNotFoundError:
        return _where(ref, path) + " no longer exists"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _where(ref, path) + " is no longer a regular file (a link)"
        return f"{_where(ref, path)} cannot be read: {exc.strerror or exc}"
    if actual != ref.sha256:
        return (
            f"{_where(ref, path)} changed on disk since it was stored: sha256 {actual[:12]}…, "
            f"recorded {ref.sha256[:12]}…"
        )
    return None


def _where(ref: ArtifactRef, path: str) -> str:
    return f"output {ref.port!r} ({path})"


class _Changed(TwinFlowError):
    """The file is not the one stored, and the reason is known without hashing it."""


def _hash_regular_file(path: str, size: int) -> str:
    """The file's sha256 (``_Changed`` says why it is not the stored file). One descriptor for the
    type, size and content checks: no link is followed, and a FIFO put in its place cannot
    block the open (``O_NONBLOCK``); a small file is read in one call, not into a 1 MiB
    buffer."""
    flags = os.O_RDONLY
    for name in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC", "O_BINARY"):  # what the OS has
        flags |= getattr(os, name, 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Changed("is no longer a regular file")
        if info.st_size != size:
            raise _Changed(
                f"changed on disk since it was stored: {info.st_size} bytes, recorded {size}"
            )
        digest = hashlib.sha256()
        chunk = min(_CHUNK, info.st_size + 1)
        while data := os.read(fd, chunk):
            digest.update(data)
        return digest.hexdigest()
    finally:
        os.close(fd)


def first_stale(refs: Sequence[ArtifactRef]) -> str | None:
    for ref in refs:
        reason = stale_reason(ref)
        if reason is not None:
            return reason
    return None


async def verify_cached(refs: Sequence[ArtifactRef]) -> str | None:
    """Why the cached outputs ``refs`` cannot be served, or None when every one still has its
    recorded bytes. Never blocks the event loop on a large file or a folder."""
    if not refs:
        return None
    inline = sum(ref.size for ref in refs) <= INLINE_BYTES and all(
        ref.kind != "dir" for ref in refs
    )
    if inline:
        # Safe on the loop: each file's size is compared with the recorded one before it is
        # read, so a small entry swapped for a huge file is refused without reading it.
        return first_stale(refs)
    return await asyncio.to_thread(first_stale, refs)
