"""Muted (bypassed) nodes: a run skips them and everything downstream of them.

They end ``skipped_branch`` as a branch not taken does: not run, not failed, the run still
succeeds; the reason ("muted", "upstream node 'x' is muted") is the node's message and its
recorded error, so the CLI's output and run.json say why it did not run.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from twinflow_studio.engine.events import NodeState
from twinflow_studio.project.model import Project

MUTED = "muted"


def muted_closure(project: Project, node_ids: set[str]) -> dict[str, str]:
    """Node id -> why it is skipped, for the muted nodes among ``node_ids`` and what depends
    on them there (one walk from all muted nodes: O(nodes + edges))."""
    muted = sorted(n for n in node_ids if project.nodes[n].muted)
    if not muted:
        return {}
    children: dict[str, list[str]] = {}
    for e in project.edges:
        if e.source in node_ids and e.target in node_ids:
            children.setdefault(e.source, []).append(e.target)
    reasons = {n: MUTED for n in muted}
    queue = deque((n, n) for n in muted)
    while queue:
        node_id, root = queue.popleft()
        for child in children.get(node_id, ()):
            if child not in reasons:
                reasons[child] = f"upstream node {root!r} is muted"
                queue.append((child, root))
    return reasons


def skip_muted(run: Any) -> None:
    """Finish a run's muted nodes and their downstream before any node is queued (called
    once the targets are placed, before the graph is walked: with no children built yet,
    finishing them readies nothing, and the scheduler never queues a finished node)."""
    for node_id, reason in muted_closure(run.project, run.node_ids).items():
        run.outcomes[node_id].error = reason
        run._finish(node_id, NodeState.SKIPPED_BRANCH, reason)
