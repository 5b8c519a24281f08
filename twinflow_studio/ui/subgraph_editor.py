"""Editing a subgraph's body on the canvas: double-click a subgraph and the canvas switches
into its body, under a breadcrumb (Project › subgraph › nested) that leads back out.

The body is edited with the studio's own tools (add, connect, delete, properties, copy and
paste, auto-layout), as a ``BodyDocument`` whose every edit is one step on the project's undo
stack. A referenced part is shown read-only until "Make local copy" embeds it (the part
file is shared and pinned by content; it is never written from here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import validate
from twinflow_studio.project.body_edit import BodyPathError, local_copy
from twinflow_studio.project.subgraphs import SEPARATOR
from twinflow_studio.ui.body_document import BodyDocument
from twinflow_studio.ui.canvas import Canvas
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.problem_text import in_panel
from twinflow_studio.ui.properties import PropertiesPanel
from twinflow_studio.ui.subgraph_states import instance_states, latest_states
from twinflow_studio.ui.themes import Theme, theme


class CanvasArea(QWidget):
    """The project's canvas, or the canvas of a body open in it, under a breadcrumb bar
    (hidden while the project itself is shown)."""

    def __init__(self, canvas: Canvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.bar = QWidget()
        self.bar.setObjectName("breadcrumb")
        self.crumbs = QHBoxLayout(self.bar)
        self.crumbs.setContentsMargins(6, 2, 6, 2)
        self.note = QLabel()
        self.local_copy = QPushButton("Make local copy")
        self.local_copy.setToolTip(
            "Embed a copy of the part in this project, to edit it here (the part file is "
            "left as it is)"
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(canvas)
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)
        self.bar.hide()

    def show_path(self, names: list[str], readonly: str | None, go: Any) -> None:
        """The breadcrumb for ``names`` (the project's name first); ``go(depth)`` is called
        when a crumb is clicked."""
        while self.crumbs.count():
            item = self.crumbs.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget not in (self.note, self.local_copy):
                widget.setParent(None)  # gone now, not at the next turn of the loop
                widget.deleteLater()
        for depth, name in enumerate(names):
            if depth:
                self.crumbs.addWidget(QLabel("›"))
            crumb = QToolButton()
            crumb.setText(name)
            crumb.setAutoRaise(True)
            crumb.setObjectName(f"crumb{depth}")
            if depth == len(names) - 1:
                font = QFont(crumb.font())
                font.setBold(True)
                crumb.setFont(font)
                crumb.setEnabled(False)
            crumb.clicked.connect(lambda _c=False, d=depth: go(d))
            self.crumbs.addWidget(crumb)
        self.crumbs.addStretch(1)
        self.note.setText(f"read-only: {readonly}" if readonly else "")
        self.crumbs.addWidget(self.note)
        self.crumbs.addWidget(self.local_copy)
        self.local_copy.setVisible(bool(readonly))
        self.bar.setVisible(len(names) > 1)

    def crumb_texts(self) -> list[str]:
        return [
            w.text()
            for i in range(self.crumbs.count())
            if isinstance(w := self.crumbs.itemAt(i).widget(), QToolButton)
        ]


class BodyProperties(PropertiesPanel):
    """The properties of a body's node: an input that the body's interface feeds from
    outside is not "not connected"."""

    doc: BodyDocument

    def _refresh_problems(self) -> None:
        super()._refresh_problems()
        if self.node_id is None or not hasattr(self, "problems"):
            return
        fed = {(p.get("node"), p.get("port")) for p in self.doc.interface["inputs"]}
        outside = {
            f"• {in_panel(p)}"
            for p in validate(self.doc.project)
            if p.code == "missing_input"
            and p.node_id == self.node_id
            and (p.node_id, p.path.rsplit(".", 1)[-1]) in fed
        }
        try:
            lines = self.problems.text().split("\n")
        except RuntimeError:  # the form was rebuilt
            return
        self.problems.setText("\n".join(line for line in lines if line not in outside))


@dataclass
class _Level:
    doc: BodyDocument
    canvas: Canvas
    properties: BodyProperties


class SubgraphEditor:
    """The bodies open on the canvas, outermost first; the last one is shown."""

    def __init__(self, window: Any, area: CanvasArea) -> None:
        self.window = window
        self.area = area
        self.levels: list[_Level] = []
        root: Document = window.doc
        root.nodeChanged.connect(self._root_node_changed)
        root.nodesRemoved.connect(self._root_nodes_removed)
        root.reset.connect(lambda: self.go(0))
        window.runs.states.connect(self._run_states)
        window.runs.started.connect(lambda _rid: [lv.canvas.clear_states() for lv in self.levels])
        area.local_copy.clicked.connect(self.make_local_copy)

    # ----- what the window's edit commands act on -----
    @property
    def doc(self) -> Document:
        return self.levels[-1].doc if self.levels else self.window.doc

    @property
    def canvas(self) -> Canvas:
        return self.levels[-1].canvas if self.levels else self.window.canvas

    @property
    def node_path(self) -> tuple[str, ...]:
        return self.levels[-1].doc.node_path if self.levels else ()

    # ----- opening, leaving -----
    def open(self, node_id: str) -> BodyDocument | None:
        """Switch the canvas into the body of subgraph ``node_id`` of what is shown."""
        window = self.window
        try:
            doc = BodyDocument(window.doc, (*self.node_path, node_id), window._project_dir)
        except BodyPathError as exc:
            window.show_message(f"Cannot open the body of {node_id}: {exc}")
            return None
        canvas = Canvas(doc)
        doc.view_state = canvas.view_state
        canvas.set_theme(theme(window.theme))
        properties = BodyProperties(doc)
        canvas.selectionChanged.connect(properties.show_selection)
        canvas.message.connect(window.show_message)
        canvas.kindDropped.connect(window.add_node)
        canvas.nodeActivated.connect(self._activated)
        canvas.nodeActivated.connect(lambda _n: window.docks["properties"].raise_())
        canvas.groupActivated.connect(window.rename_group)
        doc.refused.connect(window.show_message)
        properties.message.connect(window.show_message)
        self.levels.append(_Level(doc, canvas, properties))
        window.icons.watch(doc, canvas)
        self.area.stack.addWidget(canvas)
        self._show()
        canvas.zoom_to_fit()
        window.show_message(
            f"Editing the body of {' › '.join(doc.node_path)}"
            + (f" (read-only: {doc.readonly})" if doc.readonly else "")
        )
        return doc

    def go(self, depth: int) -> None:
        """Show the level ``depth`` (0: the project), closing the bodies below it."""
        while len(self.levels) > depth:
            level = self.levels.pop()
            self.area.stack.removeWidget(level.canvas)
            level.canvas.deleteLater()
            level.properties.deleteLater()
            level.doc.deleteLater()
        self._show()

    def set_theme(self, chosen: Theme) -> None:
        for level in self.levels:
            level.canvas.set_theme(chosen)

    def leave(self) -> None:
        if self.levels:
            self.go(len(self.levels) - 1)

    def _show(self, focus: bool = True) -> None:
        window = self.window
        self.area.stack.setCurrentWidget(self.canvas)
        dock = window.docks["properties"]
        panel = self.levels[-1].properties if self.levels else window.properties
        if dock.widget() is not panel:
            dock.setWidget(panel)
            panel.show()
        names = [window.doc.project.name or "Project"]
        project = window.doc.project
        for level in self.levels:
            node = project.nodes.get(level.doc.node_path[-1])
            names.append(node.label if node is not None else level.doc.node_path[-1])
            project = level.doc.project
        readonly = self.levels[-1].doc.readonly if self.levels else None
        self.area.show_path(names, readonly, self.go)
        if focus:  # not while the user types in a field of the body's properties
            self.canvas.setFocus()

    def _activated(self, node_id: str) -> None:
        node = self.doc.project.nodes.get(node_id)
        if node is not None and node.kind == "subgraph":
            self.open(node_id)

    # ----- following the project -----
    def _root_node_changed(self, node_id: str) -> None:
        if not self.levels or node_id != self.levels[0].doc.node_path[0]:
            return
        for depth, level in enumerate(self.levels):
            if not level.doc.sync():
                self.window.show_message(
                    f"The subgraph {' › '.join(level.doc.node_path)} is gone; back to its parent"
                )
                self.go(depth)
                return
        self._show(focus=False)  # a label or the read-only state may have changed

    def _root_nodes_removed(self, node_ids: list[str]) -> None:
        if self.levels and self.levels[0].doc.node_path[0] in node_ids:
            self.window.show_message(f"The subgraph {self.levels[0].doc.node_path[0]} is gone")
            self.go(0)

    def _run_states(self, states: dict[str, tuple[str, str]]) -> None:
        runs = self.window.runs
        latest = latest_states(runs.history) if self.levels else {}
        for level in self.levels:
            prefix = SEPARATOR.join(level.doc.node_path) + SEPARATOR
            inner = {
                k[len(prefix) :]: v
                for k, v in states.items()
                if k.startswith(prefix) and SEPARATOR not in k[len(prefix) :]
            }
            inner.update(instance_states(runs.node_ids, latest, prefix))  # nested subgraphs
            if inner:
                level.canvas.set_states(inner)

    # ----- a referenced part -----
    def make_local_copy(self) -> bool:
        """Embed the part the shown body comes from, so that it can be edited (one undoable
        step); the body stays open, now editable."""
        if not self.levels or self.levels[-1].doc.part_index is None:
            self.window.show_message("Open the body of a subgraph that uses a part first")
            return False
        index = self.levels[-1].doc.part_index
        holder = self.levels[index - 1].doc if index else self.window.doc
        node_id = self.levels[-1].doc.node_path[index]
        try:
            copy = local_copy(holder.project.nodes[node_id], self.window._project_dir())
        except BodyPathError as exc:
            self.window.show_message(f"Cannot make a local copy: {exc}")
            return False

        def embed(node: Any) -> None:
            node.params, node.inputs, node.outputs = copy.params, copy.inputs, copy.outputs

        holder.change_node(node_id, "ports.local_copy", embed, f"Make local copy of {node_id}")
        self._show()
        return self.levels[-1].doc.readonly is None
