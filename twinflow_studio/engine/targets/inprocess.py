"""In-process target: executors run in a worker thread pool so the event loop never blocks.

The explicit opt-in for trusted, cheap functions (Python and TwinStat nodes go to worker
processes, the ``process`` target, unless placed here). A timed-out or cancelled executor is
told through ``ctx.cancelled``; Python cannot kill a thread, so an executor that never
checks keeps its worker until it returns (its result is discarded). Long executors call
``ctx.check_cancelled()``.

Code identity is the same as on the ``process`` target (read and hashed on a thread, never
imported for it); the modules share this interpreter, so a user module whose bytes changed
since it was imported is dropped from ``sys.modules`` before the node runs and imported
afresh: the code that runs is the code the cache key names.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from twinflow_studio.engine.code_identity import CodeSnapshot, code_key, snapshot
from twinflow_studio.engine.errors import TaskFailed
from twinflow_studio.engine.executors import import_callable
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.engine.task import TaskCancelled, TaskContext
from twinflow_studio.engine.workers import WorkerPool
from twinflow_studio.project.hashing import hash_path, hash_value
from twinflow_studio.project.kinds import NodeKind, get_kind
from twinflow_studio.project.model import Node, TargetConfig


class InProcessTarget(Target):
    kind = "inprocess"

    def __init__(self, config: TargetConfig) -> None:
        super().__init__(config)
        workers = int(config.options.get("workers", max(2, min(8, int(config.vcpus)))))
        self._pool = WorkerPool(workers, "twinflow-node")
        # A target lives for one run: what is looked up here holds for the whole run.
        self._identities: dict[tuple[Any, ...], asyncio.Future[CodeSnapshot]] = {}
        self._executors: dict[str, Any] = {}
        self._kinds: dict[str, NodeKind | None] = {}
        self._importable: set[Path] = set()
        # The snapshot a node's cache key was computed from, which its attempts then run.
        self._node_code: dict[str, CodeSnapshot] = {}

    async def close(self) -> None:
        self._pool.close()

    def _kind(self, name: str) -> NodeKind | None:
        try:
            return self._kinds[name]
        except KeyError:
            kind = self._kinds[name] = get_kind(name)
            return kind

    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        if project_dir not in self._importable:
            self._importable.add(project_dir)
            _importable(project_dir)
        kind = self._kind(node.kind)
        executor = kind.executor if kind else None
        if node.kind == "datasource":
            return await self._pool.run(_datasource_identity, params, project_dir)
        if kind is not None and "volatile" in kind.tags:
            # Its output changes while its configuration does not (a live window).
            return hash_value({"volatile": node.kind, "nonce": os.urandom(8).hex()})
        future = self._snapshot(executor, params, project_dir)
        # Done for every node after the first of a callable: no need to suspend for it.
        code = self._node_code[node.id] = future.result() if future.done() else await future
        return code.digest

    def _snapshot(
        self, executor: str | None, params: dict[str, Any], project_dir: Path
    ) -> asyncio.Future[CodeSnapshot]:
        """The node's code snapshot, read and hashed once per run and callable, on a thread."""
        key = code_key(executor, params)
        future = self._identities.get(key)
        if future is None:
            future = self._identities[key] = asyncio.ensure_future(
                asyncio.to_thread(snapshot, executor, params, project_dir)
            )
        return future

    async def execute(self, spec: TaskSpec) -> TaskResult:
        kind = self._kind(spec.node.kind)
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
        code = None
        if spec.node.kind != "datasource":
            code = self._node_code.get(spec.node.id)
            if code is None:  # a volatile kind: its identity is not its code
                code = await self._snapshot(kind.executor, spec.params, spec.project_dir)
        try:
            outputs = await self._pool.run(_call, func, ctx, code)
        except asyncio.CancelledError:  # the thread runs on; it is told to stop
            spec.cancelled.set()
            raise
        return TaskResult(outputs=outputs, metrics=dict(ctx.metrics))


def _importable(project_dir: Path) -> None:
    """Python nodes may name modules that sit next to the project file."""
    folder = str(project_dir)
    if folder not in sys.path:
        sys.path.append(folder)


_TAG = "__twinflow_sha256__"


def _refresh(code: CodeSnapshot | None) -> None:
    """Drop the node's user modules from ``sys.modules`` when any of them has changed since
    it was imported (all of them: a module holds names taken from the others)."""
    if code is None or not code.modules:
        return
    stale = False
    for name, source in code.modules.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        seen = getattr(module, _TAG, None)
        if seen is None:  # imported before we looked: taken to be what is on disk now
            setattr(module, _TAG, source.sha256)
        elif seen != source.sha256:
            stale = True
    if stale:
        for name in code.modules:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()


def _tag(code: CodeSnapshot | None) -> None:
    if code is None:
        return
    for name, source in code.modules.items():
        module = sys.modules.get(name)
        if module is not None and getattr(module, _TAG, None) is None:
            setattr(module, _TAG, source.sha256)


def _call(func: Any, ctx: TaskContext, code: CodeSnapshot | None = None) -> dict[str, Any]:
    _refresh(code)
    try:
        result = func(ctx)
    except (TaskFailed, TaskCancelled):
        raise
    except Exception as exc:
        raise TaskFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        _tag(code)
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
    if not (path.is_file() or path.is_dir()):
        # A FIFO or a device (/dev/zero) would never finish hashing; the node fails instead.
        return hash_value({"special": str(path), "nonce": os.urandom(8).hex()})
    return hash_value({"content": hash_path(path)})
