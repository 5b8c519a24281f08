"""Whether a connection may be made, and if not, a reason a person can act on.

Pure functions over the project model, so the canvas, paste and tests share one rule set.
"""

from __future__ import annotations

from collections import defaultdict

from twinflow_studio.project import Edge, Project
from twinflow_studio.project.kinds import port_types_compatible


def connection_problem(project: Project, edge: Edge) -> str | None:
    """Why ``edge`` cannot be added to ``project`` (None when it can)."""
    src = project.nodes.get(edge.source)
    dst = project.nodes.get(edge.target)
    if src is None or dst is None:
        return f"no node {edge.source if src is None else edge.target!r}"
    if src.id == dst.id:
        return f"{src.label} cannot feed itself"
    out_port = next((p for p in src.output_ports() if p.name == edge.source_port), None)
    in_port = next((p for p in dst.input_ports() if p.name == edge.target_port), None)
    if out_port is None:
        return f"{src.label} has no output {edge.source_port!r}"
    if in_port is None:
        return f"{dst.label} has no input {edge.target_port!r}"
    if not port_types_compatible(out_port.type, in_port.type):
        return (
            f"type mismatch: {src.label}.{out_port.name} gives {out_port.type}, "
            f"{dst.label}.{in_port.name} takes {in_port.type}"
        )
    path = _path(project, dst.id, src.id)
    if path is not None:
        names = " → ".join(project.nodes[n].label for n in path)
        return f"would make a cycle: {names} → {dst.label}"
    return None


def _path(project: Project, start: str, goal: str) -> list[str] | None:
    """A downstream path from ``start`` to ``goal`` over existing edges, if any."""
    children: dict[str, list[str]] = defaultdict(list)
    for e in project.edges:
        children[e.source].append(e.target)
    parent: dict[str, str | None] = {start: None}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            out: list[str] = []
            cur: str | None = node
            while cur is not None:
                out.append(cur)
                cur = parent[cur]
            return out[::-1]
        for child in children[node]:
            if child not in parent:
                parent[child] = node
                stack.append(child)
    return None


def edges_feeding(project: Project, node_id: str, port: str) -> list[Edge]:
    return [e for e in project.edges if e.target == node_id and e.target_port == port]
