"""A lean pool of worker threads whose calls are awaited on the event loop.

``loop.run_in_executor`` on a ``ThreadPoolExecutor`` costs about twice as much per call as
this: a ``concurrent.futures.Future`` with its own Condition, a work item, then an asyncio
Future chained to it by two callbacks. For a run of thousands of short in-process nodes that
was the largest part of the engine's overhead. Here a call is one queue put on the way in and
one ``call_soon_threadsafe`` on the way out.

Workers are daemon threads: a node that ignores cancellation must not keep the process from
exiting after its run has ended (its result is discarded either way).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class WorkerPool:
    def __init__(self, max_workers: int, name: str = "twinflow-worker") -> None:
        if max_workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._max = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Calls submitted and not yet returned. Only the loop thread changes it (on submit and
        # in the delivery callback), so it needs no lock.
        self._busy = 0
        self._closed = False

    def run(self, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Call ``func(*args)`` on a worker; await the returned future for its result.
        Cancelling the future does not stop the call: the worker finishes it and the result
        is dropped (in-process nodes are told to stop through their context instead)."""
        if self._closed:
            raise RuntimeError("the worker pool is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._busy += 1
        self._queue.put((loop, future, func, args))
        if self._busy > len(self._threads) and len(self._threads) < self._max:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return future

    def close(self) -> None:
        """Cancel calls that have not started; running ones finish, then their threads end.
        Called on the loop thread."""
        self._closed = True
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                self._busy -= 1
                call[1].cancel()
        for _ in self._threads:
            self._queue.put(None)

    def _deliver(
        self, future: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        self._busy -= 1
        if future.done():  # cancelled while the worker ran
            return
        if error is None:
            future.set_result(result)
        elif isinstance(error, StopIteration):  # a Future refuses it: it would end a coroutine
            future.set_exception(RuntimeError(f"the call raised StopIteration: {error}"))
        else:
            future.set_exception(error)

    def _work(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                return
            loop, future, func, args = call
            result, error = None, None
            try:
                result = func(*args)
            except BaseException as exc:  # handed to the awaiting task, whatever it is
                error = exc
            try:
                loop.call_soon_threadsafe(self._deliver, future, result, error)
            except RuntimeError:  # the loop has closed: nobody awaits this any more
                pass
            del call, future, result, error
