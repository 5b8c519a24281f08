"""The engine: turns a project into a run on in-process, Docker and Batch targets."""

from twinflow_studio.engine.errors import EngineError, TargetUnavailable, TaskFailed
from twinflow_studio.engine.events import (
    ArtifactRef,
    LogLine,
    NodeStateChanged,
    Progress,
    RunFinished,
    RunStarted,
    TaskRecord,
)
from twinflow_studio.engine.overrides import parse_param
from twinflow_studio.engine.scheduler import Engine, NodeOutcome, RunResult
from twinflow_studio.engine.task import InputArtifact, TaskContext

__all__ = [
    "ArtifactRef",
    "Engine",
    "EngineError",
    "InputArtifact",
    "LogLine",
    "NodeOutcome",
    "NodeStateChanged",
    "Progress",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "TargetUnavailable",
    "TaskContext",
    "TaskFailed",
    "TaskRecord",
    "parse_param",
]
