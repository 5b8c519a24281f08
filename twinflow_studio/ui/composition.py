"""Studio edits that compose graphs, each one undoable step on the document's undo stack:
make a subgraph of the selection, inline a subgraph, add a part from the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twinflow_studio.project.compose import Rewrite, inline, make_subgraph
from twinflow_studio.project.errors import ValidationError
from twinflow_studio.project.parts import PartInfo, list_parts, part_node, update_available
from twinflow_studio.ui.body_document import BodyDocument
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.subgraph_editor import SubgraphEditor


def _free_id(doc: Document, base: str) -> str:
    name, n = base, 1
    while name in doc.project.nodes:
        n += 1
        name = f"{base}{n}"
    return name


def _project_dir(doc: Document) -> Path:
    return doc.path.parent if doc.path is not None else Path.cwd()


def _apply(doc: Document, rewrite: Rewrite, text: str, origin: tuple[float, float]) -> bool:
    if doc.structure_refusal():
        return False
    positions = {}
    for i, node in enumerate(rewrite.add_nodes):
        positions[node.id] = (origin[0] + 220.0 * (i % 4), origin[1] + 120.0 * (i // 4))
    doc.undo.beginMacro(text)
    try:
        doc.remove_nodes(rewrite.remove_nodes)
        doc.add_nodes(rewrite.add_nodes, rewrite.add_edges, positions, text=text)
    finally:
        doc.undo.endMacro()
    return True


def make_subgraph_of(doc: Document, node_ids: list[str]) -> str | None:
    """The selection as one embedded subgraph; its id (None when refused)."""
    new_id = _free_id(doc, "subgraph")
    rewrite = make_subgraph(doc.project, node_ids, new_id)
    xs = [doc.position(n)[0] for n in rewrite.remove_nodes]
    ys = [doc.position(n)[1] for n in rewrite.remove_nodes]
    origin = (sum(xs) / len(xs), sum(ys) / len(ys))
    return new_id if _apply(doc, rewrite, "Make subgraph", origin) else None


def inline_subgraph(doc: Document, node_id: str) -> list[str]:
    """Dissolve subgraph ``node_id`` into its nodes; their ids."""
    rewrite = inline(doc.project, node_id, _project_dir(doc))
    if not _apply(doc, rewrite, "Inline subgraph", doc.position(node_id)):
        return []
    return [n.id for n in rewrite.add_nodes]


def add_part(doc: Document, part: PartInfo, at: tuple[float, float] = (0.0, 0.0)) -> str | None:
    """A subgraph node referencing ``part`` (pinned to its current content)."""
    if part.problem is not None:
        doc.refused.emit(f"part {part.name}: {part.problem}")
        return None
    node = part_node(
        _free_id(doc, part.path.stem.replace(".", "_") or "part"), part, _project_dir(doc)
    )
    return node.id if doc.add_nodes([node], [], {node.id: at}, text="Add part") else None


def updates_available(doc: Document) -> dict[str, str]:
    """Subgraph node id -> the new pin of its part, for the nodes whose part changed."""
    found = {}
    for node in doc.project.nodes.values():
        pin = update_available(node, _project_dir(doc)) if node.kind == "subgraph" else None
        if pin is not None:
            found[node.id] = pin
    return found


def update_pin(doc: Document, node_id: str) -> None:
    """Pin the node to its part's current content (one undoable step)."""
    pin = update_available(doc.project.nodes[node_id], _project_dir(doc))
    if pin is not None:
        doc.change_node(
            node_id, "params", lambda n: n.params.__setitem__("pin", pin), "Update part pin"
        )


class CompositionActions:
    """The studio's composition commands (Edit menu), the parts library in the palette, the
    "update available" markers kept up to date as the document changes, and the subgraph
    bodies open on the canvas (``bodies``); each command acts on the graph shown."""

    def __init__(self, window: Any, menu: Any) -> None:
        self.window = window
        doc: Document = window.doc
        self.bodies = SubgraphEditor(window, window.canvas_area)
        for text, slot, key in (
            ("Make subgraph", self.make_subgraph, "Ctrl+Shift+M"),
            ("Inline subgraph", self.inline, None),
            ("Open subgraph body", self.open_body, None),
            ("Leave subgraph body", self.bodies.leave, "Alt+Up"),
            ("Make local copy of part", self.bodies.make_local_copy, None),
            ("Update part pin", self.update_pin, None),
            ("Refresh parts library", self.refresh, None),
        ):
            window._action(menu, text, slot, key)
        for signal in (doc.reset, doc.pathChanged, doc.nodesAdded, doc.nodeChanged):
            signal.connect(lambda *_: self.refresh())
        window.canvas.nodeActivated.connect(self._activated)
        self.refresh()

    def refresh(self) -> None:
        doc = self.window.doc
        self.window.palette_panel.set_parts(list_parts(_project_dir(doc)))
        markers = {n: "update available" for n in updates_available(doc)}
        self.window.canvas.set_markers(markers)
        if self.bodies.levels:
            inner = updates_available(self.bodies.doc)
            self.bodies.canvas.set_markers({n: "update available" for n in inner})

    def add(self, key: str, at: tuple[float, float]) -> str | None:
        part = self.window.palette_panel.part(key)
        if part is None:
            self.window.show_message(f"No such part {key.removeprefix('part:')!r}")
            return None
        node_id = add_part(self.bodies.doc, part, at)
        if node_id is not None:
            self.bodies.canvas.select([node_id])
        return node_id

    def make_subgraph(self) -> str | None:
        ids = self.bodies.canvas.selected_ids()
        if not ids:
            self.window.show_message("Select the nodes to make into a subgraph")
            return None
        node_id = make_subgraph_of(self.bodies.doc, ids)
        if node_id is not None:
            self.bodies.canvas.select([node_id])
        return node_id

    def _one_subgraph(self) -> str | None:
        ids = [
            n
            for n in self.bodies.canvas.selected_ids()
            if self.bodies.doc.project.nodes[n].kind == "subgraph"
        ]
        if len(ids) != 1:
            self.window.show_message("Select one subgraph node")
            return None
        return ids[0]

    def inline(self) -> list[str]:
        node_id = self._one_subgraph()
        if node_id is None:
            return []
        try:
            ids = inline_subgraph(self.bodies.doc, node_id)
        except (ValueError, ValidationError) as exc:
            self.window.show_message(f"Cannot inline {node_id}: {exc}")
            return []
        self.bodies.canvas.select(ids)
        return ids

    def update_pin(self) -> None:
        node_id = self._one_subgraph()
        if node_id is not None:
            update_pin(self.bodies.doc, node_id)
            self.refresh()

    def _activated(self, node_id: str) -> None:
        node = self.window.doc.project.nodes.get(node_id)
        if node is not None and node.kind == "subgraph":
            self.open_body(node_id)

    def open_body(self, node_id: str | None = None) -> BodyDocument | None:
        """Switch the canvas into the body of a subgraph of the graph shown (the selected
        one when not named), to edit it."""
        node_id = node_id or self._one_subgraph()
        if node_id is None:
            return None
        return self.bodies.open(node_id)
