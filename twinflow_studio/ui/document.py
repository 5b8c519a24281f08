"""The open document: the Project (source of truth), its file, and the undo stack.

Every edit is a QUndoCommand that changes the Project and then announces what changed; the
canvas and panels are views that follow those signals.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from twinflow_studio.project import Edge, HardwareProfile, Node, Project, TargetConfig, load, save
from twinflow_studio.project.connect import ConnectionRefused, check_replacing_connect
from twinflow_studio.project.layout import position
from twinflow_studio.project.plugin_check import record_plugins


class Document(QObject):
    reset = Signal()
    nodesAdded = Signal(list)  # node ids
    nodesRemoved = Signal(list)  # node ids
    edgesAdded = Signal(list)  # Edge objects
    edgesRemoved = Signal(list)
    nodeChanged = Signal(str)
    nodesMoved = Signal(dict)  # node id -> (x, y)
    resourcesChanged = Signal()
    backdropsChanged = Signal()
    triggersChanged = Signal()  # project.triggers replaced (ui/forms/triggers.py edits them)
    pathChanged = Signal()
    dirtyChanged = Signal(bool)
    refused = Signal(str)  # why a structural edit was not made (for the status bar)

    # Fields whose edit changes the graph's structure (ports take their edges with them).
    STRUCTURAL_FIELDS = ("id", "ports", "inputs", "outputs")

    def __init__(self, project: Project | None = None, path: Path | None = None) -> None:
        super().__init__()
        self.project = project or Project()
        self.path = path
        self.undo = QUndoStack(self)
        self._recovered = False
        # Answers why the graph's structure may not change now (a run is using it), or None.
        self.structure_lock: Callable[[], str | None] = lambda: None
        self.undo.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, _clean: bool) -> None:
        try:
            self.dirtyChanged.emit(self.dirty)
        except RuntimeError:  # the stack is gone: the application is shutting down
            pass

    # ----- file -----
    @property
    def dirty(self) -> bool:
        return self._recovered or not self.undo.isClean()

    @property
    def title(self) -> str:
        return self.path.name if self.path else f"{self.project.name} (unsaved)"

    def replace(self, project: Project, path: Path | None, recovered: bool = False) -> None:
        self.project = project
        self.path = path
        self.undo.clear()
        self._recovered = recovered
        self.reset.emit()
        self.pathChanged.emit()
        self.dirtyChanged.emit(self.dirty)

    def open(self, path: Path) -> None:
        self.replace(load(path), path)

    def save(self, path: Path | None = None) -> None:
        target = path or self.path
        if target is None:
            raise ValueError("the document has no file yet; choose one with Save As")
        # A machine without a plugin package can then say which one to install.
        record_plugins(self.project)
        save(self.project, target)
        self.path = target
        self._recovered = False
        self.undo.setClean()
        self.pathChanged.emit()
        self.dirtyChanged.emit(False)

    # ----- queries -----
    def position(self, node_id: str) -> tuple[float, float]:
        return position(self.project, node_id)

    def backdrops(self) -> list[dict[str, Any]]:
        return list(self.project.layout.get("backdrops", []))

    # ----- edits (each one undoable) -----
    def structure_refusal(self) -> str | None:
        """Why the structure may not change now (announced on ``refused``), or None."""
        reason = self.structure_lock()
        if reason:
            self.refused.emit(reason)
        return reason

    def undo_step(self) -> None:
        """Undo, unless that would change the structure while it is locked."""
        if not (_structural(self.undo.command(self.undo.index() - 1)) and self.structure_refusal()):
            self.undo.undo()

    def redo_step(self) -> None:
        if not (_structural(self.undo.command(self.undo.index())) and self.structure_refusal()):
            self.undo.redo()

    def add_nodes(
        self,
        nodes: list[Node],
        edges: list[Edge] | None = None,
        positions: dict[str, tuple[float, float]] | None = None,
        text: str = "Add node",
        profiles: dict[str, HardwareProfile] | None = None,
    ) -> bool:
        if self.structure_refusal():
            return False
        self.undo.push(
            _AddRemove(self, text, nodes, edges or [], positions or {}, True, profiles or {})
        )
        return True

    def remove_nodes(self, node_ids: list[str]) -> None:
        ids = [n for n in node_ids if n in self.project.nodes]
        if not ids or self.structure_refusal():
            return
        nodes = [copy.deepcopy(self.project.nodes[n]) for n in ids]
        edges = [e for e in self.project.edges if e.source in ids or e.target in ids]
        positions = {n: self.position(n) for n in ids}
        self.undo.push(
            _AddRemove(self, f"Delete {len(ids)} node(s)", nodes, edges, positions, False, {})
        )

    def refusal(self, edge: Edge) -> str | None:
        """Why ``edge`` cannot be connected (None when it can), replacing what fed that
        input."""
        locked = self.structure_lock()
        if locked:
            return locked
        try:
            check_replacing_connect(self.project, edge)
        except ConnectionRefused as exc:
            return str(exc)
        return None

    def connect(self, edge: Edge) -> str | None:
        """Add ``edge`` (replacing what fed that input); the reason when it is refused."""
        locked = self.structure_refusal()
        if locked:
            return locked
        try:
            replaced = check_replacing_connect(self.project, edge)
        except ConnectionRefused as exc:
            return str(exc)
        if edge not in replaced:
            self.undo.push(_Edges(self, "Connect", [edge], replaced))
        return None

    def disconnect(self, edges: list[Edge]) -> None:
        present = [e for e in edges if e in self.project.edges]
        if present and not self.structure_refusal():
            self.undo.push(_Edges(self, "Disconnect", [], present))

    def change_node(self, node_id: str, field: str, mutate: Any, text: str = "") -> None:
        """Apply ``mutate(node)`` as one undoable step; consecutive edits of the same field
        (typing) merge into one step."""
        before = copy.deepcopy(self.project.nodes[node_id])
        after = copy.deepcopy(before)
        mutate(after)
        if after == before:
            return
        if field.startswith(self.STRUCTURAL_FIELDS) and self.structure_refusal():
            self.nodeChanged.emit(node_id)  # the form shows the node as it still is
            return
        self.undo.push(_NodeEdit(self, text or f"Edit {field}", node_id, field, before, after))

    def move_nodes(
        self, new: dict[str, tuple[float, float]], old: dict[str, tuple[float, float]] | None = None
    ) -> None:
        old = old or {n: self.position(n) for n in new}
        if all(old.get(n) == p for n, p in new.items()):
            return
        self.undo.push(_Move(self, old, new))

    def set_resources(
        self,
        profiles: dict[str, HardwareProfile],
        targets: dict[str, TargetConfig],
        text: str = "Edit resources",
    ) -> None:
        before = (copy.deepcopy(self.project.profiles), copy.deepcopy(self.project.targets))
        after = (copy.deepcopy(profiles), copy.deepcopy(targets))
        if before != after:
            self.undo.push(_Resources(self, text, before, after))

    def set_backdrops(self, backdrops: list[dict[str, Any]], text: str = "Edit backdrops") -> None:
        before = copy.deepcopy(self.backdrops())
        if before != backdrops:
            self.undo.push(_Backdrops(self, text, before, copy.deepcopy(backdrops)))

    # ----- raw mutations used by the commands -----
    def _insert(
        self, nodes: list[Node], edges: list[Edge], positions: dict[str, tuple[float, float]]
    ) -> None:
        layout = self.project.layout.setdefault("nodes", {})
        for node in nodes:
            self.project.nodes[node.id] = copy.deepcopy(node)
            x, y = positions.get(node.id, (0.0, 0.0))
            layout[node.id] = {"x": x, "y": y}
        self.project.edges.extend(edges)
        if nodes:
            self.nodesAdded.emit([n.id for n in nodes])
        if edges:
            self.edgesAdded.emit(list(edges))

    def _delete(self, node_ids: list[str], edges: list[Edge]) -> None:
        gone = [e for e in self.project.edges if e in edges]
        self.project.edges = [e for e in self.project.edges if e not in edges]
        if gone:
            self.edgesRemoved.emit(gone)
        for n in node_ids:
            self.project.remove_node(n)
        if node_ids:
            self.nodesRemoved.emit(list(node_ids))

    def _set_positions(self, positions: dict[str, tuple[float, float]]) -> None:
        layout = self.project.layout.setdefault("nodes", {})
        for n, (x, y) in positions.items():
            layout.setdefault(n, {}).update({"x": x, "y": y})
        self.nodesMoved.emit(dict(positions))


def _structural(command: QUndoCommand | None) -> bool:
    """Whether undoing or redoing ``command`` (or a macro holding it) changes the graph's
    nodes, edges or ports."""
    if command is None:
        return False
    if isinstance(command, (_AddRemove, _Edges)):
        return True
    if isinstance(command, _NodeEdit) and command.field.startswith(Document.STRUCTURAL_FIELDS):
        return True
    return any(_structural(command.child(i)) for i in range(command.childCount()))


class _AddRemove(QUndoCommand):
    def __init__(
        self,
        doc: Document,
        text: str,
        nodes: list[Node],
        edges: list[Edge],
        positions: dict[str, tuple[float, float]],
        adding: bool,
        profiles: dict[str, HardwareProfile],
    ) -> None:
        super().__init__(text)
        self.doc, self.nodes, self.edges = doc, nodes, edges
        self.positions, self.adding, self.profiles = positions, adding, profiles

    def _add(self) -> None:
        for name, prof in self.profiles.items():
            self.doc.project.profiles[name] = copy.deepcopy(prof)
        if self.profiles:
            self.doc.resourcesChanged.emit()
        self.doc._insert(self.nodes, self.edges, self.positions)

    def _remove(self) -> None:
        self.doc._delete([n.id for n in self.nodes], self.edges)
        for name in self.profiles:
            self.doc.project.profiles.pop(name, None)
        if self.profiles:
            self.doc.resourcesChanged.emit()

    def redo(self) -> None:
        self._add() if self.adding else self._remove()

    def undo(self) -> None:
        self._remove() if self.adding else self._add()


class _Edges(QUndoCommand):
    def __init__(self, doc: Document, text: str, add: list[Edge], remove: list[Edge]) -> None:
        super().__init__(text)
        self.doc, self.add, self.remove = doc, add, remove

    def redo(self) -> None:
        self.doc._delete([], self.remove)
        self.doc._insert([], self.add, {})

    def undo(self) -> None:
        self.doc._delete([], self.add)
        self.doc._insert([], self.remove, {})


class _NodeEdit(QUndoCommand):
    def __init__(
        self, doc: Document, text: str, node_id: str, field: str, before: Node, after: Node
    ) -> None:
        super().__init__(text)
        self.doc, self.node_id, self.field = doc, node_id, field
        self.before, self.after = before, after

    def id(self) -> int:
        return 1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, _NodeEdit)
            or (other.node_id, other.field) != (self.node_id, self.field)
            or self.field.startswith("ports")
        ):
            return False
        self.after = other.after
        return True

    def _apply(self, node: Node) -> list[Edge]:
        current = self.doc.project.nodes[self.node_id]
        old_in = {p.name for p in current.input_ports()}
        old_out = {p.name for p in current.output_ports()}
        self.doc.project.nodes[self.node_id] = copy.deepcopy(node)
        # Ports that disappear take their edges with them, so the project stays consistent.
        new_in = {p.name for p in node.input_ports()}
        new_out = {p.name for p in node.output_ports()}
        stale = [
            e
            for e in self.doc.project.edges
            if (e.target == self.node_id and e.target_port in old_in - new_in)
            or (e.source == self.node_id and e.source_port in old_out - new_out)
        ]
        if stale:
            self.doc._delete([], stale)
        self.doc.nodeChanged.emit(self.node_id)
        return stale

    def redo(self) -> None:
        self.dropped = self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
        if self.dropped:
            self.doc._insert([], self.dropped, {})


class _Move(QUndoCommand):
    def __init__(
        self,
        doc: Document,
        old: dict[str, tuple[float, float]],
        new: dict[str, tuple[float, float]],
    ) -> None:
        super().__init__(f"Move {len(new)} node(s)")
        self.doc, self.old, self.new = doc, old, new

    def redo(self) -> None:
        self.doc._set_positions(self.new)

    def undo(self) -> None:
        self.doc._set_positions(self.old)


class _Resources(QUndoCommand):
    def __init__(self, doc: Document, text: str, before: tuple, after: tuple) -> None:
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after

    def _apply(self, state: tuple) -> None:
        self.doc.project.profiles = copy.deepcopy(state[0])
        self.doc.project.targets = copy.deepcopy(state[1])
        self.doc.resourcesChanged.emit()

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class _Backdrops(QUndoCommand):
    def __init__(self, doc: Document, text: str, before: list, after: list) -> None:
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after

    def _apply(self, state: list) -> None:
        self.doc.project.layout["backdrops"] = copy.deepcopy(state)
        self.doc.backdropsChanged.emit()

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
