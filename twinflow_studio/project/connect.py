"""Whether an edge may join two ports, and if not, a reason a person can act on.

The model's connection rules (as orange-canvas-core's ``Scheme.check_connect``): both
ports exist, their types are compatible, the edge makes no cycle, and an input is fed by
one edge (a new one replaces the old). The canvas, paste and tests share this one rule set.
"""

from __future__ import annotations

from collections import defaultdict

from twinflow_studio.project.errors import TwinFlowError
from twinflow_studio.project.kinds import port_types_compatible
from twinflow_studio.project.model import Edge, Project


class ConnectionRefused(TwinFlowError, ValueError):
    """An edge the rules refuse: ``code`` says which rule, the message says why."""

    def __init__(self, message: str, code: str, edge: Edge) -> None:
        super().__init__(message)
        self.code = code  # no_node, self_loop, no_port, type_mismatch, cycle
        self.edge = edge


def check_connect(project: Project, edge: Edge) -> None:
    """Raise :class:`ConnectionRefused` when ``edge`` cannot be added to ``project`` as it is
    (what already feeds the input counts; see :func:`check_replacing_connect`)."""
    src = project.nodes.get(edge.source)
    dst = project.nodes.get(edge.target)
    if src is None or dst is None:
        missing = edge.source if src is None else edge.target
        raise ConnectionRefused(f"no node {missing!r}", "no_node", edge)
    if src.id == dst.id:
        raise ConnectionRefused(f"{src.label} cannot feed itself", "self_loop", edge)
    out_port = next((p for p in src.output_ports() if p.name == edge.source_port), None)
    in_port = next((p for p in dst.input_ports() if p.name == edge.target_port), None)
    if out_port is None:
        raise ConnectionRefused(f"{src.label} has no output {edge.source_port!r}", "no_port", edge)
    if in_port is None:
        raise ConnectionRefused(f"{dst.label} has no input {edge.target_port!r}", "no_port", edge)
    if not port_types_compatible(out_port.type, in_port.type):
        raise ConnectionRefused(
            f"type mismatch: {src.label}.{out_port.name} gives {out_port.type}, "
            f"{dst.label}.{in_port.name} takes {in_port.type}",
            "type_mismatch",
            edge,
        )
    path = _path(project, dst.id, src.id)
    if path is not None:
        names = " → ".join(project.nodes[n].label for n in path)
        raise ConnectionRefused(f"would make a cycle: {names} → {dst.label}", "cycle", edge)


def check_replacing_connect(project: Project, edge: Edge) -> list[Edge]:
    """Check ``edge`` as a connection that replaces what feeds its input (one edge per
    input); the edges it would replace (``[edge]`` itself when it is there already)."""
    replaced = edges_feeding(project, edge.target, edge.target_port)
    if edge in replaced:
        return replaced
    kept = [e for e in project.edges if e not in replaced]
    check_connect(Project(nodes=project.nodes, edges=kept), edge)
    return replaced


def connection_problem(project: Project, edge: Edge) -> str | None:
    """Why ``edge`` cannot be added to ``project`` (None when it can)."""
    try:
        check_connect(project, edge)
    except ConnectionRefused as exc:
        return str(exc)
    return None


def edges_feeding(project: Project, node_id: str, port: str) -> list[Edge]:
    """The edges into input ``port`` of ``node_id``."""
    return [e for e in project.edges if e.target == node_id and e.target_port == port]


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
