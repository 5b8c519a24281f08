"""Which nodes changed since their last successful run, told ahead of a run by the cache key.

A node is *fresh* when the run cache holds an entry for the key it would have now: the same
kind, parameters, declared outputs, code identity and input bytes (``cache_key``), its inputs
being the outputs its fresh upstream nodes left in the cache. Anything else is *stale*: a
parameter was edited, the code or a data source's file changed, or an upstream node is stale.

Read-only and without services: the cache is opened read-only, code is hashed from the bytes
on disk (``code_identity``), a data file is hashed as the run hashes it. A node on a Docker
target would need the Docker engine for its image id, so its freshness is ``unknown`` (and so
is what depends on it). Blocking (file hashing): callers run it on a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.engine.cache_key import node_cache_key
from twinflow_studio.engine.code_identity import code_key, snapshot
from twinflow_studio.engine.events import ArtifactRef
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node, Project
from twinflow_studio.project.placement import resolve_target
from twinflow_studio.project.subgraphs import flatten

FRESH, STALE, NEW, UNKNOWN = "fresh", "stale", "new", "unknown"


@dataclass(frozen=True)
class Freshness:
    """A node's freshness: ``state`` is fresh, stale (changed since its last successful
    run), new (never run) or unknown; ``reason`` says why, for a tooltip."""

    state: str
    reason: str = ""


class _Cache:
    """The run cache, read-only (a missing or unreadable cache is an empty one)."""

    def __init__(self, root: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        path = root / "cache.sqlite" if root is not None else None
        if path is not None and path.is_file():
            try:
                self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
                self.ran = {r[0] for r in self._db.execute("SELECT node_id FROM latest")}
            except sqlite3.Error:
                self._db = None
        if self._db is None:
            self.ran = set()

    def outputs(self, key: str) -> list[ArtifactRef] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT outputs FROM cache WHERE key=?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else [ArtifactRef(**o) for o in json.loads(row[0])]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def code_identity(
    node: Node,
    params: dict[str, Any],
    project_dir: Path,
    target: str,
    memo: dict[tuple[Any, ...], str] | None = None,
) -> str:
    """The code identity the node's target would give it, or "" when only a service could
    tell (a Docker image id) or it changes on every run (volatile kinds, S3 data). ``memo``
    keeps module snapshots across nodes calling the same code, as a run's targets do."""
    kind = get_kind(node.kind)
    if target == "docker":
        return ""
    if target == "batch":
        from twinflow_studio.engine.targets.batch import image_identity

        return image_identity(node, params)
    if target == "inprocess" and node.kind == "datasource":
        from twinflow_studio.engine.targets.inprocess import _datasource_identity

        return (
            ""
            if str(params.get("path", "")).startswith("s3://")
            else _datasource_identity(params, project_dir)
        )
    if target == "inprocess" and kind is not None and "volatile" in kind.tags:
        return ""
    executor = kind.executor if kind else None
    key = code_key(executor, params)
    if memo is not None and key in memo:
        return memo[key]
    digest = snapshot(executor, params, project_dir).digest
    if memo is not None:
        memo[key] = digest
    return digest


def freshness(
    project: Project,
    project_dir: Path,
    store_root: Path | None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Freshness]:
    """Each node's freshness against the run cache under ``store_root`` (node ids of the
    project as drawn: a subgraph instance is as stale as the stalest node inside it)."""
    flat = flatten(project, project_dir)
    cache = _Cache(store_root)
    try:
        found = _walk(flat, project_dir, cache, cancelled)
    finally:
        cache.close()
    out: dict[str, Freshness] = {}
    rank = {FRESH: 0, UNKNOWN: 1, NEW: 2, STALE: 3}
    for node_id, fresh in found.items():
        shown = flat.nodes[node_id].subgraph_path.split("/")[0] or node_id
        if shown in out and rank[out[shown].state] >= rank[fresh.state]:
            continue
        out[shown] = fresh
    return out


def _walk(
    project: Project, project_dir: Path, cache: _Cache, cancelled: Callable[[], bool]
) -> dict[str, Freshness]:
    in_edges: dict[str, list[tuple[str, str, str]]] = {}
    for e in project.edges:
        in_edges.setdefault(e.target, []).append((e.target_port, e.source, e.source_port))
    outputs: dict[str, dict[str, ArtifactRef]] = {}
    result: dict[str, Freshness] = {}
    memo: dict[tuple[Any, ...], str] = {}
    for node_id in _topological(project):
        if cancelled():
            break
        node = project.nodes[node_id]
        result[node_id] = fresh = _one(
            node, project, project_dir, cache, in_edges, result, outputs, memo
        )
        if fresh.state != FRESH:
            outputs.pop(node_id, None)
    return result


def _one(
    node: Node,
    project: Project,
    project_dir: Path,
    cache: _Cache,
    in_edges: dict[str, list[tuple[str, str, str]]],
    result: dict[str, Freshness],
    outputs: dict[str, dict[str, ArtifactRef]],
    memo: dict[tuple[Any, ...], str],
) -> Freshness:
    if node.muted:
        return Freshness(UNKNOWN, "muted")
    hashes: dict[str, str] = {}
    unknown = ""
    for port, source, source_port in in_edges.get(node.id, ()):
        upstream = result.get(source)
        state = upstream.state if upstream is not None else UNKNOWN
        if state in (STALE, NEW):  # a changed input outweighs one that cannot be told
            if node.id not in cache.ran:
                return Freshness(NEW, "not run yet")
            why = "changed since its last run" if state == STALE else "not run yet"
            return Freshness(STALE, f"upstream node {source!r} {why}")
        if state == UNKNOWN:
            unknown = unknown or f"upstream node {source!r}: freshness unknown"
            continue
        ref = outputs.get(source, {}).get(source_port)
        if ref is not None:
            hashes[port] = ref.sha256
    if unknown:
        return Freshness(UNKNOWN, unknown)
    params = node.effective_params()
    try:
        target = resolve_target(project, node).kind
        code = code_identity(node, params, project_dir, target, memo)
    except Exception as exc:  # placement or code problems show as invalid, not here
        return Freshness(UNKNOWN, f"its code cannot be identified: {exc}")
    if not code:
        return Freshness(UNKNOWN, f"a {target} node: only a run can tell")
    refs = cache.outputs(node_cache_key(node, params, code, hashes))
    if refs is None:
        if node.id in cache.ran:
            return Freshness(
                STALE, "changed since its last successful run (configuration, code or inputs)"
            )
        return Freshness(NEW, "not run yet")
    outputs[node.id] = {ref.port: ref for ref in refs}
    return Freshness(FRESH, "unchanged since its last successful run")


def _topological(project: Project) -> list[str]:
    indegree = {n: 0 for n in project.nodes}
    children: dict[str, list[str]] = {}
    for e in project.edges:
        if e.source in indegree and e.target in indegree:
            indegree[e.target] += 1
            children.setdefault(e.source, []).append(e.target)
    ready = sorted(n for n, d in indegree.items() if d == 0)
    order: list[str] = []
    while ready:
        node_id = ready.pop()
        order.append(node_id)
        for child in children.get(node_id, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order
