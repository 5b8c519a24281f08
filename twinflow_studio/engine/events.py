"""Events a run emits. Subscribers (CLI progress, UI, lineage writer) receive them in order.

Events are plain frozen dataclasses so they can be queued, logged and serialised without
touching the engine's internals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal


class _StrEnum(str, Enum):
    """A string enum: members compare equal to, format as and serialise as their values, so
    JSON files, events and older callers comparing with plain strings keep working."""

    __str__ = str.__str__

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)


class NodeState(_StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"
    SKIPPED_BRANCH = "skipped_branch"  # a switch routed its input elsewhere
    CANCELLED = "cancelled"


TERMINAL_STATES: frozenset[str] = frozenset(
    {
        NodeState.SUCCEEDED,
        NodeState.CACHED,
        NodeState.FAILED,
        NodeState.SKIPPED,
        NodeState.SKIPPED_BRANCH,
        NodeState.CANCELLED,
    }
)


class RunStatus(_StrEnum):
    """How a run ended; ``interrupted`` is written by the next process for a killed run."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ArtifactRef:
    """An artifact produced or used by a task: content-addressed, stored in a run store.

    ``producer`` is what wrote the bytes, recorded when the run store took them in: the kind
    of the target that ran the node (``inprocess``, ``process``, ``docker``, ``batch``), or
    ``external`` for a data source's file. Empty when unknown (recorded before producers were
    tracked). Readers that would run code from a file (pickles) trust only local producers.
    """

    port: str
    type: str
    uri: str
    sha256: str
    size: int
    kind: Literal["file", "dir", "value"] = "file"
    producer: str = ""


@dataclass(frozen=True)
class TaskRecord:
    """Everything lineage needs about one task run, attached to its terminal state event."""

    node_id: str
    node_kind: str
    target: str
    target_kind: str
    profile: str
    cache_key: str
    code_identity: str
    attempt: int
    status: str
    started_at: float | None
    ended_at: float | None
    exit_code: int | None = None
    error: str | None = None
    inputs: tuple[ArtifactRef, ...] = ()
    outputs: tuple[ArtifactRef, ...] = ()
    cached_from_run: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    # "outer/inner/node" for a node flattened out of subgraphs; None for a top-level node.
    subgraph_path: str | None = None


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    project_name: str
    project_version: str
    project_path: str | None
    node_ids: tuple[str, ...]
    started_at: float
    trigger: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeStateChanged:
    run_id: str
    node_id: str
    state: str
    attempt: int
    at: float
    message: str = ""
    record: TaskRecord | None = None


@dataclass(frozen=True)
class LogLine:
    run_id: str
    node_id: str
    line: str
    stream: Literal["stdout", "stderr", "engine"] = "stdout"
    at: float = 0.0


@dataclass(frozen=True)
class Progress:
    run_id: str
    done: int
    total: int
    running: int


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    status: str
    finished_at: float
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunInterrupted:
    """An earlier run whose process died mid-run (``kill -9``, a crash), found and marked
    ``interrupted`` by the next process that opened its project (``engine.run_lock``)."""

    run_id: str
    status: str
    finished_at: float
    summary: dict[str, Any]


Event = RunStarted | NodeStateChanged | LogLine | Progress | RunFinished | RunInterrupted
Subscriber = Callable[[Event], None]


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-friendly dict with the event's type name under ``"event"``."""
    data = dataclasses.asdict(event)
    data["event"] = type(event).__name__
    return data
