"""Triggers that keep a twin living: new data (folder or S3 prefix), schedule, drift, manual.

A trigger spec in a project is ``{"id", "kind", "config": {...}, "nodes": [...]}``; ``nodes``
(optional) names the nodes it starts from. When it fires, :func:`watch` asks for a run of
those nodes and everything downstream (the engine serves unchanged upstream nodes from its
cache) and passes ``{"kind", "id", "detail"}`` as the run's cause.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from twinflow_studio.engine.paths import file_uri_path
from twinflow_studio.project.hashing import hash_file
from twinflow_studio.project.triggers import validate_trigger
from twinflow_studio.twinstat.fs_events import FolderEvents
from twinflow_studio.twinstat.live_state import LiveState, pending_fires
from twinflow_studio.twinstat.mqtt_watch import MqttSources, MqttTriggerState

log = logging.getLogger(__name__)

EngineRun = Callable[..., Awaitable[Any]]


# ---- change detection ------------------------------------------------------------------


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_dict(self) -> dict[str, list[str]]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}


def diff(old: dict[str, str], new: dict[str, str]) -> Changes:
    return Changes(
        added=sorted(set(new) - set(old)),
        changed=sorted(k for k in set(new) & set(old) if new[k] != old[k]),
        removed=sorted(set(old) - set(new)),
    )


class FolderWatcher:
    """Content hashes of the files under a folder (or of one file). Files are re-hashed only
    when their size or modification time moved, so polling a large folder stays cheap; the
    hash (not the mtime) decides whether something changed."""

    def __init__(self, path: Path, pattern: str = "*", recursive: bool = False) -> None:
        self.path = path
        self.pattern = pattern
        self.recursive = recursive
        self._stat: dict[str, tuple[int, int, str]] = {}

    def snapshot(self) -> dict[str, str]:
        if self.path.is_file():
            files = [self.path]
        elif self.path.is_dir():
            walker = self.path.rglob("*") if self.recursive else self.path.iterdir()
            files = [p for p in walker if p.is_file() and fnmatch.fnmatch(p.name, self.pattern)]
        else:
            files = []
        out: dict[str, str] = {}
        stats: dict[str, tuple[int, int, str]] = {}
        for file in files:
            key = file.name if file == self.path else file.relative_to(self.path).as_posix()
            if key.startswith(".") or key.endswith((".tmp", ".part")):
                continue  # files still being written by the usual atomic-rename pattern
            try:
                st = file.stat()
                known = self._stat.get(key)
                if known and known[:2] == (st.st_size, st.st_mtime_ns):
                    digest = known[2]
                else:
                    digest = hash_file(file)
            except OSError:  # removed between listing and hashing
                continue
            stats[key] = (st.st_size, st.st_mtime_ns, digest)
            out[key] = digest
        self._stat = stats
        return out


class S3Watcher:
    """ETags of the objects under an S3 prefix (``list_objects_v2``, paginated)."""

    def __init__(self, uri: str, endpoint_url: str | None = None, region: str | None = None):
        parsed = urlparse(uri)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self._client: Any = None

    def snapshot(self) -> dict[str, str]:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region or "us-east-1"
            )
        out: dict[str, str] = {}
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                out[obj["Key"]] = str(obj.get("ETag", "")).strip('"')
        return out


# ---- the affected subgraph -------------------------------------------------------------


def _norm(location: str, project_dir: Path) -> str:
    if location.startswith("s3://"):
        return location.rstrip("/")
    path = Path(location).expanduser()
    return str((path if path.is_absolute() else project_dir / path).resolve())


def sources_reading(project: Any, location: str, project_dir: Path) -> list[str]:
    """Data-source nodes whose path is the watched location, inside it, or contains it."""
    watched = _norm(location, project_dir)
    out = []
    for node_id, node in project.nodes.items():
        if node.kind != "datasource" or not isinstance(node.params.get("path"), str):
            continue
        source = _norm(node.params["path"], project_dir)
        if (
            source == watched
            or source.startswith(watched + "/")
            or watched.startswith(source + "/")
        ):
            out.append(node_id)
    return sorted(out)


# ---- the watch loop --------------------------------------------------------------------


@dataclass
class _Armed:
    spec: dict[str, Any]
    roots: list[str]
    interval: float
    watcher: FolderWatcher | S3Watcher | None = None
    state: dict[str, str] = field(default_factory=dict)
    next_due: float = 0.0
    mqtt: MqttTriggerState | None = None
    touched: bool = False  # a file event says: look now, not at the next poll

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    @property
    def kind(self) -> str:
        return str(self.spec["kind"])


def _arm(spec: dict[str, Any], project: Any, project_dir: Path, poll: float) -> _Armed | None:
    config = spec.get("config", {}) or {}
    roots = list(spec.get("nodes", []) or [])
    kind = spec["kind"]
    if kind == "new_data":
        location: str = config.get("path") or config.get("uri") or ""
        if str(location).startswith("s3://"):
            watcher: FolderWatcher | S3Watcher = S3Watcher(
                location, config.get("endpoint_url"), config.get("region")
            )
        else:
            path = Path(location).expanduser()
            watcher = FolderWatcher(
                path if path.is_absolute() else project_dir / path,
                config.get("pattern", "*"),
                bool(config.get("recursive", False)),
            )
        roots = roots or sources_reading(project, str(location), project_dir)
        return _Armed(spec, roots, float(config.get("interval", poll)), watcher)
    if kind == "schedule":
        return _Armed(spec, roots, float(config["interval"]))
    if kind == "drift":
        check = config["check_node"]
        if not roots:
            # By default retrain what feeds the check (the model or posterior it evaluates).
            roots = sorted(
                {
                    e.source
                    for e in project.edges
                    if e.target == check and e.target_port in ("model", "posterior")
                }
            )
        return _Armed(spec, roots, float(config.get("interval", 60.0)))
    if kind == "mqtt":
        item = _Armed(spec, roots or [str(config["source"])], poll)
        item.mqtt = MqttTriggerState(config, time.monotonic())
        return item
    return None  # manual triggers fire only when asked


def _ref_value(result: Any, node_id: str, port: str) -> Any:
    """A JSON output of a finished run, read through the run result's artifact reference."""
    ref = result.output(node_id, port)
    uri = getattr(ref, "uri", ref)
    path = Path(file_uri_path(uri) if str(uri).startswith("file://") else uri)
    return json.loads(path.read_text(encoding="utf-8"))


async def watch(
    project: Any,
    engine_run: EngineRun,
    stop: asyncio.Event,
    *,
    project_dir: Path | None = None,
    poll_interval: float = 1.0,
    manual: asyncio.Queue[str] | None = None,
    on_fire: Callable[[dict[str, Any]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    initial: Callable[[], Awaitable[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Poll the project's triggers until ``stop`` is set; run the affected subgraph for each
    one that fires via ``await engine_run(project, only=[...], trigger={...})``.

    ``initial`` (the first full run) is awaited after the watched folders were snapshotted,
    so a file that lands while it runs still fires a trigger afterwards.

    Runs go one at a time so two triggers never race on the same nodes. Returns the causes
    of the runs it asked for. A failing run is logged and the watch goes on."""
    project_dir = Path(project_dir or Path.cwd())
    fired: list[dict[str, Any]] = []
    armed: dict[str, _Armed] = {}
    saved = LiveState(project_dir)
    for spec in project.triggers:
        problems = validate_trigger(spec, project.nodes)
        if problems:
            log.warning("trigger skipped: %s", "; ".join(map(str, problems)))
            continue
        item = _arm(spec, project, project_dir, poll_interval)
        if item is None:
            armed[str(spec["id"])] = _Armed(spec, list(spec.get("nodes", []) or []), 0.0)
            continue
        restored = saved.restore(spec)
        if item.watcher is not None:
            if restored is not None and isinstance(restored.get("seen"), dict):
                # What arrived while no watch ran fires on the first poll; the rest is done.
                item.state = {str(k): str(v) for k, v in restored["seen"].items()}
            else:
                item.state = await asyncio.to_thread(item.watcher.snapshot)
                saved.update(spec, seen=item.state)
        wait = item.interval
        if restored is not None and isinstance(restored.get("next_fire_at"), (int, float)):
            wait = min(item.interval, max(0.0, restored["next_fire_at"] - time.time()))
        item.next_due = clock() + wait
        saved.update(spec, next_fire_at=time.time() + wait)
        armed[item.id] = item
    saved.save()
    # Stored MQTT batches wake the loop at once (the trigger latency is not the poll's).
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stored() -> None:  # called from the ingest threads
        loop.call_soon_threadsafe(wake.set)

    def touched(tid: str) -> None:  # called from the folder observer's thread
        def mark() -> None:
            if tid in armed:
                armed[tid].touched = True
                wake.set()

        try:
            loop.call_soon_threadsafe(mark)
        except RuntimeError:  # the loop has closed: nothing to wake
            pass

    events = FolderEvents(touched)
    mqtt = MqttSources(project, project_dir, stored)
    try:
        for item in armed.values():
            if isinstance(item.watcher, FolderWatcher):
                w = item.watcher
                await asyncio.to_thread(events.watch, item.id, w.path, w.pattern, w.recursive)
        await mqtt.start()
        return await _watch_loop(
            project,
            project_dir,
            engine_run,
            stop,
            armed,
            saved,
            mqtt,
            wake,
            fired,
            poll_interval=poll_interval,
            manual=manual,
            on_fire=on_fire,
            clock=clock,
            initial=initial,
        )
    finally:
        await mqtt.stop()
        await asyncio.to_thread(events.stop)


async def _watch_loop(
    project: Any,
    project_dir: Path,
    engine_run: EngineRun,
    stop: asyncio.Event,
    armed: dict[str, _Armed],
    saved: LiveState,
    mqtt: MqttSources,
    wake: asyncio.Event,
    fired: list[dict[str, Any]],
    *,
    poll_interval: float,
    manual: asyncio.Queue[str] | None,
    on_fire: Callable[[dict[str, Any]], None] | None,
    clock: Callable[[], float],
    initial: Callable[[], Awaitable[Any]] | None,
) -> list[dict[str, Any]]:
    if initial is not None:
        await initial()

    async def start(item: _Armed, detail: Any, kind: str | None = None) -> Any:
        nodes = sorted(project.reachable(item.roots)) if item.roots else None
        cause = {"kind": kind or item.kind, "id": item.id, "detail": detail}
        fired.append(cause)
        if on_fire is not None:
            on_fire(cause)
        log.info("trigger %s (%s) fired: running %s", item.id, cause["kind"], nodes or "all")
        try:
            return await engine_run(project, only=nodes, trigger=cause)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed run must not end a twin's life
            log.error("run for trigger %s failed: %s", item.id, exc)
            return None

    while not stop.is_set():
        now = clock()
        wake.clear()
        if len(mqtt.ingests) < len(mqtt.sources):
            await mqtt.start()  # a broker that was away at the start
        for source in mqtt.sources:
            new = mqtt.take(source)
            for item in armed.values():
                if item.mqtt is not None and item.mqtt.source == source:
                    item.mqtt.pending += new
        for item in list(armed.values()):
            if stop.is_set():
                break
            if item.mqtt is not None:
                if item.mqtt.due(time.monotonic()):
                    await start(item, item.mqtt.fired(time.monotonic()))
                continue
            if item.kind == "manual" or (now < item.next_due and not item.touched):
                continue
            item.touched = False
            item.next_due = now + item.interval
            saved.update(item.spec, next_fire_at=time.time() + item.interval)
            if item.watcher is not None:
                try:
                    snap = await asyncio.to_thread(item.watcher.snapshot)
                except Exception as exc:  # the folder or bucket may be away for a while
                    log.warning("trigger %s cannot poll: %s", item.id, exc)
                    continue
                changes = diff(item.state, snap)
                item.state = snap
                if changes:
                    await start(item, changes.to_dict())
                # Saved after the run: a process killed mid-run sees these files again.
                saved.update(item.spec, seen=snap)
            elif item.kind == "schedule":
                await start(item, {"interval": item.interval})
            elif item.kind == "drift":
                await _check_drift(item, project, engine_run, start)
            saved.save()
        while manual is not None and not manual.empty():
            tid = manual.get_nowait()
            item = armed.get(tid) or _Armed({"id": tid, "kind": "manual"}, [], 0.0)
            await start(item, {"requested": True}, kind="manual")
        for path, request in await asyncio.to_thread(pending_fires, project_dir):
            if stop.is_set():
                break
            tid = request["trigger"]
            item = armed.get(tid) or _Armed({"id": tid, "kind": "manual"}, [], 0.0)
            detail = {"requested": True, "via": "file", "reason": request.get("reason")}
            await start(item, detail, kind="manual")
            path.unlink(missing_ok=True)  # only now: a run killed midway is asked again
        if stop.is_set() or wake.is_set():
            continue
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
    return fired


async def _check_drift(
    item: _Armed,
    project: Any,
    engine_run: EngineRun,
    start: Callable[..., Awaitable[Any]],
) -> None:
    config = item.spec["config"]
    check = config["check_node"]
    cause = {"kind": "drift", "id": item.id, "detail": {"phase": "check"}}
    try:
        result = await engine_run(project, only=[check], trigger=cause)
        report = _ref_value(result, check, config.get("port", "report"))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("drift trigger %s could not evaluate %s: %s", item.id, check, exc)
        return
    if isinstance(report, dict) and report.get("drifted"):
        await start(item, report)


def env_poll_interval(default: float = 1.0) -> float:
    try:
        return float(os.environ.get("TWINFLOW_WATCH_POLL_S", default))
    except ValueError:
        return default
