"""Warm pools of worker processes, one per project and target, shared by every run.

A worker is a fresh interpreter (``sys.executable -c``, the "spawn" way: never a fork of the
studio, so no Qt state, threads or modules are inherited, and unlike ``multiprocessing``
nothing re-imports the parent's ``__main__``), talking over a socket pair with
``multiprocessing.connection``'s framing. A worker is killed when its
node is cancelled or times out, or found dead when its node crashes it; the pool starts a
new one on demand. Every blocking step (starting a process, reading its messages) happens on
threads: the event loop only sends small messages and receives results.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TargetUnavailable

_Handler = Callable[[tuple[Any, ...]], None]
CANCEL_GRACE_S = 0.25
_BOOT = (
    "import sys; from twinflow_studio.engine.process_worker import boot; "
    "boot(int(sys.argv[1]), sys.argv[2])"
)


WORKER_FLAG = "--twinflow-worker"


def _worker_command() -> list[str]:
    # A frozen app (PyInstaller) has no '-c': its entry script starts a worker on this flag.
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG]
    return [sys.executable, "-c", _BOOT]


def _user_path() -> list[str]:
    """The studio's import path, for the worker to find the same installed packages."""
    return [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)]


class WorkerProcess:
    """One worker process and the thread that reads its messages."""

    def __init__(self, project_dir: Path, number: int) -> None:
        parent, child = socket.socketpair()
        # The worker's lifeline: its read end sees EOF when this process is gone, however.
        life_r, life_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [*_worker_command(), str(child.fileno()), str(project_dir)],
                pass_fds=(child.fileno(), life_r),
                stdin=subprocess.DEVNULL,
                env={
                    **os.environ,
                    "TWINFLOW_WORKER_PATH": os.pathsep.join(_user_path()),
                    "TWINFLOW_WORKER_LIFELINE": str(life_r),
                },
                close_fds=True,
            )
        except BaseException:
            os.close(life_w)
            parent.close()
            raise
        finally:
            child.close()
            os.close(life_r)
        os.set_inheritable(life_w, False)
        self._lifeline = life_w
        self.conn = Connection(parent.detach())
        _LIVE.add(self)
        self.alive = True
        self.run_id = ""
        self.digests: set[str] = set()
        self.idle_since = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: _Handler | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def usable(self) -> bool:
        return self.alive and self.process.poll() is None

    def start(
        self, loop: asyncio.AbstractEventLoop, handler: _Handler, task: dict[str, Any]
    ) -> None:
        """Send a task; ``handler`` gets its messages on the loop, the last one a result.
        Messages are read on the loop when they arrive (one small read each: no thread
        hop per node); a large result comes as a file, read on a thread."""
        self._loop, self._handler = loop, handler
        loop.add_reader(self.conn.fileno(), self._readable)
        try:
            self.conn.send(("run", task))
        except BaseException:
            self.detach()
            raise

    def detach(self) -> None:
        loop, self._loop, self._handler = self._loop, None, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self.conn.fileno())

    def _readable(self) -> None:
        handler = self._handler
        while handler is not None:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self._died(handler)
                return
            except Exception as exc:  # a message that does not unpickle
                message = ("failed", f"cannot read the node's result: {exc}", False)
            if message[0] == "log":
                handler(message)
            elif message[0] == "spill":
                self.detach()
                self._unspill(handler, message[1])
                return
            else:
                self.detach()
                handler(message)
                return
            if not self.conn.poll(0):
                return

    def _unspill(self, handler: _Handler, path: str) -> None:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, _load_spilled, path)
        future.add_done_callback(
            lambda f: handler(
                f.result()
                if f.exception() is None
                else ("failed", f"cannot read the node's result: {f.exception()}", False)
            )
        )

    def _died(self, handler: _Handler) -> None:
        self.alive = False
        loop = self._loop
        self.detach()
        if loop is None:
            return

        def wait() -> None:
            try:
                code = self.process.wait(2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
            try:
                loop.call_soon_threadsafe(handler, ("died", _death(code)))
            except RuntimeError:  # that loop has closed: nobody waits for this any more
                pass

        threading.Thread(target=wait, name="twinflow-reap", daemon=True).start()

    def cancel(self) -> None:
        """Tell the node to stop, then end the process: within CANCEL_GRACE_S, always."""
        self.detach()
        if self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGUSR1)
            except OSError:
                pass
        timer = threading.Timer(CANCEL_GRACE_S, self.kill)
        timer.daemon = True
        timer.start()

    def stop(self) -> None:
        try:
            self.conn.send(("stop", None))
        except OSError:
            pass
        self.kill()

    def kill(self) -> None:
        self.alive = False
        if self.process.returncode is None:
            try:
                self.process.kill()
            except OSError:
                pass
            # Reap it, so no zombie is left behind, and free its descriptors.
            threading.Thread(target=self._reap, name="twinflow-reap", daemon=True).start()

    def _reap(self) -> None:
        self.process.wait()
        for close in (self.conn.close, lambda: os.close(self._lifeline)):
            try:
                close()
            except OSError:
                pass


def _load_spilled(path: str) -> tuple[Any, ...]:
    import pickle

    with open(path, "rb") as handle:
        message = pickle.load(handle)  # noqa: S301 - written by our own worker, just now
    os.unlink(path)
    return message


def _death(code: int | None) -> str:
    if code is None:
        return "the worker process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"the worker process was killed ({name}); the system may have run out of memory"
        description = {"SIGSEGV": "segmentation fault", "SIGABRT": "aborted", "SIGBUS": "bus error"}
        detail = description.get(name, "")
        return f"the worker process crashed ({name}{': ' + detail if detail else ''})"
    return f"the worker process exited with code {code} while running the node"


class ProcessPool:
    """Up to ``size`` workers for one project; idle ones wait warm for the next node."""

    def __init__(self, project_dir: Path, size: int) -> None:
        self.project_dir = project_dir
        self.size = max(1, size)
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
                    if worker.usable():
                        return worker
                    self._count -= 1
                    worker.kill()
                spawn = self._count < self.size
                if spawn:
                    self._count += 1
                    self._started += 1
                    number = self._started
                else:
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
            if spawn:
                starting = asyncio.ensure_future(
                    asyncio.to_thread(WorkerProcess, self.project_dir, number)
                )
                try:
                    return await asyncio.shield(starting)
                except asyncio.CancelledError:
                    # Cancelled while the process starts: it joins the pool when it is up.
                    starting.add_done_callback(self._adopt)
                    raise
                except Exception as exc:
                    with self._lock:
                        self._count -= 1
                    raise TargetUnavailable(f"cannot start a worker process: {exc}") from exc
            await waiter

    def _adopt(self, starting: asyncio.Future[WorkerProcess]) -> None:
        if starting.cancelled() or starting.exception() is not None:
            with self._lock:
                self._count -= 1
                self._wake()
            return
        self.release(starting.result())

    def release(self, worker: WorkerProcess) -> None:
        """Back to the pool after a node finished; a dead or killed worker is let go."""
        worker.detach()
        with self._lock:
            if worker.alive and not self._closed:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker.alive:
                    worker.kill()
            self._wake()
        _trim_idle()

    def stop_idle(self, older_than: float) -> int:
        """Stop the workers idle since before ``older_than`` (monotonic); how many."""
        with self._lock:
            stale = [w for w in self._idle if w.idle_since < older_than]
            self._idle = [w for w in self._idle if w.idle_since >= older_than]
            self._count -= len(stale)
        for worker in stale:
            worker.stop()
        return len(stale)

    def idle_times(self) -> list[float]:
        with self._lock:
            return [w.idle_since for w in self._idle]

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
            worker.stop()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


_POOLS: dict[tuple[str, str], ProcessPool] = {}
_LIVE: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()
_POOLS_LOCK = threading.Lock()


def pool_for(project_dir: Path, target_name: str, size: int) -> ProcessPool:
    """The warm pool of this project's target (made on first use)."""
    key = (os.path.realpath(project_dir), target_name)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ProcessPool(Path(key[0]), size)
            _start_reaper()
        pool.size = max(1, size)
        return pool


# Warm workers cost memory: the ones idle longer than IDLE_S end, and of all pools together at
# most MAX_IDLE stay (the longest idle go first), so a studio session that opened many
# projects, or a test session, does not collect hundreds of processes.
IDLE_S = 600.0
MAX_IDLE = max(4, 2 * (os.cpu_count() or 2))


def _trim_idle() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    now = time.monotonic()
    for pool in pools:
        pool.stop_idle(now - IDLE_S)
    times = sorted(t for pool in pools for t in pool.idle_times())
    if len(times) > MAX_IDLE:
        cutoff = times[len(times) - MAX_IDLE]
        for pool in pools:
            pool.stop_idle(cutoff)


_reaper: threading.Thread | None = None


def _start_reaper() -> None:
    """Called with _POOLS_LOCK held: one daemon thread trims idle workers every minute."""
    global _reaper
    if _reaper is None:
        _reaper = threading.Thread(target=_reap_forever, name="twinflow-pool-reaper", daemon=True)
        _reaper.start()


def _reap_forever() -> None:
    while True:
        time.sleep(60.0)
        _trim_idle()


def shutdown_pools() -> None:
    """End every worker of every pool, idle or busy (at exit). A worker would end by itself
    when its lifeline closes, but not while a node holds its GIL in a C call."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
    for worker in list(_LIVE):
        if worker.process.returncode is None:
            try:
                worker.process.kill()
            except OSError:
                pass


atexit.register(shutdown_pools)
