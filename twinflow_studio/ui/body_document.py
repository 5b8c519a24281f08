"""A subgraph's body as a document of its own, so that the canvas, the properties panel and
the window's edit commands work on it as on the project.

Its edits run on a private undo stack only to be applied; each one then becomes one step on
the project's (root) undo stack that writes the new body into the subgraph node. Undo and
redo happen there, and the body follows the root: whenever the node that holds it changes,
the body is read again from it (the root is the one source of truth).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QUndoCommand

from twinflow_studio.project import Node, Project
from twinflow_studio.project.body_edit import (
    BodyAt,
    BodyPathError,
    body_at,
    body_document,
    body_layout,
    edited_top_node,
    interface_of,
    path_key,
    set_body_layout,
)
from twinflow_studio.project.layout import layered_positions
from twinflow_studio.project.layout_check import layout_problem
from twinflow_studio.ui.document import Document, _NodeEdit, _structural


class BodyDocument(Document):
    """The body at ``node_path`` (subgraph ids from the top project down)."""

    # PySide resolves ``connect``/``disconnect`` on a subclass of a QObject subclass to
    # QObject's own (whatever the Python base defines): the document's edits, named again.
    connect = Document.connect  # type: ignore[assignment]
    disconnect = Document.disconnect  # type: ignore[assignment]

    def __init__(
        self, root: Document, node_path: tuple[str, ...], project_dir: Callable[[], Path]
    ) -> None:
        self.root = root
        self.node_path = node_path
        self._project_dir = project_dir
        self.readonly: str | None = None
        self.part_index: int | None = None
        self.source: dict[str, Any] = {}
        self.interface: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
        self._syncing = False
        # Where the canvas looks (set by the canvas's owner): kept when the body is read again.
        self.view_state: Callable[[], dict[str, float]] | None = None
        super().__init__(Project(node_path[-1]), None)
        self.structure_lock = lambda: self.readonly or root.structure_lock()
        self.undo.indexChanged.connect(self._edited)
        found = body_at(root.project, node_path, project_dir())  # BodyPathError: not opened
        self._load(found)

    # The file, the title and dirtiness are the project's.
    @property  # type: ignore[override]
    def path(self) -> Path | None:
        return self.root.path

    @path.setter
    def path(self, _value: Path | None) -> None:
        pass

    @property
    def label(self) -> str:
        return path_key(self.node_path)

    # ----- following the root -----
    def sync(self) -> bool:
        """Read the body again from the root when it differs from what is shown; False when
        the path no longer leads to a body (its node was deleted or renamed)."""
        try:
            found = body_at(self.root.project, self.node_path, self._project_dir())
        except BodyPathError:
            return False
        if found.document != self.source or found.readonly != self.readonly:
            self._load(found)
            return True
        kept = body_layout(self.root.project, self.node_path)
        if kept is not None:
            moved = {
                n: (float(p["x"]), float(p["y"]))
                for n, p in kept.get("nodes", {}).items()
                if n in self.project.nodes and self.position(n) != (p["x"], p["y"])
            }
            if moved:
                self._set_positions(moved)
        return True

    def _load(self, found: BodyAt) -> None:
        project = found.project
        layout = body_layout(self.root.project, self.node_path)
        own = found.document.get("layout")  # a part's own file keeps where its nodes were
        if layout is None and isinstance(own, dict) and layout_problem(own) is None:
            layout = own
        project.layout = dict(layout or {})
        if self.view_state is not None:
            project.layout["view"] = self.view_state()
        nodes = project.layout.setdefault("nodes", {})
        missing = {n for n in project.nodes if n not in nodes}
        if missing:
            for n, (x, y) in layered_positions(project, missing).items():
                nodes[n] = {"x": x, "y": y}
        self.project = project
        self.source = found.document
        self.interface = interface_of(found.document)
        self.readonly, self.part_index = found.readonly, found.part_index
        self._syncing = True
        try:
            self.undo.clear()
        finally:
            self._syncing = False
        self.reset.emit()

    # ----- edits into the root -----
    def _edited(self, _index: int) -> None:
        if self._syncing or self.undo.index() == 0:
            return
        command = self.undo.command(self.undo.index() - 1)
        if self.readonly:
            self.refused.emit(self.readonly)
            # After the gesture that made the edit (a drag ends in it): the canvas is rebuilt.
            QTimer.singleShot(0, self, self.sync_hard)
            return
        document = body_document(self.project, self.interface)
        layout = {k: v for k, v in self.project.layout.items() if k != "view"}
        try:
            node = edited_top_node(self.root.project, self.node_path, document, self._project_dir())
        except BodyPathError as exc:
            self.refused.emit(str(exc))
            return
        self.source, self.interface = document, interface_of(document)
        top = self.node_path[0]
        self.root.undo.push(
            _BodyEdit(
                self.root,
                f"{command.text()} in {self.label}",
                self.node_path,
                (self.root.project.nodes[top], node),
                (body_layout(self.root.project, self.node_path), layout),
                command,
                _structural(command),
            )
        )

    def sync_hard(self) -> None:
        """Drop what is shown and read the body from the root again."""
        self.source = {}
        self.sync()


class _BodyEdit(_NodeEdit):
    """One edit of a body: the top-level subgraph node before and after, and the body's
    layout (kept in the root's layout, not in the node) before and after."""

    def __init__(
        self,
        doc: Document,
        text: str,
        node_path: tuple[str, ...],
        nodes: tuple[Node, Node],
        layouts: tuple[dict[str, Any] | None, dict[str, Any] | None],
        source: QUndoCommand,
        structural: bool,
    ) -> None:
        field = "ports.body" if structural else "body"  # structural: refused while a run goes
        super().__init__(doc, text, node_path[0], field, nodes[0], nodes[1])
        self.node_path, self.layouts, self.source = node_path, layouts, source

    def id(self) -> int:
        return 2

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        # Typing in a field of an inner node merges there; it merges here the same way.
        if (
            not isinstance(other, _BodyEdit)
            or other.source is not self.source
            or other.node_path != self.node_path
        ):
            return False
        self.after, self.layouts = other.after, (self.layouts[0], other.layouts[1])
        return True

    def redo(self) -> None:
        set_body_layout(self.doc.project, self.node_path, self.layouts[1])
        super().redo()

    def undo(self) -> None:
        set_body_layout(self.doc.project, self.node_path, self.layouts[0])
        super().undo()
