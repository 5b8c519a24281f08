"""The ``process`` target: nodes run in a warm pool of worker processes of their project.

A node's code is identified by the bytes of its module and of the user modules it imports
(``engine.code_identity``), found and hashed on a thread, and the worker runs exactly those
bytes. Output (print, C-level writes, ``logging``) streams into the node's log as it comes.
Cancelling or timing out a node ends its worker process; the pool starts another. A worker
that dies fails only its node. The hardware profile's ``memory_mib`` limits the resident memory
the node adds to its worker (``engine.worker_memory``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from twinflow_studio.engine.code_identity import CodeSnapshot, code_key, snapshot
from twinflow_studio.engine.errors import TargetUnavailable, TaskFailed
from twinflow_studio.engine.process_pool import ProcessPool, WorkerProcess, pool_for
from twinflow_studio.engine.targets.base import Target, TaskResult, TaskSpec
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node, TargetConfig


class ProcessTarget(Target):
    kind = "process"

    def __init__(self, config: TargetConfig) -> None:
        super().__init__(config)
        self._size = max(1, int(config.vcpus))
        self._pool: ProcessPool | None = None
        # Per run (a target lives for one run): code read once per distinct callable.
        self._snapshots: dict[tuple[Any, ...], asyncio.Future[CodeSnapshot]] = {}
        self._by_digest: dict[str, CodeSnapshot] = {}
        # The code digest each node's cache key was computed from: what its attempts run.
        self._node_digest: dict[str, str] = {}

    async def start(self) -> None:
        workers = self.config.options.get("workers")
        if workers is None:
            return
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise TargetUnavailable(
                f"target {self.name!r}: options.workers must be a whole number of at least 1, "
                f"found {workers!r}"
            )
        self._size = workers

    def pool(self, project_dir: Path) -> ProcessPool:
        if self._pool is None:
            self._pool = pool_for(project_dir, self.name, self._size)
        return self._pool

    async def code_identity(self, node: Node, params: dict[str, Any], project_dir: Path) -> str:
        kind = get_kind(node.kind)
        executor = kind.executor if kind else None
        key = code_key(executor, params)
        future = self._snapshots.get(key)
        if future is None:
            future = self._snapshots[key] = asyncio.ensure_future(
                asyncio.to_thread(snapshot, executor, params, project_dir)
            )
        code = await future if not future.done() else future.result()
        self._by_digest[code.digest] = code
        self._node_digest[node.id] = code.digest
        return code.digest

    async def execute(self, spec: TaskSpec) -> TaskResult:
        kind = get_kind(spec.node.kind)
        if kind is None or kind.executor is None:
            raise TaskFailed(
                f"node kind {spec.node.kind!r} cannot run in a worker process", retryable=False
            )
        digest = self._node_digest.get(spec.node.id)
        if digest is None:
            digest = await self.code_identity(spec.node, spec.params, spec.project_dir)
        pool = self.pool(spec.project_dir)
        worker = await pool.acquire()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[Any, ...]] = loop.create_future()

        def on_message(message: tuple[Any, ...]) -> None:
            if message[0] == "log":
                spec.log(message[2], message[1])
            elif not done.done():
                done.set_result(message)

        try:
            worker.start(loop, on_message, self._task(spec, kind.executor, digest, worker))
        except (OSError, ValueError) as exc:  # it died while idle
            pool.discard(worker)
            raise TaskFailed(f"the worker process could not take the node: {exc}") from exc
        try:
            message = await done
        except asyncio.CancelledError:
            pool.discard(worker, graceful=True)
            raise
        if message[0] == "died":
            pool.discard(worker)
            raise TaskFailed(message[1], retryable=True)
        if message[0] == "fatal":  # it ended itself (over its memory_mib) after saying why
            pool.discard(worker)
            raise TaskFailed(message[1], retryable=False)
        pool.release(worker)
        if message[0] == "failed":
            raise TaskFailed(message[1], retryable=bool(message[2]))
        return TaskResult(outputs=message[1], metrics=message[2])

    def _task(
        self, spec: TaskSpec, executor: str, digest: str, worker: WorkerProcess
    ) -> dict[str, Any]:
        if worker.run_id != spec.run_id:
            worker.run_id = spec.run_id
            worker.digests.clear()
        modules = None
        if digest not in worker.digests:
            worker.digests.add(digest)
            code = self._by_digest[digest]
            modules = [
                (m.name, m.filename, m.source, m.is_package, m.sha256)
                for m in code.modules.values()
            ]
        return {
            "executor": executor,
            "run_id": spec.run_id,
            "node_id": spec.node.id,
            "node_kind": spec.node.kind,
            "params": spec.params,
            "inputs": spec.inputs,
            "output_ports": spec.output_ports,
            "output_dir": str(spec.work_dir),
            "project_dir": str(spec.project_dir),
            "previous_outputs": spec.previous_outputs,
            "attempt": spec.attempt,
            "memory_mib": spec.profile.memory_mib,
            "profile": spec.profile.name,
            "modules": modules,
        }
