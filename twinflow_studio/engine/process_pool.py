"""Warm pools of worker processes, one per project and target, shared by every run.

Workers are started by the forkserver (on Linux; spawn elsewhere): a fresh interpreter that
never inherits the studio's Qt state, its threads or its modules. A worker is killed when its
node is cancelled or times out, or found dead when its node crashes it; the pool starts a
new one on demand. Every blocking step (starting a process, reading its messages) happens on
threads: the event loop only sends small messages and receives results.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TargetUnavailable

_Handler = Callable[[tuple[Any, ...]], None]
CANCEL_GRACE_S = 0.25


def _context() -> Any:
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        ctx = multiprocessing.get_context("forkserver")
        # Only our worker module: never the parent's __main__ (the studio, pytest, a script).
        ctx.set_forkserver_preload(["twinflow_studio.engine.process_worker"])
        return ctx
    return multiprocessing.get_context("spawn")


class WorkerProcess:
    """One worker process and the thread that reads its messages."""

    def __init__(self, ctx: Any, project_dir: Path, number: int) -> None:
        from twinflow_studio.engine import process_worker

        parent, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=process_worker.main,
            args=(child, str(project_dir)),
            name=f"twinflow-worker-{number}",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn = parent
        self.alive = True
        self.run_id = ""
        self.digests: set[str] = set()
        self._lock = threading.Lock()
        self._handler: tuple[asyncio.AbstractEventLoop, _Handler] | None = None
        threading.Thread(target=self._read, name=f"twinflow-reader-{number}", daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def start(self, loop: asyncio.AbstractEventLoop, handler: _Handler, task: dict[str, Any]) -> None:
        with self._lock:
            self._handler = (loop, handler)
        self.conn.send(("run", task))

    def detach(self) -> None:
        with self._lock:
            self._handler = None

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # a message that does not unpickle
                message = ("failed", f"cannot read the node's result: {exc}", False)
            self._dispatch(message)
        self.alive = False
        self.process.join(2.0)
        self._dispatch(("died", _death(self.process.exitcode)))
        try:
            self.conn.close()
        except OSError:
            pass

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            target = self._handler
            if target is not None and message[0] != "log":
                self._handler = None  # one result per task
        if target is None:
            return
        loop, handler = target
        try:
            loop.call_soon_threadsafe(handler, message)
        except RuntimeError:  # that loop has closed: nobody waits for this any more
            pass

    def cancel(self) -> None:
        """Tell the node to stop, then end the process: within CANCEL_GRACE_S, always."""
        self.detach()
        try:
            self.conn.send(("cancel", None))
        except OSError:
            pass
        timer = threading.Timer(CANCEL_GRACE_S, self.kill)
        timer.daemon = True
        timer.start()

    def kill(self) -> None:
        self.alive = False
        if self.process.exitcode is None:
            try:
                self.process.kill()
            except (OSError, ValueError, AttributeError):
                pass


def _death(code: int | None) -> str:
    if code is None:
        return "the worker process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return (
                f"the worker process was killed ({name}); the system may have run out of "
                "memory"
            )
        description = {"SIGSEGV": "segmentation fault", "SIGABRT": "aborted", "SIGBUS": "bus error"}
        detail = description.get(name, "")
        return f"the worker process crashed ({name}{': ' + detail if detail else ''})"
    return f"the worker process exited with code {code} while running the node"


class ProcessPool:
    """Up to ``size`` workers for one project; idle ones wait warm for the next node."""

    def __init__(self, project_dir: Path, size: int) -> None:
        self.project_dir = project_dir
        self.size = max(1, size)
        self._ctx = _context()
        self._idle: list[WorkerProcess] = []
        self._count = 0
        self._started = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def workers(self) -> int:
        return self._count

    def idle_pids(self) -> list[int | None]:
        return [w.pid for w in self._idle]

    async def acquire(self) -> WorkerProcess:
        while True:
            with self._lock:
                if self._closed:
                    raise TargetUnavailable("the worker pool is closed")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                spawn = self._count < self.size
                if spawn:
                    self._count += 1
                    self._started += 1
                    number = self._started
                else:
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
            if spawn:
                try:
                    return await asyncio.to_thread(
                        WorkerProcess, self._ctx, self.project_dir, number
                    )
                except Exception as exc:
                    with self._lock:
                        self._count -= 1
                    raise TargetUnavailable(f"cannot start a worker process: {exc}") from exc
            await waiter

    def release(self, worker: WorkerProcess) -> None:
        """Back to the pool after a node finished; a dead or killed worker is let go."""
        worker.detach()
        with self._lock:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker.alive:
                    worker.kill()
            self._wake()

    def discard(self, worker: WorkerProcess, *, graceful: bool = False) -> None:
        if graceful:
            worker.cancel()
        else:
            worker.kill()
        with self._lock:
            self._count -= 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            try:
                waiter.get_loop().call_soon_threadsafe(_resolve, waiter)
            except RuntimeError:
                continue
            return

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            try:
                worker.conn.send(("stop", None))
            except OSError:
                pass
            worker.kill()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


_POOLS: dict[tuple[str, str], ProcessPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(project_dir: Path, target_name: str, size: int) -> ProcessPool:
    """The warm pool of this project's target (made on first use)."""
    key = (os.path.realpath(project_dir), target_name)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ProcessPool(Path(key[0]), size)
        pool.size = max(1, size)
        return pool


def shutdown_pools() -> None:
    """End every worker of every pool (at exit; tests call it to start from nothing)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


atexit.register(shutdown_pools)
