"""Live mode: the project's triggers armed on the Qt loop with the same watch code as
``--run --watch`` (:func:`twinstat.triggers.watch`).

Each triggered run goes through the studio's run controller, so it colours the canvas and
fills the run panel like a manual run, and carries its cause (trigger id, kind, detail) into
the summary and lineage. The runs use the project *as saved*: edits apply from the next
triggered run after a save. Seen files, schedule times and queued manual fires live in the
project's ``.twinflow/live/`` (see :mod:`twinstat.live_state`), so a restart resumes there.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from twinflow_studio.project import load
from twinflow_studio.twinstat.live_state import LiveState, pending_fires, request_fire
from twinflow_studio.twinstat.triggers import env_poll_interval, watch


class LiveController(QObject):
    changed = Signal()  # live on/off, a trigger fired, a run ended

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.task: asyncio.Task[Any] | None = None
        self.stop_event: asyncio.Event | None = None
        self.project: Any = None
        self.project_dir: Path | None = None
        self.running: dict[str, Any] | None = None  # the cause of the run in progress
        self.history: list[dict[str, Any]] = []  # {cause, fired_at, run_id, status}
        self.last_fired: dict[str, dict[str, Any]] = {}

    @property
    def live(self) -> bool:
        return self.task is not None and not self.task.done()

    def go_live(self) -> str | None:
        """Arm the triggers; returns why not (a message) or None."""
        if self.live:
            return None
        window = self.window
        if window.doc.path is None:
            return "Save the project first: live mode runs the project as saved"
        if not window.trust_project(ask_again=False):
            return window.trust.last_message or "The project is not trusted"
        self.project = load(window.doc.path)
        if not self.project.triggers:
            return "The project has no triggers to arm"
        self.project_dir = window.doc.path.parent
        self.stop_event = asyncio.Event()
        self.task = asyncio.ensure_future(
            watch(
                self.project,
                self._engine_run,
                self.stop_event,
                project_dir=self.project_dir,
                poll_interval=float(
                    self.project.settings.get("watch_poll_s", 0) or env_poll_interval()
                ),
                on_fire=self._on_fire,
            )
        )
        self.task.add_done_callback(lambda _t: self.changed.emit())
        self.changed.emit()
        return None

    async def stop(self) -> None:
        """Disarm; a triggered run in progress is cancelled and recorded as such."""
        if self.stop_event is not None:
            self.stop_event.set()
        if self.running is not None and self.window.runs.busy:
            await self.window.runs.stop()
        if self.task is not None:
            await asyncio.wait({self.task})
        self.changed.emit()

    def fire_now(self, trigger_id: str) -> Path | None:
        """Queue a manual fire (the same request file ``--fire`` writes)."""
        if self.project_dir is None:
            return None
        path = request_fire(self.project_dir, trigger_id, "Fire now in the studio")
        self.changed.emit()
        return path

    def queued(self) -> list[dict[str, Any]]:
        if self.project_dir is None:
            return []
        return [body for _path, body in pending_fires(self.project_dir)]

    def next_fire(self, spec: dict[str, Any]) -> float | None:
        """Wall-clock time of the trigger's next poll or scheduled fire (kept on disk)."""
        if self.project_dir is None or spec.get("kind") == "manual":
            return None
        saved = LiveState(self.project_dir).restore(spec)
        value = saved.get("next_fire_at") if saved else None
        return float(value) if isinstance(value, (int, float)) else None

    def _on_fire(self, cause: dict[str, Any]) -> None:
        entry = {"cause": cause, "fired_at": time.time(), "run_id": None, "status": "queued"}
        self.history.append(entry)
        self.last_fired[str(cause.get("id"))] = entry
        self.changed.emit()

    async def _engine_run(self, _project: Any, *, only: Any = None, trigger: Any = None) -> Any:
        window = self.window
        while window.runs.busy:  # a manual run goes on: the triggered one waits its turn
            if self.stop_event is not None and self.stop_event.is_set():
                return None
            await asyncio.sleep(0.1)
        entry = self.history[-1] if self.history else {}
        if entry.get("cause") is not trigger:  # a drift trigger's check run: no fire of its own
            entry = {"cause": trigger, "fired_at": time.time(), "run_id": None}
            self.history.append(entry)
        project = load(window.doc.path) if window.doc.path is not None else self.project
        self.running = trigger
        entry["status"] = "running"
        self.changed.emit()
        window.canvas.clear_states()
        window.canvas.set_states({n: ("pending", "pending") for n in (only or project.nodes)})
        task = window.runs.start(project, window.doc.path, self.project_dir, only, trigger=trigger)
        try:
            result = await task if task is not None else None
        finally:
            self.running = None
        window.runs.flush()
        summary = window.runs.last_summary or {}
        entry["run_id"] = summary.get("run_id")
        entry["status"] = summary.get("status") or "failed to start"
        self.changed.emit()
        return result
