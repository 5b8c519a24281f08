"""Streams a Batch job's CloudWatch Logs into the node's log as lines arrive."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from twinflow_studio.engine.targets.batch_bootstrap import MARKER

_EXIT = re.compile(re.escape(MARKER) + r" (-?\d+)")


def log_stream_of(desc: dict[str, Any]) -> str | None:
    """The job's log stream: on the container once it ran, else on its latest attempt."""
    name = (desc.get("container") or {}).get("logStreamName")
    if not name:
        attempts = desc.get("attempts") or []
        if attempts:
            name = (attempts[-1].get("container") or {}).get("logStreamName")
    return str(name) if name else None


class LogFollower:
    """Follows one log stream with ``get_log_events`` and its forward token.

    ``poke`` starts a fetch in the background when one is due (at most one at a time);
    ``drain`` fetches until the bootstrap's exit line shows up or a grace period passes,
    because CloudWatch may receive the last lines a little after the job stopped.
    """

    def __init__(
        self,
        logs: Any,
        run: Callable[..., Awaitable[Any]],
        group: str,
        emit: Callable[[str], None],
        every_s: float,
    ) -> None:
        self._logs = logs
        self._run = run
        self._group = group
        self._emit = emit
        self._every_s = every_s
        self.stream: str | None = None
        self._token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0
        self.exit_code: int | None = None
        self.lines = 0

    def poke(self, desc: dict[str, Any]) -> None:
        stream = log_stream_of(desc)
        if stream is None:
            return
        if stream != self.stream:
            self.stream, self._token = stream, None
        busy = self._task is not None and not self._task.done()
        if busy or time.monotonic() - self._last < self._every_s:
            return
        self._task = asyncio.create_task(self._fetch_safely())

    async def drain(self, desc: dict[str, Any], grace_s: float) -> None:
        self.poke(desc)
        if self._task is not None:
            await self._task
        if self.stream is None:
            return
        deadline = time.monotonic() + grace_s
        while self.exit_code is None:
            await self._fetch_safely()
            if self.exit_code is not None or time.monotonic() >= deadline:
                return
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _fetch_safely(self) -> None:
        self._last = time.monotonic()
        try:
            await self._fetch()
        except Exception as exc:  # the stream may not exist yet; logs must not fail a task
            if "ResourceNotFoundException" not in str(exc):
                self._emit(f"[engine] cannot read CloudWatch Logs: {exc}")

    async def _fetch(self) -> None:
        while self.stream is not None:
            kwargs: dict[str, Any] = {
                "logGroupName": self._group,
                "logStreamName": self.stream,
                "startFromHead": True,
            }
            if self._token:
                kwargs["nextToken"] = self._token
            page = await self._run(self._logs.get_log_events, **kwargs)
            events = page.get("events") or []
            for event in events:
                line = str(event.get("message", ""))
                match = _EXIT.search(line)
                if match:
                    self.exit_code = int(match.group(1))
                self.lines += 1
                self._emit(line)
            token = page.get("nextForwardToken")
            # CloudWatch repeats the token once the end of the stream is reached; the
            # bootstrap's exit line is the last line there is.
            if not events or token == self._token or self.exit_code is not None:
                self._token = token or self._token
                return
            self._token = token
