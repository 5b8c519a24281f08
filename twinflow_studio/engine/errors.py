"""Errors the engine reports; each message says what failed and where."""

from __future__ import annotations

from twinflow_studio.project.errors import TwinFlowError


class EngineError(TwinFlowError):
    """Root of the engine's errors: a run, a task or a target failed."""


class TaskFailed(EngineError):
    """A task attempt failed. ``retryable`` is False for errors a retry cannot fix."""

    def __init__(
        self, message: str, *, exit_code: int | None = None, retryable: bool = True
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.retryable = retryable


class ImportPathError(EngineError):
    """An import path ('package.module:name') that does not resolve; says why."""


class TargetUnavailable(EngineError):
    """The place a node should run cannot be reached (daemon down, bad credentials)."""
