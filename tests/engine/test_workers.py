"""The in-process worker pool and the per-attempt cancel flag."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from twinflow_studio.engine.task import CancelFlag
from twinflow_studio.engine.workers import WorkerPool


def test_results_and_errors_reach_the_awaiting_task() -> None:
    def boom() -> None:
        raise ValueError("bad input in row 3")

    def stop() -> None:
        raise StopIteration("exhausted")

    async def scenario() -> None:
        pool = WorkerPool(2)
        assert await pool.run(pow, 2, 10) == 1024
        assert await pool.run(threading.current_thread) is not threading.current_thread()
        with pytest.raises(ValueError, match="bad input in row 3"):
            await pool.run(boom)
        # A Future refuses StopIteration; the task must still learn that the call failed.
        with pytest.raises(RuntimeError, match="StopIteration: exhausted"):
            await asyncio.wait_for(pool.run(stop), 5)
        pool.close()

    asyncio.run(scenario())


def test_never_more_calls_at_once_than_workers() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def scenario() -> WorkerPool:
        pool = WorkerPool(3)
        await asyncio.gather(*(pool.run(work) for _ in range(12)))
        pool.close()
        return pool

    pool = asyncio.run(scenario())
    assert peak == 3
    assert len(pool._threads) == 3


def test_a_sequence_of_calls_uses_one_thread() -> None:
    names: set[str] = set()

    async def scenario() -> None:
        pool = WorkerPool(8, "seq")
        for _ in range(50):
            names.add(await pool.run(lambda: threading.current_thread().name))
        pool.close()

    asyncio.run(scenario())
    assert names == {"seq-0"}


def test_a_cancelled_wait_leaves_the_pool_working() -> None:
    release = threading.Event()

    async def scenario() -> int:
        pool = WorkerPool(1)
        waiting = pool.run(release.wait, 5)
        await asyncio.sleep(0.05)
        waiting.cancel()
        release.set()
        # The same single worker finishes the abandoned call, then serves this one.
        value = await asyncio.wait_for(pool.run(lambda: 42), 5)
        assert pool._busy == 0
        pool.close()
        return value

    assert asyncio.run(scenario()) == 42


def test_close_cancels_queued_calls_and_ends_the_threads() -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[int] = []

    def first() -> None:
        started.set()
        release.wait(5)

    async def scenario() -> WorkerPool:
        pool = WorkerPool(1)
        pool.run(first)
        queued = pool.run(ran.append, 1)
        await asyncio.to_thread(started.wait, 5)
        pool.close()
        release.set()
        with pytest.raises(RuntimeError, match="closed"):
            pool.run(ran.append, 2)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(queued, 5)
        await asyncio.sleep(0.1)
        return pool

    pool = asyncio.run(scenario())
    for thread in pool._threads:
        thread.join(5)
        assert not thread.is_alive()
        assert thread.daemon
    assert ran == []


def test_a_call_that_outlives_its_loop_is_dropped_quietly() -> None:
    release = threading.Event()
    done = threading.Event()

    def slow() -> None:
        release.wait(5)
        done.set()

    async def scenario() -> WorkerPool:
        pool = WorkerPool(1)
        pool.run(slow)
        return pool

    pool = asyncio.run(scenario())  # the loop closes with the call still running
    release.set()
    assert done.wait(5)
    pool.close()
    pool._threads[0].join(5)
    assert not pool._threads[0].is_alive()


def test_cancel_flag_behaves_like_an_event() -> None:
    flag = CancelFlag()
    assert not flag.is_set()
    started = time.monotonic()
    assert flag.wait(0.05) is False
    assert time.monotonic() - started >= 0.04
    threading.Timer(0.05, flag.set).start()
    assert flag.wait(5) is True
    assert flag.is_set()
    assert flag.wait(0) is True


def test_cancel_flag_set_before_anyone_waits() -> None:
    flag = CancelFlag()
    flag.set()
    assert flag.wait(0.01) is True
