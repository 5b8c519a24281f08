"""The clipboard format: copied nodes, the edges among them, their positions and hardware
profiles as JSON text, and the reading of it back with fresh node ids (works across
projects). Clipboard text is untrusted: it is parsed by the `.twin` reader, like a file."""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from twinflow_studio.project.errors import TwinFileError
from twinflow_studio.project.identifiers import unique_id
from twinflow_studio.project.model import Edge, HardwareProfile, Node, Project
from twinflow_studio.project.twinfile import loads

MIME = "application/x-twinflow-nodes+json"
FORMAT = "twinflow-studio-clipboard"
SOURCE = "<clipboard>"


class ClipboardError(TwinFileError):
    """Clipboard text that holds no TwinFlow nodes, or nodes that do not read back."""

    def __init__(self, message: str) -> None:
        super().__init__(SOURCE, message)


class Pasted(NamedTuple):
    """What a paste adds: nodes with fresh ids, their edges and positions, and the hardware
    profiles the target project lacks."""

    nodes: list[Node]
    edges: list[Edge]
    positions: dict[str, tuple[float, float]]
    profiles: dict[str, HardwareProfile]


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


def parse_clipboard(text: str) -> dict[str, Any]:
    """The clipboard document in ``text``; :class:`ClipboardError` when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClipboardError("holds no TwinFlow nodes")
    return data


def nodes_for_paste(
    target: Project, data: dict[str, Any], offset: tuple[float, float] = (40.0, 40.0)
) -> Pasted:
    """The nodes of ``data`` with ids that do not clash with ``target``'s, their edges and
    positions (moved by ``offset``), and the profiles ``target`` lacks. Node data is read by
    the .twin reader, so a clipboard from anywhere is checked like a file
    (:class:`ClipboardError` names what is wrong)."""
    doc = {
        "format": "twinflow-studio",
        "schema_version": 2,
        "project": {"name": "clipboard"},
        "nodes": data.get("nodes", []),
        "edges": [],
        "profiles": data.get("profiles", {}) or {},
    }
    try:
        parsed = loads(json.dumps(doc), file=SOURCE)
    except TwinFileError as exc:
        raise ClipboardError(exc.detail) from exc
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
    # The clipboard may hold anything: only well-formed edges and positions are taken.
    raw_edges = data.get("edges")
    edges = [
        Edge(rename[e["source"]], e["source_port"], rename[e["target"]], e["target_port"])
        for e in (raw_edges if isinstance(raw_edges, list) else [])
        if isinstance(e, dict)
        and all(isinstance(e.get(k), str) for k in ("source", "target"))
        and e["source"] in rename
        and e["target"] in rename
        and isinstance(e.get("source_port"), str)
        and isinstance(e.get("target_port"), str)
    ]
    raw_positions = data.get("positions")
    positions = {}
    for old, new in rename.items():
        p = raw_positions.get(old) if isinstance(raw_positions, dict) else None
        p = p if isinstance(p, dict) else {}
        positions[new] = (_coord(p.get("x")) + offset[0], _coord(p.get("y")) + offset[1])
    missing = {name: prof for name, prof in parsed.profiles.items() if name not in target.profiles}
    return Pasted(nodes, edges, positions, missing)


def _coord(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and abs(number) <= 1e9:
            return number
    return 0.0
