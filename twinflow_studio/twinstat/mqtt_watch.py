"""The watch loop's MQTT side: one ingest per `mqtt` node while the twin is live, and the
counters the `mqtt` triggers fire on (every N stored messages and/or every T seconds)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twinflow_studio.twinstat.mqtt_ingest import MqttError, MqttIngest

log = logging.getLogger(__name__)
RETRY_S = 5.0


class MqttSources:
    """Starts and stops the ingests of a project's mqtt nodes; counts what each stored.

    ``wake`` is called (from the ingest's writer thread) after each stored batch, so the
    watch loop looks at the triggers at once instead of at its next poll."""

    def __init__(self, project: Any, project_dir: Path, wake: Callable[[], None]) -> None:
        self.project = project
        self.project_dir = project_dir
        self.wake = wake
        self.ingests: dict[str, MqttIngest] = {}
        self.counts: dict[str, int] = {}
        self._failed_at: dict[str, float] = {}

    @property
    def sources(self) -> list[str]:
        return sorted(n for n, node in self.project.nodes.items() if node.kind == "mqtt")

    async def start(self) -> None:
        for source in self.sources:
            if source in self.ingests:
                continue
            if time.monotonic() - self._failed_at.get(source, -RETRY_S) < RETRY_S:
                continue
            params = self.project.nodes[source].effective_params()
            ingest = MqttIngest(self.project_dir, source, params, on_stored=self._stored_cb(source))
            try:
                await asyncio.to_thread(ingest.start)
            except (MqttError, ValueError, OSError) as exc:
                self._failed_at[source] = time.monotonic()
                log.error("mqtt node %s cannot ingest: %s (retrying)", source, exc)
                continue
            self.ingests[source] = ingest
            self.counts.setdefault(source, 0)

    def _stored_cb(self, source: str) -> Callable[[int], None]:
        def stored(n: int) -> None:
            # Writer thread: a plain int add under the GIL; the loop reads it.
            self.counts[source] = self.counts.get(source, 0) + n
            self.wake()

        return stored

    def take(self, source: str) -> int:
        n = self.counts.get(source, 0)
        self.counts[source] = 0
        return n

    async def stop(self) -> None:
        for ingest in self.ingests.values():
            await asyncio.to_thread(ingest.stop)
        self.ingests.clear()


class MqttTriggerState:
    """When an `mqtt` trigger is due: N messages since it last fired, or T seconds with at
    least one new message."""

    def __init__(self, config: dict[str, Any], now: float) -> None:
        self.source = str(config["source"])
        self.every_n = config.get("every_messages")
        self.every_t = config.get("every_seconds")
        self.pending = 0
        self.last_fire = now

    def due(self, now: float) -> bool:
        if self.pending <= 0:
            return False
        if self.every_n is not None and self.pending >= int(self.every_n):
            return True
        return self.every_t is not None and now - self.last_fire >= float(self.every_t)

    def fired(self, now: float) -> dict[str, Any]:
        detail = {"source": self.source, "messages": self.pending}
        self.pending = 0
        self.last_fire = now
        return detail
