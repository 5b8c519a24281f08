"""A run's liveness marker, its ``run.json`` written even on a full disk, and the recovery of
runs whose process died.

While a run is in progress its process holds ``<run store>/running/<run id>.lock`` with
``flock`` (the kernel lets go when the process dies, however it dies) and ``run.json`` says
``"status": "running"`` with the pid, host and start time. The lock files sit in one folder of
their own, so finding the unfinished runs never lists every run folder. A ``run.json`` that
says ``running`` while nobody holds the lock belongs to a process that was killed (``kill -9``,
power loss, OOM killer): the next process that opens the project (``recover_interrupted``)
marks it ``interrupted``.

The marker ``run.json`` is written padded with spaces to ``RESERVE_BYTES``: the final summary
then overwrites bytes the file already owns when a normal (atomic) write finds the disk full,
so a run on a full disk still ends recorded.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from twinflow_studio.engine.events import RunStatus

log = logging.getLogger(__name__)

LOCKS_DIR = "running"
SUMMARY_NAME = "run.json"
RESERVE_BYTES = 16 << 10
RESERVE_NAME = "run.reserve"
STORE_RESERVE_BYTES = 256 << 10
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def default_store_root(project_dir: Path, run_store: Any) -> Path | None:
    """The run store of a project whose ``settings.run_store`` is ``run_store``, if it is the
    project's own ``.twinflow`` folder (the only one a merely opened project may touch)."""
    own = (project_dir / ".twinflow").resolve()
    if not run_store:
        return own
    root = Path(str(run_store))
    root = (root if root.is_absolute() else project_dir / root).resolve()
    return root if root == own or own in root.parents else None


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk or quota is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS:
            return True
        text = str(current)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full(path: Path, margin: int = 64 << 10) -> bool:
    """Whether the filesystem holding ``path`` has (almost) no room left for us."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < margin


def ensure_reserve(root: Path, size: int = STORE_RESERVE_BYTES) -> bool:
    """Keeps ``<run store>/run.reserve``: room set aside while there is some, given up by
    ``release_reserve`` when a run cannot start on a full disk, so that it starts, fails
    with the reason and is recorded. ``False`` when there is no room for it now."""
    path = root / RESERVE_NAME
    if path.exists():
        return True
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return False
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        return False
    os.close(fd)
    return True


def release_reserve(root: Path) -> bool:
    """Gives the reserve up; ``True`` when there was one."""
    try:
        (root / RESERVE_NAME).unlink()
    except OSError:
        return False
    log.warning("the disk holding %s is full; its reserve was given up", root)
    return True


def _dumps(data: Any) -> bytes:
    # Non-finite floats become null, which JSON readers accept and NaN is not.
    return orjson.dumps(
        data,
        default=str,
        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )


def _write_atomic(path: Path, text: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never leave a partial file behind
        raise


def _write_in_place(path: Path, text: bytes) -> None:
    """Overwrites ``path`` within the bytes it already has (no new blocks needed)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        if len(text) > os.fstat(fd).st_size:
            raise OSError(errno.ENOSPC, "the reserved run.json is too small", str(path))
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
        os.fsync(fd)
    finally:
        os.close(fd)


def _compact(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Smaller and smaller versions of a summary, for a reserve too small for all of it."""
    lean = {k: v for k, v in summary.items() if k != "nodes"}
    lean["failed"] = [
        {k: v for k, v in item.items() if k != "last_log_lines"}
        for item in summary.get("failed", [])
    ]
    lean["summary_truncated"] = "the disk was full: per-node details left out"
    keys = ("run_id", "project", "status", "counts", "duration_s", "run_dir", "error")
    least = {k: summary[k] for k in keys if k in summary}
    least["summary_truncated"] = lean["summary_truncated"]
    return [lean, least]


def write_summary(path: Path, summary: dict[str, Any]) -> bool:
    """Writes ``run.json``: atomically, else (disk full) over its reserve, shortened if need
    be. ``False`` (and a log line) when even that failed; never raises ``OSError``."""
    text = _dumps(summary) + b"\n"
    try:
        _write_atomic(path, text)
        return True
    except OSError as exc:
        if not is_no_space(exc):
            log.error("cannot write %s: %s", path, exc)
            return False
    for candidate in [summary, *_compact(summary)]:
        try:
            _write_in_place(path, _dumps(candidate) + b"\n")
            return True
        except OSError:
            continue
    log.error("cannot write %s: the disk is full", path)
    return False


@dataclass
class RunLock:
    """Held by the process running a run, from before its first node until ``run.json`` is
    final."""

    run_dir: Path
    _fd: int

    @classmethod
    def acquire(cls, run_dir: Path, marker: dict[str, Any]) -> RunLock:
        """Takes the run's lock and writes the ``running`` marker (raises ``OSError``, with
        nothing left behind, when the run folder cannot be written)."""
        lock_path = lock_path_of(run_dir)
        lock_path.parent.mkdir(exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            record = {
                **marker,
                "status": "running",
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "process_started_at": _process_start(),
            }
            text = _dumps(record) + b"\n"
            _write_atomic(run_dir / SUMMARY_NAME, text.ljust(RESERVE_BYTES - 1) + b"\n")
        except BaseException:
            os.close(fd)
            lock_path.unlink(missing_ok=True)
            raise
        return cls(run_dir, fd)

    def finish(self, summary: dict[str, Any]) -> bool:
        """Writes the final ``run.json``; once it is there the lock is let go for good."""
        written = write_summary(self.run_dir / SUMMARY_NAME, summary)
        if written:
            lock_path_of(self.run_dir).unlink(missing_ok=True)
        self.release()
        return written

    def release(self) -> None:
        """Lets go (idempotent). Without a final ``run.json`` the lock file stays, so the next
        process that opens the project marks the run ``interrupted``."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def lock_path_of(run_dir: Path) -> Path:
    """``<run store>/running/<run id>.lock`` for ``<run store>/runs/<run id>``."""
    return run_dir.parent.parent / LOCKS_DIR / f"{run_dir.name}.lock"


def _process_start() -> float | None:
    """This process's start time (seconds since the epoch), to tell a reused pid apart."""
    try:
        fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return round(boot + ticks / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def recover_interrupted(runs_dir: Path) -> list[dict[str, Any]]:
    """Marks ``interrupted`` every run under ``runs_dir`` whose ``run.json`` says ``running``
    while no process holds its lock; returns their new summaries (oldest first). Only the
    runs that still have a lock file are looked at, so this costs nothing per finished run.
    Never raises for one broken run folder: it is left for next time."""
    recovered = []
    try:
        locks = sorted((runs_dir.parent / LOCKS_DIR).glob("*.lock"))
    except OSError:
        return []
    for lock_path in locks:
        try:
            summary = _recover_one(lock_path, runs_dir / lock_path.name[: -len(".lock")])
        except OSError as exc:
            log.warning("cannot check the run of %s: %s", lock_path, exc)
            continue
        if summary is not None:
            recovered.append(summary)
    return recovered


def _recover_one(lock_path: Path, run_dir: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return None  # its run finished (or another process marked it) meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # its process is alive (this one included)
        if not run_dir.is_dir():
            lock_path.unlink(missing_ok=True)  # its folder was deleted: nothing to mark
            return None
        summary_path = run_dir / SUMMARY_NAME
        try:
            marker = orjson.loads(summary_path.read_bytes())
        except FileNotFoundError:
            marker = {}
        except orjson.JSONDecodeError:
            marker = {}
        if not isinstance(marker, dict):
            marker = {}
        if marker.get("status") not in (None, "running"):
            lock_path.unlink(missing_ok=True)  # finished; only the lock file was left over
            return None
        now = time.time()
        pid = marker.get("pid")
        who = f"process {pid} on {marker.get('host', '?')}" if pid else "its process"
        started = marker.get("started_at")
        summary = {
            **marker,
            "run_id": marker.get("run_id", run_dir.name),
            "status": RunStatus.INTERRUPTED,
            "finished_at": now,
            "duration_s": round(now - started, 3) if isinstance(started, int | float) else None,
            "run_dir": str(run_dir),
            "counts": marker.get("counts", {}),
            "failed": [],
            "error": f"{who} ended without finishing the run (killed or crashed); "
            "marked interrupted by the next process that opened the project",
        }
        if write_summary(summary_path, summary):
            lock_path.unlink(missing_ok=True)
            return summary
        return None
    finally:
        os.close(fd)
