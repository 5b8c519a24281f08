"""The asyncio scheduler: runs ready nodes concurrently within each target's capacity.

Work per node is constant (indegree counters, per-target FIFO queues), so a run costs
O(nodes + edges). Blocking work (SDK calls, hashing) goes to threads; the loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from twinflow_studio.engine import run_lock
from twinflow_studio.engine.attempts import NodeRun
from twinflow_studio.engine.branches import SKIPPED_BRANCH, BranchRule
from twinflow_studio.engine.errors import TargetUnavailable
from twinflow_studio.engine.events import (
    TERMINAL_STATES,
    ArtifactRef,
    Event,
    LogLine,
    NodeState,
    NodeStateChanged,
    Progress,
    RunFinished,
    RunInterrupted,
    RunStarted,
    RunStatus,
    Subscriber,
    TaskRecord,
)
from twinflow_studio.engine.mute import skip_muted
from twinflow_studio.engine.overrides import apply_overrides
from twinflow_studio.engine.paths import child_path
from twinflow_studio.engine.store import RunStore
from twinflow_studio.engine.targets import make_target
from twinflow_studio.engine.targets.base import Target
from twinflow_studio.project import twinfile
from twinflow_studio.project.model import Project, TargetConfig
from twinflow_studio.project.placement import Placements
from twinflow_studio.project.subgraphs import expand_ids, flatten
from twinflow_studio.project.validate import ensure_valid

log = logging.getLogger(__name__)
LOG_TAIL = 20
BRANCH_KINDS = ("switch", "merge")
BRANCH_SETTLED = ("succeeded", "cached", SKIPPED_BRANCH)
CACHE_FLUSH_S = 2.0
CACHE_FLUSH_ENTRIES = 1000


@dataclass(slots=True)  # one per node of every run: slots make it smaller and quicker to make
class NodeOutcome:
    state: str = NodeState.PENDING
    attempts: int = 0
    error: str | None = None
    exit_code: int | None = None
    outputs: dict[str, ArtifactRef] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    cache_key: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    # Why a cache entry for this node was not served (its outputs changed on disk).
    cache_miss: str | None = None
    # The last log lines, made with the first one: most nodes log nothing, and a deque per
    # node of a 10k-node run was 6 MB and 10k more objects for the garbage collector.
    _tail: deque[str] | None = field(default=None, repr=False)

    @property
    def tail(self) -> Sequence[str]:
        """The node's last ``LOG_TAIL`` log lines, oldest first."""
        return self._tail if self._tail is not None else ()

    def add_line(self, line: str) -> None:
        if self._tail is None:
            self._tail = deque(maxlen=LOG_TAIL)
        self._tail.append(line)


@dataclass(repr=False)
class RunResult:
    run_id: str
    status: str
    run_dir: Path
    nodes: dict[str, NodeOutcome]
    summary: dict[str, Any]

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats the repr of its finished task, result
        # included (restoring the SIGINT handler, twice per run); the full dataclass repr
        # of 10k outcomes cost 0.2 to 0.4 s of every large run.
        return (
            f"RunResult(run_id={self.run_id!r}, status={str(self.status)!r}, "
            f"run_dir={str(self.run_dir)!r}, nodes={len(self.nodes)})"
        )

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    def output(self, node_id: str, port: str) -> ArtifactRef:
        return self.nodes[node_id].outputs[port]


class Engine:
    """Runs projects. One engine may run several projects; each run has its own state."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self._subscribers: list[Subscriber] = list(subscribers)
        self._runs: dict[str, _Run] = {}

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def cancel(self, run_id: str | None = None) -> None:
        """Cancel one run, or every active run."""
        for rid, run in list(self._runs.items()):
            if run_id is None or rid == run_id:
                run.cancel()

    @property
    def active_runs(self) -> list[str]:
        return list(self._runs)

    async def run(
        self,
        project: Project,
        *,
        project_dir: Path | None = None,
        project_path: Path | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
        only: Iterable[str] | None = None,
        trigger: dict[str, Any] | None = None,
        use_cache: bool = True,
        store_root: Path | None = None,
        run_id: str | None = None,
    ) -> RunResult:
        """Validate and run ``project``. ``only`` restricts the run to those nodes and what
        they need upstream (served from cache where unchanged)."""
        if project_dir is None:
            project_dir = project_path.parent if project_path else Path.cwd()
        project_dir = project_dir.resolve()
        project = apply_overrides(flatten(project, project_dir), overrides or {})
        ensure_valid(project)
        root = store_root or Path(
            project.settings.get("run_store", "") or project_dir / ".twinflow"
        )
        if not root.is_absolute():
            root = project_dir / root
        self.recover_interrupted(root)
        if run_lock.disk_full(root):
            run_lock.release_reserve(root)  # room for the run's records, not its outputs
        run = _Run(
            engine=self,
            project=project,
            project_dir=project_dir,
            project_path=project_path,
            store=RunStore(root),
            run_id=run_id or _new_run_id(),
            only=expand_ids(project, only) if only is not None else None,
            trigger=trigger,
            overrides=overrides or {},
            use_cache=use_cache,
        )
        self._runs[run.run_id] = run
        try:
            return await run.execute()
        finally:
            self._runs.pop(run.run_id, None)
            if run.lock is not None:
                run.lock.release()
            run.store.close()

    def recover_interrupted(self, store_root: Path) -> list[str]:
        """Marks ``interrupted`` the runs in the run store at ``store_root`` whose process died
        mid-run (``run.json`` and, through ``RunInterrupted``, lineage); their run ids."""
        found = run_lock.recover_interrupted(store_root / "runs")
        for summary in found:
            self.emit(
                RunInterrupted(
                    summary["run_id"], RunStatus.INTERRUPTED, summary["finished_at"], summary
                )
            )
        return [summary["run_id"] for summary in found]

    @property
    def listening(self) -> bool:
        """Whether anyone subscribes: events nobody receives are not built."""
        return bool(self._subscribers)

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken subscriber must never break a run
                log.exception("event subscriber %r failed", subscriber)


def _new_run_id() -> str:
    """Sortable by start time (to the millisecond), unique by its random tail."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}.{int(now % 1 * 1000):03d}Z-{uuid.uuid4().hex[:8]}"


class _Capacity:
    def __init__(self, config: TargetConfig) -> None:
        self.vcpus = config.vcpus
        self.memory = config.memory_mib
        self.gpus = config.gpus

    def take(self, node_profile: Any, sign: int) -> None:
        self.vcpus -= sign * node_profile.vcpus
        self.memory -= sign * node_profile.memory_mib
        self.gpus -= sign * node_profile.gpus

    def fits(self, profile: Any) -> bool:
        # A small epsilon: fractional vCPUs add up with rounding error.
        return (
            profile.vcpus <= self.vcpus + 1e-9
            and profile.memory_mib <= self.memory
            and profile.gpus <= self.gpus
        )


class _Run:
    def __init__(
        self,
        *,
        engine: Engine,
        project: Project,
        project_dir: Path,
        project_path: Path | None,
        store: RunStore,
        run_id: str,
        only: set[str] | None,
        trigger: dict[str, Any] | None,
        overrides: dict[str, dict[str, Any]],
        use_cache: bool,
    ) -> None:
        self.engine = engine
        self.project = project
        self.project_dir = project_dir
        self.project_path = project_path
        self.store = store
        self.run_id = run_id
        self.trigger = trigger
        self.overrides = overrides
        self.use_cache = use_cache
        self.run_dir = store.run_dir(run_id)
        self.version, self.snapshot = twinfile.versioned_record(project)
        self.node_ids = _with_upstream(project, only) if only is not None else set(project.nodes)
        self.outcomes = {n: NodeOutcome() for n in self.node_ids}
        self.cancelled = threading.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.targets: dict[str, Target] = {}
        self.target_errors: dict[str, str] = {}
        self.placement: dict[str, TargetConfig] = {}
        self.queues: dict[str, deque[str]] = defaultdict(deque)
        self.capacity: dict[str, _Capacity] = {}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.child_ports: dict[str, list[str]] = defaultdict(list)
        # Only for projects with switch/merge nodes: the rest never pay for branches.
        kinds = {n: node.kind for n, node in project.nodes.items() if node.kind in BRANCH_KINDS}
        self.branches = BranchRule(kinds) if kinds else None
        self.in_edges: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.waiting: dict[str, int] = {}
        self.done_count = 0
        self.done = asyncio.Event()
        self.logs: dict[str, TextIO] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0
        self.last_flush = time.monotonic()
        self.flushing: asyncio.Future[None] | None = None
        self.latest: dict[str, tuple[str, list[ArtifactRef]]] | None = None
        self.lock: run_lock.RunLock | None = None
        self.start_error: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def cancel(self) -> None:
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        if self.loop is not None and threading.get_ident() != self.loop_thread:
            self.loop.call_soon_threadsafe(self._cancel_in_loop)
        else:
            self._cancel_in_loop()

    def _cancel_in_loop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for node_id, outcome in self.outcomes.items():
            if outcome.state == NodeState.PENDING and node_id not in self.tasks:
                self._finish(node_id, NodeState.CANCELLED, "the run was cancelled")

    async def execute(self) -> RunResult:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        started = time.time()
        await asyncio.to_thread(self._prepare, started)
        self.engine.emit(
            RunStarted(
                run_id=self.run_id,
                project_name=self.project.name,
                project_version=self.version,
                project_path=str(self.project_path) if self.project_path else None,
                node_ids=tuple(sorted(self.node_ids)),
                started_at=started,
                trigger=self.trigger,
                overrides=self.overrides,
            )
        )
        interrupted = False
        try:
            try:
                if self.start_error is not None:
                    for node_id in sorted(self.node_ids):
                        self._finish(node_id, NodeState.FAILED, self.start_error)
                else:
                    await self._start_targets()
                    skip_muted(self)
                    self._build_graph()
                if not self.node_ids:
                    self.done.set()
                await self.done.wait()
            except asyncio.CancelledError:
                self.cancel()
                await self._drain()
                interrupted = True
        finally:
            await self._close()
        # A run whose task is cancelled (the studio quitting) still ends recorded: run.json
        # and RunFinished say "cancelled", so no lineage shows it running forever.
        result = self._finish_run(started)
        if interrupted:
            raise asyncio.CancelledError
        return result

    def _prepare(self, started: float) -> None:
        """The run folder, its liveness lock and the project snapshot. On a full disk the
        run store's reserve is given up for them (once); if that is not enough, or on any
        other OS error, the run's nodes fail with the reason and nothing is left behind."""
        for last in (False, True):
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                marker: dict[str, Any] = {"run_id": self.run_id, "project": self.project.name}
                marker.update(started_at=started, project_version=self.version)
                self.lock = run_lock.RunLock.acquire(self.run_dir, marker)
                twinfile.write_atomic(self.run_dir / "project.twin", self.snapshot)
                run_lock.ensure_reserve(self.store.root)
                return
            except OSError as exc:
                if self.lock is not None:
                    self.lock.release()
                    self.lock = None
                shutil.rmtree(self.run_dir, ignore_errors=True)
                if last or not (
                    run_lock.is_no_space(exc) and run_lock.release_reserve(self.store.root)
                ):
                    self.start_error = f"cannot write the run folder {self.run_dir}: {exc}"
                    return

    async def _drain(self) -> None:
        pending = [t for t in self.tasks.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _start_targets(self) -> None:
        placements = Placements(self.project)
        for node_id in self.node_ids:
            self.placement[node_id] = placements.target(self.project.nodes[node_id])
        for config in {c.name: c for c in self.placement.values()}.values():
            target = make_target(config)
            try:
                await target.start()
            except TargetUnavailable as exc:
                self.target_errors[config.name] = str(exc)
            self.targets[config.name] = target
            self.capacity[config.name] = _Capacity(config)

    async def _close(self) -> None:
        for target in self.targets.values():
            try:
                await target.close()
            except Exception:
                log.exception("closing target %s failed", target.name)
        for handle in self.logs.values():
            try:
                handle.close()
            except OSError:  # the disk is full: the log's tail is in run.json
                pass
        if self.flushing is not None:
            await asyncio.wait([self.flushing])
        await asyncio.to_thread(self.store.cache.flush)

    # -- graph walking -------------------------------------------------------------------

    def _build_graph(self) -> None:
        for edge in self.project.edges:
            if edge.source in self.node_ids and edge.target in self.node_ids:
                self.children[edge.source].append(edge.target)
                self.child_ports[edge.source].append(edge.source_port)
                self.in_edges[edge.target].append((edge.target_port, edge.source, edge.source_port))
        for node_id in self.node_ids:
            self.waiting[node_id] = len(self.in_edges[node_id])
        for node_id in sorted(self.node_ids):
            if self.waiting[node_id] == 0:
                self._ready(node_id)

    def _ready(self, node_id: str, deferred: str | None = None) -> None:
        """Queue a node whose inputs are all there. ``deferred`` names a target that the
        calling node task pumps itself once it has released its slot."""
        if self.cancelled.is_set():
            self._finish(node_id, NodeState.CANCELLED, "the run was cancelled")
            return
        target = self.placement[node_id].name
        if target in self.target_errors:
            self._finish(node_id, NodeState.FAILED, self.target_errors[target])
            return
        self.queues[target].append(node_id)
        if target != deferred:
            self._pump(target)

    def _pump(self, target: str, adopt: bool = False) -> str | None:
        """Start what fits. With ``adopt`` the first node admitted is returned to the
        calling node task to run next instead of getting a task of its own."""
        queue = self.queues[target]
        capacity = self.capacity[target]
        adopted = None
        # Strict FIFO: a large node at the head is not starved by small ones behind it.
        while queue:
            if self.outcomes[queue[0]].state != NodeState.PENDING:  # cancelled while it waited
                queue.popleft()
                continue
            profile = self.project.profiles[self.project.nodes[queue[0]].profile]
            # Placement guarantees the profile fits the target when it is idle.
            if not capacity.fits(profile):
                break
            node_id = queue.popleft()
            capacity.take(profile, +1)
            if adopt and adopted is None:
                adopted = node_id
                self.tasks[node_id] = asyncio.current_task(self.loop)  # type: ignore[assignment]
            else:
                self.tasks[node_id] = asyncio.create_task(self._run_node(node_id))
        return adopted

    def _finish(self, node_id: str, state: str, message: str = "", record: Any = None) -> None:
        # Finished by its own task, which pumps its target itself once its slot is free.
        task = self.tasks.get(node_id)
        # current_task(loop): without the loop it asks the OS for the process id on every call.
        own = (
            self.placement[node_id].name
            if task and task is asyncio.current_task(self.loop)
            else None
        )
        # A worklist, not recursion: a failure at the top of a 10k-deep chain skips it all.
        work = [(node_id, state, message, record)]
        while work:
            node_id, state, message, record = work.pop()
            outcome = self.outcomes[node_id]
            if outcome.state in TERMINAL_STATES:
                continue
            outcome.state = state
            if (
                state in (NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED)
                and message
                and not outcome.error
            ):
                outcome.error = message
            self.done_count += 1
            if self.engine.listening:
                if record is None:
                    record = self._record(node_id, state)
                self.engine.emit(
                    NodeStateChanged(
                        self.run_id, node_id, state, outcome.attempts, time.time(), message, record
                    )
                )
                self.engine.emit(
                    Progress(self.run_id, self.done_count, len(self.node_ids), len(self.tasks))
                )
            ports = self.child_ports.get(node_id, ())
            for child, port in zip(self.children.get(node_id, ()), ports, strict=True):
                self.waiting[child] -= 1
                if self.outcomes[child].state != NodeState.PENDING:
                    continue
                if self.branches is not None and state in BRANCH_SETTLED:
                    dead = self.branches.dead(node_id, state, outcome.outputs, port)
                    verdict = self.branches.verdict(child, dead, self.waiting[child])
                    if verdict == "ready":
                        self._ready(child, own)
                    elif verdict == SKIPPED_BRANCH:
                        why = f"branch not taken at {node_id!r}"
                        work.append((child, SKIPPED_BRANCH, why, None))
                    continue
                if state in (NodeState.SUCCEEDED, NodeState.CACHED):
                    if self.waiting[child] == 0:
                        self._ready(child, own)
                else:
                    why = NodeState.CANCELLED if state == NodeState.CANCELLED else NodeState.SKIPPED
                    work.append((child, why, f"upstream node {node_id!r} {state}", None))
        if self.done_count == len(self.node_ids):
            self.done.set()
        elif self.flushing is None and (
            self.store.cache.queued >= CACHE_FLUSH_ENTRIES
            or time.monotonic() - self.last_flush > CACHE_FLUSH_S
        ):
            # So that a crashed process still reuses most of what it finished, and the
            # flush at the end is short. On a worker thread: SQLite's writes never hold up
            # the loop (the studio's), and the run goes on while they are made.
            self.last_flush = time.monotonic()
            self.flushing = asyncio.ensure_future(asyncio.to_thread(self.store.cache.flush))
            self.flushing.add_done_callback(self._flushed)

    def _flushed(self, future: asyncio.Future[None]) -> None:
        self.flushing = None
        if not future.cancelled() and future.exception() is not None:
            log.error("flushing the run cache failed", exc_info=future.exception())

    def _record(self, node_id: str, state: str, **extra: Any) -> TaskRecord | None:
        """The lineage record of a task, for its terminal event; None when nobody listens."""
        if not self.engine.listening:
            return None
        node = self.project.nodes[node_id]
        outcome = self.outcomes[node_id]
        config = self.placement.get(node_id)
        fields: dict[str, Any] = {
            "node_id": node_id,
            "node_kind": node.kind,
            "target": config.name if config else "",
            "target_kind": config.kind if config else "",
            "profile": node.profile,
            "cache_key": outcome.cache_key,
            "code_identity": "",
            "attempt": outcome.attempts,
            "status": state,
            "started_at": outcome.started_at,
            "ended_at": outcome.ended_at or time.time(),
            "exit_code": outcome.exit_code,
            "error": outcome.error,
            "params": outcome.params if outcome.params is not None else node.effective_params(),
            "subgraph_path": node.subgraph_path or None,
        }
        fields.update(extra)
        return TaskRecord(**fields)

    # -- one node ------------------------------------------------------------------------

    async def _run_node(self, node_id: str) -> None:
        """Run a node, then whichever node its target admits next (usually the child it has
        just readied): a chain runs in one task, not a task per node."""
        unsuspended = 0
        next_id: str | None = node_id
        while next_id is not None:
            node_id = next_id
            node = self.project.nodes[node_id]
            profile = self.project.profiles[node.profile]
            target_name = self.placement[node_id].name
            try:
                # Cache hits and early failures never wait on anything: on a long chain of
                # them, let the loop (the UI's loop, in the studio) breathe now and then.
                if unsuspended >= 32:
                    unsuspended = 0
                    await asyncio.sleep(0)
                await NodeRun(self, node).execute()
            except asyncio.CancelledError:
                self.outcomes[node_id].ended_at = time.time()
                self._finish(node_id, NodeState.CANCELLED, "the run was cancelled")
            except Exception as exc:  # an engine bug must still end the node, never hang
                log.exception("node %s crashed the engine", node_id)
                self.outcomes[node_id].error = f"internal error: {type(exc).__name__}: {exc}"
                self._finish(node_id, NodeState.FAILED, self.outcomes[node_id].error or "")
            finally:
                self.tasks.pop(node_id, None)
                self.capacity[target_name].take(profile, -1)
            unsuspended = (
                unsuspended + 1 if self.outcomes[node_id].state != NodeState.SUCCEEDED else 0
            )
            next_id = self._pump(target_name, adopt=True)

    # -- events --------------------------------------------------------------------------

    def _state(self, node_id: str, state: str, attempt: int, message: str = "") -> None:
        self.outcomes[node_id].state = state
        if self.engine.listening:
            self.engine.emit(
                NodeStateChanged(self.run_id, node_id, state, attempt, time.time(), message)
            )

    def _log(self, node_id: str, line: str, stream: str = "stdout") -> None:
        if threading.get_ident() != self.loop_thread and self.loop is not None:
            self.loop.call_soon_threadsafe(self._log, node_id, line, stream)
            return
        line = line.rstrip("\n")
        self.outcomes[node_id].add_line(line)
        handle = self.logs.get(node_id)
        try:
            if handle is None:
                folder = child_path(self.run_dir, node_id)
                folder.mkdir(parents=True, exist_ok=True)
                handle = self.logs[node_id] = open(folder / "log.txt", "a", encoding="utf-8")
            handle.write(line + "\n")
        except OSError:
            pass  # a full disk: the line still reaches the subscribers and run.json's tail
        if self.engine.listening:
            event = LogLine(self.run_id, node_id, line, stream, time.time())  # type: ignore[arg-type]
            self.engine.emit(event)

    def _finish_run(self, started: float) -> RunResult:
        counts = _count(self.outcomes)
        states = counts.keys()
        if NodeState.FAILED in states or NodeState.SKIPPED in states:
            status = RunStatus.FAILED
        elif NodeState.CANCELLED in states or self.cancelled.is_set():
            status = RunStatus.CANCELLED
        else:
            status = RunStatus.SUCCEEDED
        # Sorted once, by id alone (comparing (id, outcome) pairs costs more).
        order = sorted(self.outcomes)
        outcomes = self.outcomes
        failed = [n for n in order if outcomes[n].state == NodeState.FAILED]
        summary = {
            "run_id": self.run_id,
            "project": self.project.name,
            "project_version": self.version,
            "status": status,
            "duration_s": round(time.time() - started, 3),
            "run_dir": str(self.run_dir),
            "counts": counts,
            "failed": [
                {
                    "node": n,
                    "error": self.outcomes[n].error,
                    "exit_code": self.outcomes[n].exit_code,
                    "attempts": self.outcomes[n].attempts,
                    "last_log_lines": list(self.outcomes[n].tail),
                }
                for n in failed
            ],
            "nodes": _node_summaries(outcomes, order),
            "trigger": self.trigger,
        }
        if self.start_error is not None:
            summary["error"] = self.start_error
        if self.lock is not None:
            self.lock.finish(summary)  # never raises: a full disk uses run.json's reserve
        self.engine.emit(RunFinished(self.run_id, status, time.time(), summary))
        return RunResult(self.run_id, status, self.run_dir, self.outcomes, summary)


def _with_upstream(project: Project, only: set[str]) -> set[str]:
    unknown = sorted(only - set(project.nodes))
    if unknown:
        raise ValueError(f"no such node(s) to run: {', '.join(unknown)}")
    return project.reachable(only, upstream=True)


def _node_summaries(outcomes: dict[str, NodeOutcome], order: list[str]) -> dict[str, Any]:
    """run.json's per-node part: one entry per node of every run, so a plain loop."""
    nodes: dict[str, Any] = {}
    for n in order:
        o = outcomes[n]
        entry = {
            "state": o.state,
            "attempts": o.attempts,
            "error": o.error,
            "exit_code": o.exit_code,
            "outputs": {p: r.uri for p, r in o.outputs.items()} if o.outputs else {},
        }
        if o.cache_miss:
            entry["cache_miss"] = o.cache_miss
        nodes[n] = entry
    return nodes


def _count(outcomes: dict[str, NodeOutcome]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome.state] += 1
    return dict(sorted(counts.items()))
