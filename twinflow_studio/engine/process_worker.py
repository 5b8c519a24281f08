"""The worker process of the ``process`` target: runs one node at a time, for one project.

It talks to the engine over one ``multiprocessing`` connection. In: ``("run", task)`` or
``("stop", None)``. Cancel comes as SIGUSR1. Out, in order: ``("log", stream, line)`` for every
line the node prints (Python or C level: file descriptors 1 and 2 are pipes read here) and
every ``logging`` record, then one of ``("done", outputs, metrics)`` or
``("failed", reason, retryable)`` (the traceback has gone out as log lines before it).

The user's modules are served from the bytes the engine hashed (see ``code_identity``), by a
finder placed first on ``sys.meta_path``; they are dropped at the start of every run, so an
edited file runs on the very next run. A worker serves one project, so two projects' modules
of the same name never meet.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import io
import linecache
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from twinflow_studio.engine.worker_memory import MemoryGuard

SYNC = b"\x00twinflow-sync\x00"
SPILL_BYTES = 256 * 1024


class _Channel:
    """The connection to the engine; any thread of the worker may send."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock:
            self.conn.send(message)


class _FdCapture:
    """File descriptor ``fd`` becomes a pipe whose lines go to the engine as log lines."""

    def __init__(self, fd: int, stream: str, channel: _Channel) -> None:
        self.stream = stream
        self.channel = channel
        self.synced = threading.Event()
        self.lock = threading.Lock()
        self.in_chunk = False
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.fd = fd
        self.read_end = read_end
        threading.Thread(target=self._pump, name=f"twinflow-{stream}", daemon=True).start()

    def _pump(self) -> None:
        import select

        poller = select.poll()
        poller.register(self.read_end, select.POLLIN | select.POLLHUP)
        pending = b""
        while True:
            poller.poll()
            # Marked busy before the bytes leave the pipe: ``sync`` sees them one way or
            # the other (still in the pipe, or being forwarded).
            with self.lock:
                self.in_chunk = True
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                if line.endswith(SYNC):
                    line = line[: -len(SYNC)]
                    if line:
                        self._send(line)
                    self.synced.set()
                    continue
                self._send(line)
            with self.lock:
                self.in_chunk = False

    def _send(self, line: bytes) -> None:
        self.channel.send(("log", self.stream, line.decode("utf-8", "replace").rstrip("\r")))

    def sync(self) -> None:
        """Wait until everything written so far has gone to the engine. Nothing written
        (the usual case) costs one ioctl."""
        with self.lock:
            quiet = not self.in_chunk and _unread(self.read_end) == 0
        if quiet:
            return
        self.synced.clear()
        try:
            os.write(self.fd, SYNC + b"\n")
        except OSError:  # the node closed or replaced the descriptor
            return
        self.synced.wait(5.0)


def _unread(fd: int) -> int:
    import array
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    return buf[0]


class _LogHandler(logging.Handler):
    def __init__(self, channel: _Channel) -> None:
        super().__init__(logging.INFO)
        self.channel = channel
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        stream = "stderr" if record.levelno >= logging.WARNING else "stdout"
        for line in text.splitlines() or [""]:
            self.channel.send(("log", stream, line))


class _Loader(importlib.abc.Loader):
    def __init__(self, module: tuple[str, str, bytes, bool, str]) -> None:
        self.module = module

    def create_module(self, spec: Any) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        _, filename, source, _, _ = self.module
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - the user's trusted project code, by design

    def get_source(self, name: str) -> str:
        return self.module[2].decode("utf-8", "replace")


class _SnapshotFinder(importlib.abc.MetaPathFinder):
    """Serves the user modules the engine shipped, exactly as hashed."""

    def __init__(self) -> None:
        self.modules: dict[str, tuple[str, str, bytes, bool, str]] = {}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        module = self.modules.get(name)
        if module is None:
            return None
        _, filename, _, is_package, _ = module
        return importlib.util.spec_from_file_location(
            name,
            filename,
            loader=_Loader(module),
            submodule_search_locations=[os.path.dirname(filename)] if is_package else None,
        )


class Worker:
    def __init__(self, conn: Any, project_dir: str) -> None:
        self.channel = _Channel(conn)
        self.project_dir = project_dir
        self.finder = _SnapshotFinder()
        self.run_id = ""
        self.cancel_flag: Any = None
        self.executors: dict[str, Any] = {}
        self.memory = MemoryGuard(self._runaway)
        self.task: dict[str, Any] = {}

    def setup(self) -> None:
        sys.meta_path.insert(0, self.finder)
        if self.project_dir not in sys.path:
            sys.path.insert(0, self.project_dir)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        self.captures = [
            _FdCapture(1, "stdout", self.channel),
            _FdCapture(2, "stderr", self.channel),
        ]
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False),
            encoding="utf-8",
            errors="replace",
            line_buffering=True,
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False),
            encoding="utf-8",
            errors="replace",
            line_buffering=True,
        )
        root = logging.getLogger()
        root.handlers[:] = [_LogHandler(self.channel)]
        root.setLevel(logging.INFO)
        # Cancel arrives as SIGUSR1 (the handler runs between bytecodes of the node: what
        # ctx.check_cancelled() needs); a node that never gets there is killed by the engine.
        signal.signal(signal.SIGUSR1, self._cancel)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the studio's

    def _runaway(self) -> None:
        """The node went over its memory while running: say so, then end at once (the
        engine starts a new worker; a node in a C call cannot be stopped any other way)."""
        task = self.task
        reason = _exceeded(task.get("memory_mib"), task.get("profile", ""))
        try:
            self.channel.send(("fatal", reason))
        finally:
            os.kill(os.getpid(), signal.SIGKILL)

    def _cancel(self, signum: int, frame: Any) -> None:
        flag = self.cancel_flag
        if flag is not None:
            flag.set()

    def serve(self) -> None:
        while True:
            try:
                kind, task = self.channel.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the engine has gone: so do we
            if kind != "run":
                os._exit(0)
            message = self.run(task)
            self._flush()
            self._reply(message, task["output_dir"])

    def _reply(self, message: tuple[Any, ...], folder: str) -> None:
        from multiprocessing.reduction import ForkingPickler

        try:
            data = bytes(ForkingPickler.dumps(message))
        except Exception as exc:  # an output that does not pickle
            data = bytes(
                ForkingPickler.dumps(("failed", f"cannot return the outputs: {exc}", False))
            )
        if len(data) > SPILL_BYTES:
            # The engine reads a large result on a thread, not on its event loop.
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, ".twinflow-result.pickle")
            with open(path, "wb") as handle:
                handle.write(data)
            data = bytes(ForkingPickler.dumps(("spill", path)))
        with self.channel.lock:
            self.channel.conn.send_bytes(data)

    def _flush(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        for capture in self.captures:
            capture.sync()

    # -- code ----------------------------------------------------------------------------

    def prepare_modules(
        self, run_id: str, modules: list[tuple[str, str, bytes, bool, str]]
    ) -> None:
        conflict = any(
            name in self.finder.modules and self.finder.modules[name][4] != sha
            for name, _, _, _, sha in modules
        )
        if run_id != self.run_id or conflict:
            self._purge()
            self.run_id = run_id
        for module in modules:
            self.finder.modules[module[0]] = module
            lines = module[2].decode("utf-8", "replace").splitlines(keepends=True)
            # Tracebacks quote the lines that ran, even when the file has changed since.
            linecache.cache[module[1]] = (len(module[2]), None, lines, module[1])

    def _purge(self) -> None:
        """Forget every user module: the next import reads the shipped bytes afresh."""
        folder = self.project_dir + os.sep
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None) or ""
            # Not a package installed in a virtualenv inside the project: extension
            # modules (numpy) cannot be imported twice in one process.
            installed = "site-packages" in path or "dist-packages" in path
            if name in self.finder.modules or (path.startswith(folder) and not installed):
                del sys.modules[name]
        for _, filename, _, _, _ in self.finder.modules.values():
            linecache.cache.pop(filename, None)
        self.finder.modules.clear()
        importlib.invalidate_caches()

    # -- one task ------------------------------------------------------------------------

    def run(self, task: dict[str, Any]) -> tuple[Any, ...]:
        from twinflow_studio.engine.errors import TaskFailed
        from twinflow_studio.engine.executors import import_callable
        from twinflow_studio.engine.task import CancelFlag, TaskCancelled, TaskContext

        self.prepare_modules(task["run_id"], task["modules"] or [])
        flag = CancelFlag()
        ctx = TaskContext(
            run_id=task["run_id"],
            node_id=task["node_id"],
            node_kind=task["node_kind"],
            params=task["params"],
            inputs=task["inputs"],
            output_ports=task["output_ports"],
            output_dir=Path(task["output_dir"]),
            project_dir=Path(task["project_dir"]),
            log=lambda line: self.channel.send(("log", "stdout", str(line))),
            cancelled=flag,
            previous_outputs=task["previous_outputs"],
            attempt=task["attempt"],
        )
        self.cancel_flag = flag
        self.task = task
        limit = task.get("memory_mib")
        try:
            func = self.executors.get(task["executor"])
            if func is None:
                func = self.executors[task["executor"]] = import_callable(task["executor"])
            with self.memory.limit(limit):
                outputs = func(ctx) or {}
            if self.memory.exceeded:
                return ("failed", _exceeded(limit, task.get("profile", "")), False)
            return ("done", outputs, dict(ctx.metrics))
        except TaskCancelled:
            return ("failed", "the node was cancelled", False)
        except MemoryError:
            self._traceback()
            return ("failed", _exceeded(limit, task.get("profile", "")), False)
        except TaskFailed as exc:
            if exc.__cause__ is not None or exc.__context__ is not None:
                self._traceback()
            return ("failed", str(exc), exc.retryable)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the node failed, not us
            self._traceback()
            if isinstance(exc, MemoryError) or _is_memory(exc) or self.memory.exceeded:
                return ("failed", _exceeded(limit, task.get("profile", "")), False)
            return ("failed", _one_line(exc), True)
        finally:
            self.cancel_flag = None

    def _traceback(self) -> None:
        for line in _user_traceback().rstrip("\n").splitlines():
            self.channel.send(("log", "stderr", line))


def _user_traceback() -> str:
    """The current exception's traceback from the user's first frame on: the frames of our
    worker and executor that called the function say nothing to the user."""
    exc = sys.exc_info()[1]
    if exc is None:
        return ""
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(ours):
            break
        tb = tb.tb_next
    if tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(ours):
        tb = exc.__traceback__  # raised in our own code: all of it
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _is_memory(exc: BaseException) -> bool:
    # Out of memory a thread cannot get its stack, and numpy may wrap the allocation
    # failure: both are the memory speaking.
    seen = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or "can't start new thread" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return False


def _exceeded(limit: int | None, profile: str) -> str:
    where = f" of hardware profile {profile!r}" if profile else ""
    return f"exceeded {limit} MiB (the memory_mib{where}); give the node a larger profile"


def boot(fd: int, project_dir: str) -> None:
    """The worker's entry point: ``fd`` is its end of the socket pair to the engine."""
    from multiprocessing.connection import Connection

    lifeline = int(os.environ.pop("TWINFLOW_WORKER_LIFELINE", "-1"))
    if lifeline >= 0:
        threading.Thread(target=_watch, args=(lifeline,), daemon=True).start()
    extra = [p for p in os.environ.pop("TWINFLOW_WORKER_PATH", "").split(os.pathsep) if p]
    sys.path[:] = list(dict.fromkeys([*extra, *sys.path]))
    main(Connection(fd), project_dir)


def _watch(fd: int) -> None:
    """The engine holds the other end: when it dies (even mid-node), the worker goes too."""
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os._exit(0)


def main(conn: Any, project_dir: str) -> None:
    # One BLAS thread per worker unless the user says otherwise: the pool is the parallelism.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    worker = Worker(conn, project_dir)
    worker.setup()
    worker.serve()
