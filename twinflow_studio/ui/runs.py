"""Runs from the studio: the engine runs on the Qt loop (qasync); events are coalesced.

The engine calls subscribers synchronously on the loop thread, which here is the Qt thread;
the subscriber only appends to lists, and a timer applies them to the widgets every 40 ms, so
a 200-node run costs a few repaints per second rather than one per event.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from twinflow_studio.engine import Engine, LogLine, NodeStateChanged, Progress, RunFinished
from twinflow_studio.engine.events import Event, RunStarted
from twinflow_studio.project import Project, ValidationError

FLUSH_MS = 40


class RunController(QObject):
    started = Signal(str)  # run id
    states = Signal(dict)  # node id -> (state, badge text)
    logs = Signal(list)  # [(node id, stream, line)]
    progress = Signal(int, int, int)  # done, total, running
    finished = Signal(dict)  # run summary
    failedToStart = Signal(str, list)  # message, problems
    busyChanged = Signal(bool)  # a run was asked for / has ended (Cancel run follows it)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = Engine([self._on_event])
        self.task: asyncio.Task[Any] | None = None
        self.run_id: str | None = None
        self.node_ids: tuple[str, ...] = ()  # what the run runs: the flattened project's ids
        self._cancel_requested = False
        self.last_summary: dict[str, Any] | None = None
        self.use_cache = True
        self.history: dict[str, list[str]] = {}  # node id -> states seen (tests, summary)
        self._states: dict[str, tuple[str, str]] = {}
        self._logs: list[tuple[str, str, str]] = []
        self._progress: tuple[int, int, int] | None = None
        self._finished: dict[str, Any] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(
        self,
        project: Project,
        project_path: Path | None,
        project_dir: Path,
        only: list[str] | None = None,
        trigger: dict[str, Any] | None = None,
    ) -> asyncio.Task[Any] | None:
        """Start a run of a copy of ``project``; ``trigger`` is its cause (live mode), kept
        in the run's summary and lineage. The task's result is the engine's RunResult."""
        if self.busy:
            return None
        self.history, self.last_summary, self.node_ids = {}, None, ()
        self.run_id, self._cancel_requested = None, False
        self._timer.start()
        self.task = asyncio.ensure_future(
            self._run(project.copy(), project_path, project_dir, only, trigger)
        )
        self.task.add_done_callback(lambda _task: self.busyChanged.emit(False))
        self.busyChanged.emit(True)
        return self.task

    async def _run(
        self,
        project: Project,
        path: Path | None,
        folder: Path,
        only: list[str] | None,
        trigger: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return await self.engine.run(
                project,
                project_dir=folder,
                project_path=path,
                only=only,
                use_cache=self.use_cache,
                trigger=trigger,
            )
        except ValidationError as exc:
            self.failedToStart.emit("The project has problems; fix them to run it.", exc.problems)
        except Exception as exc:  # the studio reports, and stays open
            self.failedToStart.emit(f"The run could not start: {exc}", [])
        finally:
            self.flush()
            self._timer.stop()
        return None

    def cancel(self) -> None:
        if self.busy:
            self._cancel_requested = True  # before RunStarted, honoured when it arrives
            if self.run_id is not None:
                self.engine.cancel(self.run_id)

    async def stop(self) -> None:
        """Cancel a run in progress and wait until it has ended (recorded as cancelled)."""
        if self.busy and self.task is not None:
            self.cancel()
            await asyncio.wait({self.task})

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id, self.node_ids = event.run_id, event.node_ids
            self.started.emit(event.run_id)
            if self._cancel_requested:
                self.engine.cancel(event.run_id)
        elif isinstance(event, NodeStateChanged):
            text = event.state if event.attempt <= 1 else f"{event.state} (try {event.attempt})"
            self._states[event.node_id] = (event.state, text)
            self.history.setdefault(event.node_id, []).append(event.state)
        elif isinstance(event, LogLine):
            self._logs.append((event.node_id, event.stream, event.line))
        elif isinstance(event, Progress):
            self._progress = (event.done, event.total, event.running)
        elif isinstance(event, RunFinished):
            self._finished = event.summary

    def flush(self) -> None:
        if self._states:
            states, self._states = self._states, {}
            self.states.emit(states)
        if self._logs:
            logs, self._logs = self._logs, []
            self.logs.emit(logs)
        if self._progress is not None:
            self.progress.emit(*self._progress)
            self._progress = None
        if self._finished is not None:
            summary, self._finished = self._finished, None
            self.last_summary = summary
            self.finished.emit(summary)


def summary_text(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in summary.get("counts", {}).items())
    lines = [
        f"Run {summary.get('run_id')} — {summary.get('status')} in "
        f"{summary.get('duration_s', 0):.2f} s",
        f"Nodes: {counts}",
        f"Run folder: {summary.get('run_dir')}",
    ]
    for failed in summary.get("failed", []):
        lines.append("")
        lines.append(f"✗ {failed['node']}: {failed.get('error')}")
        lines += [f"    {line}" for line in failed.get("last_log_lines", [])[-5:]]
    return "\n".join(lines)


def now() -> float:
    return time.time()
