"""Editing a subgraph's body in place: reading the body at a path of subgraph nodes
(``("outer", "inner")``), writing an edited body back into the node that holds it, and
turning a referenced part into an embedded copy ("Make local copy").

The body of an embedded subgraph lives in its node's ``params.body``; the positions of its
nodes on the canvas do not (a move must not change what the project means, nor its version):
they are kept in the top project's layout under ``layout.bodies["outer/inner"]``.

A referenced part is edited only after "Make local copy": the part file may be shared by
other projects and is pinned by content, so the studio never writes it from here.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow_studio.project import twinfile
from twinflow_studio.project.errors import TwinFileError, TwinFlowError
from twinflow_studio.project.layout_check import layout_problem
from twinflow_studio.project.model import Node, Port, Project
from twinflow_studio.project.safejson import parse
from twinflow_studio.project.subgraphs import body_from_text, read_part, resolve_ref

LAYOUT_KEY = "bodies"


class BodyPathError(TwinFlowError, ValueError):
    """The path no longer leads to a subgraph body (a node on it was deleted or renamed)."""


@dataclass
class BodyAt:
    """The body found at a path: its document (``params.body`` or the part's), its graph,
    and why it may not be edited (a referenced part on the path), if so."""

    document: dict[str, Any]
    project: Project
    readonly: str | None = None
    part_index: int | None = None  # where on the path the first referenced part is


def path_key(path: tuple[str, ...]) -> str:
    return "/".join(path)


def _embedded(node: Node, where: str) -> dict[str, Any]:
    body = node.params.get("body")
    if not isinstance(body, dict):
        raise BodyPathError(f"{where} has no embedded body")
    return body


def _part_document(node: Node, project_dir: Path, where: str) -> dict[str, Any]:
    try:
        path = resolve_ref(project_dir, node.params.get("ref"))
        data, _ = read_part(path)
        doc = parse(data.decode("utf-8"), str(path))
    except (ValueError, TwinFileError) as exc:
        raise BodyPathError(f"{where}: its part cannot be read ({exc})") from None
    if not isinstance(doc, dict):
        raise BodyPathError(f"{where}: its part is not a project document")
    return doc


def body_at(root: Project, path: tuple[str, ...], project_dir: Path) -> BodyAt:
    """The body at ``path`` as the root project holds it now (``BodyPathError`` when the
    path is broken or the body unreadable)."""
    project, doc = root, None
    readonly, part_index = None, None
    for i, node_id in enumerate(path):
        node = project.nodes.get(node_id)
        where = " › ".join(path[: i + 1])
        if node is None or node.kind != "subgraph":
            raise BodyPathError(f"{where} is no longer a subgraph")
        if node.params.get("ref") is not None:
            doc = _part_document(node, project_dir, where)
            if readonly is None:
                part_index = i
                readonly = (
                    f"{node_id} uses the part {node.params.get('ref')}: "
                    "make a local copy to edit it"
                )
        else:
            doc = _embedded(node, where)
        try:
            project = body_from_text(json.dumps(doc), where).project
        except TwinFileError as exc:
            raise BodyPathError(f"{where}: its body cannot be read ({exc.detail})") from None
    if doc is None:
        raise BodyPathError("the path is empty")
    return BodyAt(copy.deepcopy(doc), project, readonly, part_index)


def interface_of(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    raw = document.get("interface")
    raw = raw if isinstance(raw, dict) else {}
    return {side: list(raw.get(side) or []) for side in ("inputs", "outputs")}


def body_document(project: Project, interface: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """``project`` as a body document: its semantics and its interface, less the entries
    naming nodes it no longer has (their ports go from the subgraph node, with their edges)."""
    doc = copy.deepcopy(twinfile.to_document(project))
    doc.pop("layout", None)
    doc["interface"] = {
        side: [dict(p) for p in entries if p.get("node") in project.nodes]
        for side, entries in interface.items()
    }
    return doc


def with_body(node: Node, document: dict[str, Any]) -> Node:
    """A copy of subgraph ``node`` embedding ``document``, its ports as the interface says."""
    out = copy.deepcopy(node)
    params = {k: v for k, v in out.params.items() if k not in ("ref", "pin", "body")}
    params["body"] = copy.deepcopy(document)
    out.params = params
    interface = interface_of(document)
    inputs: dict[str, Port] = {}
    for p in interface["inputs"]:
        inputs.setdefault(str(p["name"]), Port(str(p["name"]), str(p.get("type", "any"))))
    out.inputs = list(inputs.values())
    out.outputs = [
        Port(str(p["name"]), str(p.get("type", "any")), required=False)
        for p in interface["outputs"]
    ]
    return out


def edited_top_node(
    root: Project, path: tuple[str, ...], document: dict[str, Any], project_dir: Path
) -> Node:
    """The top-level node ``path[0]`` with the body at ``path`` replaced by ``document``
    (each body between them re-embedding the one below)."""
    for depth in range(len(path) - 1, 0, -1):
        parent = body_at(root, path[:depth], project_dir)
        parent.project.nodes[path[depth]] = with_body(parent.project.nodes[path[depth]], document)
        document = body_document(parent.project, interface_of(parent.document))
    return with_body(root.nodes[path[0]], document)


def local_copy(node: Node, project_dir: Path) -> Node:
    """Subgraph ``node`` referencing a part, as an embedded copy of that part (its
    overrides kept); ``BodyPathError`` when the part cannot be read."""
    doc = _part_document(node, project_dir, node.id)
    doc.pop("layout", None)
    return with_body(node, doc)


def body_layout(root: Project, path: tuple[str, ...]) -> dict[str, Any] | None:
    """The layout kept for the body at ``path`` (None when there is none, or it is malformed:
    an opened file must not be able to break the canvas)."""
    bodies = root.layout.get(LAYOUT_KEY)
    entry = bodies.get(path_key(path)) if isinstance(bodies, dict) else None
    if not isinstance(entry, dict) or layout_problem(entry) is not None:
        return None
    return copy.deepcopy(entry)


def set_body_layout(root: Project, path: tuple[str, ...], layout: dict[str, Any] | None) -> None:
    bodies = root.layout.get(LAYOUT_KEY)
    if not isinstance(bodies, dict):
        bodies = root.layout[LAYOUT_KEY] = {}
    if layout is None:
        bodies.pop(path_key(path), None)
    else:
        bodies[path_key(path)] = copy.deepcopy(layout)
