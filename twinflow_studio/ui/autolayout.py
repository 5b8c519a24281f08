"""Layered left-to-right layout: a node's column is its longest path from a source."""

from __future__ import annotations

from collections import defaultdict

from twinflow_studio.project import Project, topological_order

COLUMN_W = 300.0
ROW_H = 130.0


def layered_positions(
    project: Project, node_ids: set[str] | None = None
) -> dict[str, tuple[float, float]]:
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
    out: dict[str, tuple[float, float]] = {}
    for n in order:
        r = rank[n]
        out[n] = (r * COLUMN_W, rows[r] * ROW_H)
        rows[r] += 1
    return out
