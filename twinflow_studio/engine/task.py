"""What an in-process executor sees of the task it runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow_studio.project.errors import TwinFlowError


class CancelFlag:
    """Tells a running task to stop: ``threading.Event``'s interface, but the Condition
    behind ``wait`` is made only when somebody waits. A flag is made for every attempt and
    almost never waited on; an Event would cost a lock and a Condition each time."""

    __slots__ = ("_flag", "_event")
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._flag = False
        self._event: threading.Event | None = None

    def set(self) -> None:
        self._flag = True
        event = self._event
        if event is not None:
            event.set()

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        with CancelFlag._lock:
            if self._event is None:
                self._event = threading.Event()
                # set() may have run between the check above and the assignment.
                if self._flag:
                    self._event.set()
        return self._event.wait(timeout)


# Producers whose files our own Python code wrote on this machine: the in-process worker
# threads and the local worker processes. Everything else (containers, Batch jobs, a data
# source's file, an unknown producer) is untrusted input.
LOCAL_PRODUCERS: frozenset[str] = frozenset({"inprocess", "process"})


@dataclass(frozen=True)
class InputArtifact:
    """An input as staged for a task: a file or directory in the run store, or a JSON value.
    ``producer`` is the run store's record of what wrote it (see ``ArtifactRef``)."""

    port: str
    type: str
    path: Path
    sha256: str
    kind: str = "file"
    producer: str = ""

    def load(self) -> Any:
        """The value in its natural Python form for the port type."""
        if self.type == "json" or self.kind == "value":
            return json.loads(self.path.read_text(encoding="utf-8"))
        if self.type == "dataframe":
            from twinflow_studio.engine.dataframes import read_dataframe

            return read_dataframe(self.path)
        return self.path


@dataclass
class TaskContext:
    """Handed to an executor. ``output_dir`` is private to this attempt; an executor returns
    ``{port: value}`` where a value is a path (file or directory) or a JSON-able object."""

    run_id: str
    node_id: str
    node_kind: str
    params: dict[str, Any]
    inputs: dict[str, InputArtifact]
    output_ports: dict[str, str]
    output_dir: Path
    project_dir: Path
    log: Callable[[str], None]
    cancelled: CancelFlag = field(default_factory=CancelFlag)
    # Outputs of this node's last successful run, by port (for sequential updating).
    previous_outputs: dict[str, InputArtifact] = field(default_factory=dict)
    attempt: int = 1
    # Figures an executor wants recorded with the task (lineage: ModelVersion metrics).
    metrics: dict[str, Any] = field(default_factory=dict)

    def check_cancelled(self) -> None:
        """Long executors call this between steps; it raises when the run was cancelled."""
        if self.cancelled.is_set():
            raise TaskCancelled(self.node_id)


class TaskCancelled(TwinFlowError):
    def __init__(self, node_id: str) -> None:
        super().__init__(f"node {node_id!r} was cancelled")
