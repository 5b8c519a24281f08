"""Copy/paste of nodes and the edges between them as JSON (works across projects)."""

from __future__ import annotations

import json
from typing import Any

from twinflow_studio.project import Edge, Node, Project, loads
from twinflow_studio.project.identifiers import is_identifier

MIME = "application/x-twinflow-nodes+json"
FORMAT = "twinflow-studio-clipboard"


def copy_nodes(project: Project, node_ids: list[str]) -> str:
    """The selected nodes, the edges among them, and their positions, as JSON text."""
    ids = set(node_ids)
    # A project holding only these nodes serialises them exactly as a .twin file would.
    nodes = Project(nodes={n: project.nodes[n] for n in ids if n in project.nodes}).semantic_dict()[
        "nodes"
    ]
    edges = [e.to_dict() for e in project.edges if e.source in ids and e.target in ids]
    pos = {n: project.layout.get("nodes", {}).get(n, {}) for n in ids}
    profiles = {project.nodes[n].profile for n in ids if n in project.nodes}
    return json.dumps(
        {
            "format": FORMAT,
            "nodes": nodes,
            "edges": edges,
            "positions": pos,
            # Profiles travel with the nodes so a paste into another project stays valid.
            "profiles": {
                name: vars(project.profiles[name]).copy()
                for name in sorted(profiles)
                if name in project.profiles
            },
        },
        sort_keys=True,
    )


def parse_clipboard(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def nodes_for_paste(
    target: Project, data: dict[str, Any], offset: tuple[float, float] = (40.0, 40.0)
) -> tuple[list[Node], list[Edge], dict[str, tuple[float, float]], dict[str, Any]]:
    """New nodes with fresh ids (no clash with ``target``), their edges and positions, and
    the hardware profiles the target lacks. Node data is parsed by the .twin reader, so a
    clipboard from anywhere is checked like a file."""
    doc = {
        "format": "twinflow-studio",
        "schema_version": 2,
        "project": {"name": "clipboard"},
        "nodes": data.get("nodes", []),
        "edges": [],
        "profiles": data.get("profiles", {}) or {},
    }
    parsed = loads(json.dumps(doc), file="<clipboard>")
    rename: dict[str, str] = {}
    taken = set(target.nodes)
    for old in sorted(parsed.nodes):
        new = unique_id(old, taken)
        taken.add(new)
        rename[old] = new
    nodes = []
    for old, new in rename.items():
        node = parsed.nodes[old]
        node.id = new
        nodes.append(node)
    edges = [
        Edge(rename[e["source"]], e["source_port"], rename[e["target"]], e["target_port"])
        for e in data.get("edges", [])
        if e.get("source") in rename and e.get("target") in rename
    ]
    positions = {}
    for old, new in rename.items():
        p = (data.get("positions") or {}).get(old) or {}
        positions[new] = (float(p.get("x", 0.0)) + offset[0], float(p.get("y", 0.0)) + offset[1])
    missing = {name: prof for name, prof in parsed.profiles.items() if name not in target.profiles}
    return nodes, edges, positions, missing


def unique_id(base: str, taken: set[str]) -> str:
    # Short enough that "_<n>" keeps it within the identifier grammar's 64 characters.
    base = base if is_identifier(base) else "node"
    stem = (base.rstrip("0123456789").rstrip("_") or "node")[:56]
    if base not in taken:
        return base
    i = 2
    while f"{stem}_{i}" in taken:
        i += 1
    return f"{stem}_{i}"
