"""Edits that compose graphs: a selection made into a subgraph, a subgraph dissolved.

Both return what to remove and what to add, so that the studio applies them as one undoable
step and the document never holds a half-made state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow_studio.project import twinfile
from twinflow_studio.project.identifiers import is_identifier
from twinflow_studio.project.model import Edge, Node, Port, Project
from twinflow_studio.project.subgraphs import _Flattener


@dataclass
class Rewrite:
    remove_nodes: list[str]
    add_nodes: list[Node]
    add_edges: list[Edge] = field(default_factory=list)


def _free(base: str, taken: set[str]) -> str:
    base = base if is_identifier(base) else "port"
    name, n = base[:60], 1
    while name in taken:
        n += 1
        name = f"{base[:56]}_{n}"
    taken.add(name)
    return name


def _port_type(node: Node, port: str, side: str) -> str:
    ports = node.input_ports() if side == "in" else node.output_ports()
    return next((p.type for p in ports if p.name == port), "any")


def make_subgraph(project: Project, node_ids: list[str], new_id: str) -> Rewrite:
    """The selected nodes as one embedded subgraph ``new_id``: edges crossing the selection
    become its ports (an input per inner port fed from outside, an output per inner output
    read from outside)."""
    chosen = [n for n in node_ids if n in project.nodes]
    if not chosen:
        raise ValueError("select the nodes to make into a subgraph")
    inside = set(chosen)
    body = Project(new_id)
    for n in chosen:
        body.nodes[n] = copy.deepcopy(project.nodes[n])
    body.edges = [copy.copy(e) for e in project.edges if e.source in inside and e.target in inside]
    interface: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
    node = Node(new_id, "subgraph", name=new_id)
    edges: list[Edge] = []
    in_names: dict[tuple[str, str], str] = {}
    out_names: dict[tuple[str, str], str] = {}
    taken_in: set[str] = set()
    taken_out: set[str] = set()
    for e in project.edges:
        if e.target in inside and e.source not in inside:
            key = (e.target, e.target_port)
            if key not in in_names:
                name = in_names[key] = _free(f"{e.target}_{e.target_port}", taken_in)
                kind = _port_type(project.nodes[e.target], e.target_port, "in")
                interface["inputs"].append(
                    {"name": name, "type": kind, "node": e.target, "port": e.target_port}
                )
                node.inputs.append(Port(name, kind))
            edges.append(Edge(e.source, e.source_port, new_id, in_names[key]))
        elif e.source in inside and e.target not in inside:
            key = (e.source, e.source_port)
            if key not in out_names:
                name = out_names[key] = _free(f"{e.source}_{e.source_port}", taken_out)
                kind = _port_type(project.nodes[e.source], e.source_port, "out")
                interface["outputs"].append(
                    {"name": name, "type": kind, "node": e.source, "port": e.source_port}
                )
                node.outputs.append(Port(name, kind, required=False))
            edges.append(Edge(new_id, out_names[key], e.target, e.target_port))
    doc = twinfile.to_document(body)
    doc["interface"] = interface
    doc.pop("layout", None)
    node.params = {"body": doc}
    return Rewrite(chosen, [node], edges)


def inline(project: Project, node_id: str, project_dir: Path) -> Rewrite:
    """Subgraph ``node_id`` dissolved: its body's nodes (as ``node_id--inner``) and edges in
    its place, wired as it was (a ``ValidationError`` when its body cannot be read)."""
    from twinflow_studio.project.errors import ValidationError

    node = project.nodes[node_id]
    if node.kind != "subgraph":
        raise ValueError(f"node {node_id!r} is not a subgraph")
    touching = [e for e in project.edges if node_id in (e.source, e.target)]
    # Flatten a project of just this node and its neighbours (stand-ins: their ids only).
    probe = Project(project.name)
    probe.nodes[node_id] = node
    for e in touching:
        for other in (e.source, e.target):
            if other != node_id:
                probe.nodes.setdefault(other, Node(other, "python"))
    probe.edges = list(touching)
    flattener = _Flattener(project_dir)
    flat = flattener.flatten(probe, "", ())[0]
    if flattener.problems:
        raise ValidationError(flattener.problems)
    new_nodes = [n for nid, n in flat.nodes.items() if nid not in probe.nodes]
    for n in new_nodes:
        n.subgraph_path = ""
    taken = [n.id for n in new_nodes if n.id in project.nodes and n.id != node_id]
    if taken:
        raise ValueError(f"inlining would reuse the id(s) {', '.join(taken)}")
    return Rewrite([node_id], [copy.deepcopy(n) for n in new_nodes], list(flat.edges))
