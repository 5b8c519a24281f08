"""Map nodes over one or several list inputs: which ports, combined how."""

from __future__ import annotations

from twinflow_studio.project.errors import Problem
from twinflow_studio.project.model import Node

MAP_MODES = ("product", "zip")


def map_ports(node: Node) -> list[str]:
    """The mapped input ports of ``node`` ("a" or "a,b"), in order; empty when not mapped."""
    if not node.map_over:
        return []
    return [part.strip() for part in node.map_over.split(",")]


def map_problems(node: Node, base: str) -> list[Problem]:
    out = []
    names = {p.name for p in node.input_ports()}
    ports = map_ports(node)
    for port in ports:
        if port not in names:
            out.append(Problem(f"{base}.map_over", f"names no input port ({port!r})", node.id))
    if len(set(ports)) != len(ports):
        out.append(Problem(f"{base}.map_over", "names a port twice", node.id))
    if node.map_mode not in MAP_MODES:
        shown = " or ".join(MAP_MODES)
        out.append(Problem(f"{base}.map_mode", f"must be {shown}, not {node.map_mode!r}", node.id))
    return out
