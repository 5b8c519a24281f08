"""In-process target: executors run in a worker thread pool so the event loop never blocks.

A timed-out or cancelled executor is told through ``ctx.cancelled``; Python cannot kill a
thread, so an executor that never checks keeps its worker until it returns (its result is
discarded). Long executors call ``ctx.check_cancelled()``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.executors import code_hash_of, import_callable
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.engine.task import TaskCancelled, TaskContext
from twinflow_studio.engine.workers import WorkerPool
from twinflow_studio.project.hashing import hash_path, hash_value
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node, TargetConfig


class InProcessTarget(Target):
    kind = "inprocess"

    def __init__(self, config: TargetConfig) -> None:
        super().__init__(config)
        workers = int(config.options.get("workers", max(2, min(8, int(config.vcpus)))))
        self._pool = WorkerPool(workers, "twinflow-node")
        self._identities: dict[tuple[str, str], str] = {}
        self._executors: dict[str, Any] = {}

    async def close(self) -> None:
        self._pool.close()

    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        _importable(project_dir)
        kind = get_kind(node.kind)
        executor = kind.executor if kind else None
        if node.kind == "datasource":
            return await self._pool.run(_datasource_identity, params, project_dir)
        if kind is not None and "volatile" in kind.tags:
            # Its output changes while its configuration does not (a live window).
            return hash_value({"volatile": node.kind, "nonce": os.urandom(8).hex()})
        callable_path = str(params.get("callable", "")) if node.kind == "python" else ""
        key = (executor or "", callable_path)
        # Source hashes are stable for the life of a run: hash each module once, not per node.
        if key not in self._identities:
            parts = {"executor": executor and code_hash_of(executor)}
            if callable_path:
                parts["callable"] = code_hash_of(callable_path)
            self._identities[key] = hash_value(parts)
        return self._identities[key]

    async def execute(self, spec: TaskSpec) -> TaskResult:
        kind = get_kind(spec.node.kind)
        if kind is None or kind.executor is None:
            raise TaskFailed(f"node kind {spec.node.kind!r} cannot run in-process", retryable=False)
        func = self._executors.get(kind.executor)
        if func is None:
            func = self._executors[kind.executor] = import_callable(kind.executor)
        ctx = TaskContext(
            run_id=spec.run_id,
            node_id=spec.node.id,
            node_kind=spec.node.kind,
            params=spec.params,
            inputs=spec.inputs,
            output_ports=spec.output_ports,
            output_dir=spec.work_dir,
            project_dir=spec.project_dir,
            log=lambda line: spec.log(line, "stdout"),
            cancelled=spec.cancelled,
            previous_outputs=spec.previous_outputs,
            attempt=spec.attempt,
        )
        try:
            outputs = await self._pool.run(_call, func, ctx)
        except asyncio.CancelledError:  # the thread runs on; it is told to stop
            spec.cancelled.set()
            raise
        return TaskResult(outputs=outputs, metrics=dict(ctx.metrics))


def _importable(project_dir: Path) -> None:
    """Python nodes may name modules that sit next to the project file."""
    folder = str(project_dir)
    if folder not in sys.path:
        sys.path.append(folder)


def _call(func: Any, ctx: TaskContext) -> dict[str, Any]:
    try:
        result = func(ctx)
    except (TaskFailed, TaskCancelled):
        raise
    except Exception as exc:
        raise TaskFailed(f"{type(exc).__name__}: {exc}") from exc
    return result or {}


def _datasource_identity(params: dict[str, Any], project_dir: Path) -> str:
    location = str(params.get("path", ""))
    if location.startswith("s3://"):
        # The S3 object's ETag would be cheaper, but the file is downloaded anyway.
        return hash_value({"s3": location, "nonce": os.urandom(8).hex()})
    path = Path(location).expanduser()
    path = path if path.is_absolute() else project_dir / path
    if not path.exists():
        return hash_value({"missing": str(path)})
    return hash_value({"content": hash_path(path)})
