"""The ``memory_mib`` of a node in a worker process: its peak resident memory over the idle
worker's, watched from inside the worker.

Not a ``setrlimit`` on the address space or data segment: those count what thread pools only
*reserve* (glibc arenas, jemalloc extents, 8 MiB stacks), so pyarrow's or BLAS's threads fail
to start under them and a parquet read hangs for good. Resident memory is what the limit is
for, as Dask's nanny and Ray's memory monitor measure it. Linux keeps the peak (``VmHWM``)
and lets a process reset it (``clear_refs``), so a short spike between two polls is still
seen when the node returns; a runaway node is ended by the poll while it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_MIB = 1 << 20
POLL_S = 0.05


def _status() -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith((b"VmHWM:", b"VmRSS:")):
                    key, _, value = line.partition(b":")
                    found[key] = int(value.split()[0]) * 1024
    except OSError:  # no /proc (not Linux): nothing to measure, so no limit is enforced
        pass
    return found


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "wb") as handle:
            handle.write(b"5")
        return True
    except OSError:  # not Linux, or /proc read-only: fall back to the current resident size
        return False


class MemoryGuard:
    """``with guard.limit(mib):`` around a node; ``guard.exceeded`` tells afterwards.

    ``on_runaway`` is called from the watch thread when the node goes over while it runs;
    it must end the process (the node cannot be stopped otherwise)."""

    def __init__(self, on_runaway: Callable[[], None]) -> None:
        self.on_runaway = on_runaway
        self.exceeded = False
        self._budget = 0
        self._base = 0
        self._peak_works = False
        self._armed = threading.Event()
        self._thread: threading.Thread | None = None

    def used(self) -> int:
        """Bytes the node has taken over the idle worker, at its peak so far."""
        status = _status()
        now = status.get(b"VmHWM" if self._peak_works else b"VmRSS", 0)
        return max(0, now - self._base)

    def limit(self, limit_mib: int | None) -> MemoryGuard:
        self.exceeded = False
        self._budget = int(limit_mib or 0) * _MIB
        return self

    def __enter__(self) -> None:
        if not self._budget:
            return
        self._peak_works = _reset_peak()
        self._base = _status().get(b"VmRSS", 0)
        self._armed.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="twinflow-memory", daemon=True)
            self._thread.start()

    def __exit__(self, *exc: object) -> None:
        if not self._budget:
            return
        self._armed.clear()
        if self.used() > self._budget:
            self.exceeded = True

    def _watch(self) -> None:
        while True:
            self._armed.wait()
            if self.used() > self._budget and self._armed.is_set():
                self.exceeded = True
                self.on_runaway()
                return
            time.sleep(POLL_S)
