"""Auto-layout: where each node goes, as numbers (the canvas only draws them).

Layered left to right: a node's column is its longest path from a source, its row its place
among the nodes of that column in topological order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from twinflow_studio.project.model import Project
from twinflow_studio.project.validate import topological_order

COLUMN_W = 300.0
ROW_H = 130.0

Position = tuple[float, float]


def layered_positions(
    project: Project, node_ids: Iterable[str] | None = None
) -> dict[str, Position]:
    """Positions for ``node_ids`` (all nodes by default), origin at the top-left."""
    chosen = set(project.nodes) if node_ids is None else set(node_ids)
    order = [n for n in topological_order(project) if n in chosen]
    order += sorted(chosen - set(order))  # nodes in a cycle still get a place
    rank: dict[str, int] = {n: 0 for n in order}
    parents: dict[str, list[str]] = defaultdict(list)
    for e in project.edges:
        if e.source in chosen and e.target in chosen:
            parents[e.target].append(e.source)
    for n in order:
        if parents[n]:
            rank[n] = max(rank.get(p, 0) + 1 for p in parents[n])
    rows: dict[int, int] = defaultdict(int)
    out: dict[str, Position] = {}
    for n in order:
        r = rank[n]
        out[n] = (r * COLUMN_W, rows[r] * ROW_H)
        rows[r] += 1
    return out


def auto_layout(project: Project, node_ids: Iterable[str] | None = None) -> dict[str, Position]:
    """New positions for the whole graph, or for ``node_ids`` laid out where they already
    are (their block keeps its top-left corner)."""
    chosen = None if node_ids is None else set(node_ids)
    positions = layered_positions(project, chosen)
    if not chosen:
        return positions
    placed = [position(project, n) for n in chosen]
    ox = min(x for x, _ in placed)
    oy = min(y for _, y in placed)
    return {n: (x + ox, y + oy) for n, (x, y) in positions.items()}


def position(project: Project, node_id: str) -> Position:
    """Where ``node_id`` is drawn (the origin when the layout does not say)."""
    p = project.layout.get("nodes", {}).get(node_id) or {}
    return float(p.get("x", 0.0)), float(p.get("y", 0.0))
