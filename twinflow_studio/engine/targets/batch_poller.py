"""One status poller per Batch target: every in-flight job id goes into shared
``describe_jobs`` calls (100 ids each, the API's limit), with backoff while nothing changes.

The interval is a fixed fraction of the time since the last status change, between a floor
and a ceiling: a job that has run for ten minutes is asked every minute (at most
``max_s``), one that just started every ``min_s``. So the delay in noticing the end of a job
stays a small share of its run time, and the API sees few calls for long jobs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from twinflow_studio.project.errors import TwinFlowError

log = logging.getLogger(__name__)
DESCRIBE_LIMIT = 100
TERMINAL = ("SUCCEEDED", "FAILED")
# Consecutive failed describe calls before the jobs' waiters are told.
MAX_POLL_ERRORS = 8
BACKOFF_FRACTION = 0.1


class PollError(TwinFlowError):
    pass


class JobPoller:
    def __init__(
        self,
        describe: Callable[[list[str]], list[dict[str, Any]]],
        run: Callable[..., Awaitable[Any]],
        min_s: float,
        max_s: float,
    ) -> None:
        self._describe = describe
        self._run = run
        self._min_s = min_s
        self._max_s = max(min_s, max_s)
        self._watchers: dict[str, asyncio.Queue[dict[str, Any] | PollError]] = {}
        self._last_status: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._deadline = 0.0
        self._interval = min_s
        self._changed_at = time.monotonic()
        self.describe_calls = 0

    def watch(self, job_ids: list[str]) -> asyncio.Queue[dict[str, Any] | PollError]:
        """Descriptions of these jobs arrive on the returned queue on every poll."""
        queue: asyncio.Queue[dict[str, Any] | PollError] = asyncio.Queue()
        for job_id in job_ids:
            self._watchers[job_id] = queue
        # A new job restarts the fast cadence, without an extra call right away.
        self._changed_at = time.monotonic()
        self._deadline = min(self._deadline, time.monotonic() + self._min_s)
        self._wake.set()
        if self._task is None or self._task.done():
            self._deadline = time.monotonic() + self._min_s
            self._task = asyncio.create_task(self._loop(), name="batch-job-poller")
        return queue

    def unwatch(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self._watchers.pop(job_id, None)
            self._last_status.pop(job_id, None)

    async def close(self) -> None:
        self._watchers.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _sleep_until_due(self) -> None:
        while (left := self._deadline - time.monotonic()) > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def _loop(self) -> None:
        errors = 0
        while self._watchers:
            await self._sleep_until_due()
            ids = list(self._watchers)
            try:
                found: list[dict[str, Any]] = []
                for start in range(0, len(ids), DESCRIBE_LIMIT):
                    self.describe_calls += 1
                    found += await self._run(self._describe, ids[start : start + DESCRIBE_LIMIT])
                errors = 0
            except Exception as exc:  # throttling, network: back off and try again
                errors += 1
                log.warning("describe_jobs failed (%d in a row): %s", errors, exc)
                if errors >= MAX_POLL_ERRORS:
                    for queue in set(self._watchers.values()):
                        queue.put_nowait(PollError(f"cannot poll job status: {exc}"))
                    errors = 0
                self._interval = min(self._max_s, self._interval * 2)
                self._deadline = time.monotonic() + self._interval
                continue
            now = time.monotonic()
            for desc in found:
                job_id = desc.get("jobId", "")
                waiting = self._watchers.get(job_id)
                if waiting is None:
                    continue
                status = str(desc.get("status", ""))
                if self._last_status.get(job_id) != status:
                    self._last_status[job_id] = status
                    self._changed_at = now
                waiting.put_nowait(desc)
            quiet = now - self._changed_at
            self._interval = min(self._max_s, max(self._min_s, BACKOFF_FRACTION * quiet))
            self._deadline = now + self._interval
