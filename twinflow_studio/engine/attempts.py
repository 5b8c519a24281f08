"""One node of a run, from its cache key to its terminal state, split as Prefect's task engine
splits a task run: ``prepare`` (parameters, staged inputs, code identity, cache key), then
either the cache handler or attempts, each of which ends in the success, retry or failure
handler. The scheduler (``scheduler._Run``) decides when a node runs; this decides what
running it means, and records the outcome through the run's own ``_state``, ``_log``,
``_record`` and ``_finish`` so that events, lineage and the graph walk stay in one place.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import time
from typing import TYPE_CHECKING, Any

from twinflow_studio.engine import run_lock
from twinflow_studio.engine.cache_key import node_cache_key
from twinflow_studio.engine.errors import TargetUnavailable, TaskFailed
from twinflow_studio.engine.events import ArtifactRef, NodeState, TaskRecord
from twinflow_studio.engine.integrity import verify_cached
from twinflow_studio.engine.paths import attempt_dir
from twinflow_studio.engine.store import artifact_path, producer_of
from twinflow_studio.engine.targets.base import TaskResult, TaskSpec
from twinflow_studio.engine.task import CancelFlag, InputArtifact
from twinflow_studio.project.model import Node

if TYPE_CHECKING:
    from twinflow_studio.engine.scheduler import _Run


class NodeRun:
    """One node of one run. Made when the scheduler admits the node; ``execute`` returns once
    the node has reached a terminal state (``asyncio.CancelledError`` aside, which the
    scheduler turns into ``cancelled``)."""

    def __init__(self, run: _Run, node: Node) -> None:
        self.run = run
        self.node = node
        self.outcome = run.outcomes[node.id]
        self.target = run.targets[run.placement[node.id].name]
        # Asked of the node (and its kind) once: the cache key, every attempt and the
        # collection of outputs all need them.
        self.output_ports = node.output_ports()
        self.params: dict[str, Any] = {}
        self.inputs: dict[str, InputArtifact] = {}
        self.input_refs: tuple[ArtifactRef, ...] = ()
        self.code = ""

    async def execute(self) -> None:
        if not await self.prepare():
            return
        if self.run.use_cache and await self.from_cache():
            return
        node, outcome = self.node, self.outcome
        self.run._state(node.id, NodeState.RUNNING, 1, outcome.cache_miss or "")
        previous = self.previous_outputs()
        max_attempts = node.retries.count + 1
        for attempt in range(1, max_attempts + 1):
            outcome.attempts = attempt
            error, retryable = await self.attempt(attempt, previous)
            if error is None:
                self.on_success()
                return
            outcome.error = error
            if not retryable or attempt == max_attempts or self.run.cancelled.is_set():
                break
            await self.on_retry(attempt, error)
        await self.on_failure()

    # -- before the first attempt --------------------------------------------------------

    async def prepare(self) -> bool:
        """Parameters, staged inputs, the code identity and the cache key. False when the
        node has failed already (a required input left empty, code that cannot be read)."""
        node, outcome = self.node, self.outcome
        self.params = outcome.params = node.effective_params()
        outcome.started_at = time.time()
        try:
            self.inputs = self._stage_inputs()
            self.code = await self.target.code_identity(node, self.params, self.run.project_dir)
        except (TaskFailed, TargetUnavailable) as exc:
            outcome.ended_at = time.time()
            outcome.error = str(exc)
            self.run._finish(node.id, NodeState.FAILED, str(exc))
            return False
        outcome.cache_key = node_cache_key(
            node, self.params, self.code, {port: art.sha256 for port, art in self.inputs.items()}
        )
        return True

    async def from_cache(self) -> bool:
        """The cache handler: serve the outputs of an earlier run with the same key, once
        their bytes are proven unchanged; False (run the node) otherwise."""
        run, node, outcome = self.run, self.node, self.outcome
        hit = run.store.cache.get(outcome.cache_key)
        if hit is None:
            return False
        run_id, refs, metrics = hit
        stale = await verify_cached(refs)
        if stale is not None:
            outcome.cache_miss = f"not reused from run {run_id}: {stale}"
            run._log(node.id, f"{outcome.cache_miss}; running the node again", "engine")
            return False
        outcome.outputs = {ref.port: ref for ref in refs}
        outcome.ended_at = time.time()
        run._finish(
            node.id,
            NodeState.CACHED,
            f"reused from run {run_id}",
            record=self._record(
                NodeState.CACHED, outputs=tuple(refs), cached_from_run=run_id, metrics=metrics
            ),
        )
        return True

    # -- one attempt ---------------------------------------------------------------------

    async def attempt(
        self, attempt: int, previous: dict[str, InputArtifact]
    ) -> tuple[str | None, bool]:
        """One attempt; returns (error or None, whether a retry may help)."""
        run, node, outcome = self.run, self.node, self.outcome
        spec = TaskSpec(
            run_id=run.run_id,
            node=node,
            params=self.params,
            inputs=self.inputs,
            output_ports={p.name: p.type for p in self.output_ports},
            profile=run.project.profiles[node.profile],
            attempt=attempt,
            work_dir=attempt_dir(run.run_dir, node.id, attempt),
            project_dir=run.project_dir,
            log=functools.partial(run._log, node.id),
            cancelled=CancelFlag(),
            timeout_s=node.timeout_s,
            previous_outputs=previous,
        )
        if run.cancelled.is_set():
            spec.cancelled.set()
        target = self.target
        try:
            work = target.execute_map(spec) if node.map_over else target.execute(spec)
            if node.timeout_s is not None:
                result = await asyncio.wait_for(work, node.timeout_s)
            else:
                result = await work
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            spec.cancelled.set()
            return f"timed out after {node.timeout_s:g} s", True
        except asyncio.CancelledError:
            spec.cancelled.set()
            raise
        except TaskFailed as exc:
            outcome.exit_code = exc.exit_code
            return str(exc), exc.retryable
        except TargetUnavailable as exc:
            return str(exc), True
        outcome.exit_code = result.exit_code
        try:
            outcome.outputs = await self._collect(result)
        except (TaskFailed, OSError) as exc:
            return str(exc), False
        outcome.metrics = result.metrics
        return None, False

    async def _collect(self, result: TaskResult) -> dict[str, ArtifactRef]:
        run, node = self.run, self.node
        if not result.outputs and not any(p.required for p in self.output_ports):
            return {}  # nothing produced and nothing owed (most no-op and ordering nodes)
        ports = {p.name: p for p in self.output_ports}
        missing = [p for p in ports.values() if p.required and p.name not in result.outputs]
        if missing:
            raise TaskFailed(
                "did not produce required output(s) " + ", ".join(p.name for p in missing),
                retryable=False,
            )
        unknown = sorted(set(result.outputs) - set(ports))
        if unknown:
            raise TaskFailed(f"produced undeclared output(s) {', '.join(unknown)}", retryable=False)
        # An optional output left empty (None) is not produced: an edge from it only orders.
        produced = {
            port: value
            for port, value in result.outputs.items()
            if value is not None or ports[port].required
        }
        if not produced:
            return {}

        producer = producer_of(node.kind, run.placement[node.id].kind)

        def collect() -> dict[str, ArtifactRef]:
            store, run_id = run.store, run.run_id
            return {
                port: store.collect(run_id, node.id, port, ports[port].type, value, producer)
                for port, value in produced.items()
            }

        if all(_is_scalar(v) for v in produced.values()):
            return collect()  # a few bytes each: a thread hop would cost more than the write
        return await asyncio.to_thread(collect)

    # -- how the attempts end ------------------------------------------------------------

    def on_success(self) -> None:
        run, node, outcome = self.run, self.node, self.outcome
        outcome.ended_at = time.time()
        outcome.error = None
        outputs = list(outcome.outputs.values())
        run.store.cache.put(outcome.cache_key, node.id, run.run_id, outputs, outcome.metrics)
        run._finish(
            node.id,
            NodeState.SUCCEEDED,
            record=self._record(
                NodeState.SUCCEEDED, outputs=tuple(outputs), metrics=outcome.metrics
            ),
        )

    async def on_retry(self, attempt: int, error: str) -> None:
        """Attempt ``attempt`` failed with a retryable ``error``: wait, then run again."""
        run, node = self.run, self.node
        delay = node.retries.delay(attempt + 1)
        run._log(node.id, f"attempt {attempt} failed: {error}; retrying in {delay:g} s", "engine")
        run._state(node.id, NodeState.RETRYING, attempt, error)
        await asyncio.sleep(delay)
        run._state(node.id, NodeState.RUNNING, attempt + 1)

    async def on_failure(self) -> None:
        """The last attempt failed (``outcome.error`` says why)."""
        run, node, outcome = self.run, self.node, self.outcome
        outcome.ended_at = time.time()
        if run_lock.disk_full(run.run_dir):
            await asyncio.to_thread(self._remove_partial_outputs)
        run._finish(
            node.id,
            NodeState.FAILED,
            outcome.error or "failed",
            record=self._record(NodeState.FAILED),
        )

    def _record(self, state: str, **extra: Any) -> TaskRecord | None:
        """The lineage record of the node's terminal event (None when nobody listens)."""
        if not self.run.engine.listening:
            return None
        return self.run._record(
            self.node.id, state, code_identity=self.code, inputs=self.input_refs, **extra
        )

    def _remove_partial_outputs(self) -> None:
        """A node that failed on a full disk leaves no half-written outputs behind: they would
        take the room the run's records need (its log and ``run.json`` stay)."""
        folder = self.run.run_dir / self.node.id
        for child in [*folder.glob("attempt-*"), folder / "outputs"]:
            shutil.rmtree(child, ignore_errors=True)
        note = "the disk holding the run folder is full; the node's partial outputs were removed"
        self.outcome.error = f"{self.outcome.error or 'failed'} ({note})"

    # -- inputs --------------------------------------------------------------------------

    def _stage_inputs(self) -> dict[str, InputArtifact]:
        """The node's inputs, and (in ``input_refs``) the artifacts they are, for lineage."""
        run = self.run
        inputs = {}
        refs = []
        edges = run.in_edges[self.node.id]
        ports = {p.name: p for p in self.node.input_ports()} if edges else {}
        for port, source, source_port in edges:
            ref = run.outcomes[source].outputs.get(source_port)
            if ref is None:
                if ports[port].required:
                    raise TaskFailed(
                        f"required input {port!r} was not produced: {source}.{source_port} is "
                        "an optional output and the upstream node left it empty",
                        retryable=False,
                    )
                continue
            inputs[port] = staged(port, ports[port].type, ref)
            refs.append(ArtifactRef(port, ref.type, ref.uri, ref.sha256, ref.size, ref.kind))
        self.input_refs = tuple(refs)
        return inputs

    def previous_outputs(self) -> dict[str, InputArtifact]:
        """The outputs of this node's last successful run (for sequential updating)."""
        run = self.run
        if run.latest is None:
            run.latest = run.store.cache.latest_all()
        latest = run.latest.get(self.node.id)
        if latest is None:
            return {}
        return {ref.port: staged(ref.port, ref.type, ref) for ref in latest[1] if _exists(ref)}


def staged(port: str, port_type: str, ref: ArtifactRef) -> InputArtifact:
    return InputArtifact(
        port=port,
        type=port_type,
        path=artifact_path(ref),
        sha256=ref.sha256,
        kind=ref.kind,
        producer=ref.producer,
    )


def _is_scalar(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, (bool, int, float))
        or (isinstance(value, str) and len(value) < 4096)
    )


def _exists(ref: ArtifactRef) -> bool:
    try:
        return artifact_path(ref).exists()
    except ValueError:
        return True  # remote artifacts (s3://) are checked by the target that reads them
