"""The canvas: a NodeGraphQt view kept in step with the Document.

User gestures (connect, disconnect, move, drop, rename) are turned into Document edits; the
view changes only when the Document says something changed. NodeGraphQt's own undo stack
is never used.
"""

from __future__ import annotations

import gc
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QUndoStack
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QVBoxLayout,
    QWidget,
)

from twinflow_studio.project import Edge, Node, get_kind
from twinflow_studio.ui.canvas_items import (
    CATEGORY_COLORS,
    DEFAULT_NODE_COLOR,
    PORT_COLORS,
    FastNodeItem,
    LodTitle,
    TwinNode,
    restyle_selection,
    use_theme_states,
)
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.nodegraph_adapter import (
    BackdropNode,
    BackdropNodeItem,
    GestureGraph,
    NodeViewer,
    PortItem,
    PortTypeEnum,
    disable_builtin_undo,
    scene_range,
    set_scene_range,
)
from twinflow_studio.ui.pipes import RoutedPipeItem
from twinflow_studio.ui.port_legend import port_tooltip
from twinflow_studio.ui.themes import DARK, Theme

KIND_MIME = "application/x-twinflow-kind"


class _Viewer(NodeViewer):
    output_port_activated = Signal(str, str)
    empty_double_clicked = Signal(QPointF)  # scene position
    context_requested = Signal(str, QPointF, QPoint)  # node id ("" on the canvas), where

    def contextMenuEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        # Ours (ui.context_menus), not NodeGraphQt's: its menus act on its own undo stack.
        self.RMB_state = False
        pos = self.mapToScene(event.pos())
        node_id = ""
        for item in self.scene().items(pos):
            node = getattr(item, "id", None) if isinstance(item, FastNodeItem) else None
            if node is not None:
                node_id = getattr(self._canvas_node(node), "doc_id", "") or ""
                break
        self.context_requested.emit(node_id, pos, event.globalPos())
        event.accept()

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        scene_pos = self.mapToScene(event.position().toPoint())
        items = self.scene().items(scene_pos)
        if event.button() == Qt.MouseButton.LeftButton and not any(
            isinstance(i.topLevelItem(), (FastNodeItem, BackdropNodeItem)) for i in items
        ):
            self.empty_double_clicked.emit(scene_pos)  # quick-add there
            event.accept()
            return
        # A double-click on an output port opens what it holds (ui.viewers).
        for item in items:
            if isinstance(item, PortItem) and item.port_type == PortTypeEnum.OUT.value:
                node_id = getattr(self._canvas_node(item.node.id), "doc_id", "")
                if node_id:
                    self.output_port_activated.emit(node_id, item.name)
                    event.accept()
                    return
        super().mouseDoubleClickEvent(event)

    def establish_connection(self, start_port: Any, end_port: Any) -> None:
        # NodeViewer's, with RoutedPipeItem (drawn clearly when backwards) for PipeItem.
        pipe = RoutedPipeItem()
        self.scene().addItem(pipe)
        pipe.set_connections(start_port, end_port)
        pipe.draw_path(pipe.input_port, pipe.output_port)
        if start_port.node.selected or end_port.node.selected:
            pipe.highlight()
        if not start_port.node.visible or not end_port.node.visible:
            pipe.hide()


class _Graph(GestureGraph):
    """NodeGraph whose gesture handlers report to the canvas instead of editing itself."""

    def __init__(self, canvas: Canvas) -> None:
        undo_stack = QUndoStack()
        super().__init__(undo_stack=undo_stack, viewer=_Viewer(undo_stack=undo_stack))
        undo_stack.setParent(self)  # as NodeGraph's own stack is
        self._canvas = canvas
        viewer = self.viewer()
        viewer._canvas_node = self.get_node_by_id
        viewer.output_port_activated.connect(self._on_output_port)
        viewer.empty_double_clicked.connect(canvas.emptyDoubleClicked)
        viewer.context_requested.connect(canvas.contextRequested)

    def get_unique_name(self, name: str) -> str:  # labels need not be unique; ids are
        return name

    def _on_output_port(self, node_id: str, port: str) -> None:
        self._canvas.outputActivated.emit(node_id, port)

    def on_connection_changed(self, disconnected: list, connected: list) -> None:
        self._canvas._connection_gesture(disconnected, connected)

    def on_connection_sliced(self, ports: list) -> None:
        self._canvas._connection_gesture(ports, [])

    def on_nodes_moved(self, node_data: dict) -> None:
        self._canvas._moved()

    def on_node_data_dropped(self, mimedata: QMimeData, pos: Any) -> None:
        self._canvas._dropped(mimedata, QPointF(pos.x(), pos.y()))

    def on_node_name_changed(self, node_id: str, name: str) -> None:
        self._canvas._renamed(node_id, name)

    def on_search_triggered(self, node_type: str, pos: Any) -> None:
        pass

    def on_insert_node(self, pipe: Any, node_id: str, prev_node_pos: Any) -> None:
        pass

    def on_node_backdrop_updated(self, node_id: str, update_property: str, value: Any) -> None:
        super().on_node_backdrop_updated(node_id, update_property, value)
        self._canvas._moved()


class Canvas(QWidget):
    selectionChanged = Signal(list)  # doc node ids
    message = Signal(str)  # a reason or notice for the status bar
    kindDropped = Signal(str, QPointF)
    nodeActivated = Signal(str)
    groupActivated = Signal(str)  # a group's id: its title was double-clicked
    outputActivated = Signal(str, str)  # node id, output port (double-clicked)
    emptyDoubleClicked = Signal(QPointF)  # scene position (quick-add there)
    contextRequested = Signal(str, QPointF, QPoint)  # node id or "", scene pos, global pos

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.graph: _Graph | None = None
        self._views: dict[str, TwinNode] = {}
        self._backdrop_views: dict[str, BackdropNode] = {}
        self._states: dict[str, tuple[str, str]] = {}
        self.last_refusal = ""
        self.theme: Theme = DARK
        doc.reset.connect(self.rebuild)
        doc.nodesAdded.connect(self._add_views)
        doc.nodesRemoved.connect(self._remove_views)
        doc.edgesAdded.connect(self._add_edges)
        doc.edgesRemoved.connect(self._remove_edges)
        doc.nodeChanged.connect(self._refresh_node)
        doc.nodesMoved.connect(self._move_views)
        doc.backdropsChanged.connect(self._rebuild_backdrops)
        self.rebuild()

    # ----- building -----
    def rebuild(self) -> None:
        """A fresh scene for the whole project, built in one batch."""
        old = self.graph
        self.graph = _Graph(self)
        self.graph.undo_stack().setUndoLimit(1)  # its stack is unused; keep it from growing
        self.graph.set_acyclic(False)  # cycles are refused by our rules, with a reason
        self.graph.set_pipe_slicing(True)
        self.graph.node_selection_changed.connect(self._selection_changed)
        self._styled_selection: set[QGraphicsItem] = set()
        self.graph.scene().selectionChanged.connect(self._restyle_selection)
        self.graph.node_double_clicked.connect(self._double_clicked)
        had_focus = old is not None and self.window().focusWidget() is self.viewer
        self.viewer = self.graph.viewer()
        self.viewer.setAcceptDrops(True)
        self.setFocusProxy(self.viewer)  # keys (F, Tab, Delete) go to the canvas
        # NodeGraphQt's context menu and its Ctrl+Z/Ctrl+Shift+Z act on its own undo stack,
        # which the studio never uses: the Document's stack is the one.
        self.graph.disable_context_menu(True)
        disable_builtin_undo(self.viewer)
        # Repaint only what changed: a run recolours scattered nodes, and NodeGraphQt's
        # bounding-rect mode would repaint (in Python) everything between them.
        self.viewer.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self._views, self._backdrop_views, self._states = {}, {}, {}
        if old is not None:
            self._layout.removeWidget(old.widget)
            old.widget.setParent(None)
            old.widget.deleteLater()
            old.deleteLater()
        self._layout.addWidget(self.graph.widget)
        if had_focus:  # Open rebuilds the viewer: the focus stays on the canvas
            self.viewer.setFocus()
        self._apply_canvas_colors()
        self._batch(lambda: self._add_views(list(self.doc.project.nodes)))
        self._rebuild_backdrops()
        view = self.doc.project.layout.get("view")
        if isinstance(view, dict) and {"x", "y", "w", "h"} <= set(view):
            set_scene_range(self.viewer, QRectF(*(float(view[k]) for k in "xywh")))
        elif self._views:
            QTimer.singleShot(0, self.zoom_to_fit)

    def _batch(self, work: Any) -> None:
        scene = self.graph.scene()
        viewport = self.viewer.viewport()
        viewport.setUpdatesEnabled(False)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        gc_was = gc.isenabled()
        gc.disable()  # thousands of short-lived wrappers; one collection at the end
        FastNodeItem.deferring = True
        try:
            work()
        finally:
            FastNodeItem.flush()
            # Pipes after the node layout pass, so each is drawn once, at its final ports.
            self._add_edges(self.doc.project.edges)
            scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
            if gc_was:
                gc.enable()
            viewport.setUpdatesEnabled(True)

    def _make_view(self, node: Node) -> TwinNode:
        view = TwinNode()
        view.doc_id = node.id
        view.NODE_NAME = node.label
        kind = get_kind(node.kind)
        view.base_color = (
            CATEGORY_COLORS.get(kind.category, DEFAULT_NODE_COLOR) if kind else (110, 40, 40)
        )
        view.model.color = (*view.base_color, 255)
        view.view.color = (*view.base_color, 255)
        for port in node.input_ports():
            made = view.add_input(port.name, color=PORT_COLORS.get(port.type, PORT_COLORS["any"]))
            made.view.setToolTip(port_tooltip(node, port, "input"))
        for port in node.output_ports():
            made = view.add_output(
                port.name, multi_output=True, color=PORT_COLORS.get(port.type, PORT_COLORS["any"])
            )
            made.view.setToolTip(port_tooltip(node, port, "output"))
        return view

    def _add_views(self, node_ids: list[str]) -> None:
        nodes = self.doc.project.nodes
        for node_id in node_ids:
            view = self._make_view(nodes[node_id])
            x, y = self.doc.position(node_id)
            self.graph.add_node(view, pos=[x, y], selected=False, push_undo=False)
            self._views[node_id] = view
            view.badge_rgb = self.theme.badge
            view.marker_rgb = self.theme.marker
            if node_id in self._states:
                view.show_state(*self._states[node_id])

    def _port(self, node_id: str, name: str, side: str) -> Any:
        view = self._views.get(node_id)
        if view is None:
            return None
        return view.get_output(name) if side == "out" else view.get_input(name)

    def _add_edges(self, edges: list[Edge]) -> None:
        for e in edges:
            out, inp = (
                self._port(e.source, e.source_port, "out"),
                self._port(e.target, e.target_port, "in"),
            )
            if out is not None and inp is not None:
                out.connect_to(inp, push_undo=False, emit_signal=False)

    def _remove_edges(self, edges: list[Edge]) -> None:
        for e in edges:
            out, inp = (
                self._port(e.source, e.source_port, "out"),
                self._port(e.target, e.target_port, "in"),
            )
            if out is not None and inp is not None:
                out.disconnect_from(inp, push_undo=False, emit_signal=False)

    def _remove_views(self, node_ids: list[str]) -> None:
        for node_id in node_ids:
            view = self._views.pop(node_id, None)
            if view is not None:
                self.graph.remove_node(view, push_undo=False)

    def _refresh_node(self, node_id: str) -> None:
        """Ports or label changed: rebuild that one node and its edges."""
        view = self._views.get(node_id)
        node = self.doc.project.nodes.get(node_id)
        if view is not None and node is not None and self._looks_the_same(view, node):
            return  # a parameter edit: nothing on the canvas shows it
        selected = bool(view and view.selected())
        self._remove_views([node_id])
        if node_id in self.doc.project.nodes:
            self._add_views([node_id])
            self._add_edges([e for e in self.doc.project.edges if node_id in (e.source, e.target)])
            if selected:
                self._views[node_id].set_selected(True)

    @staticmethod
    def _looks_the_same(view: TwinNode, node: Node) -> bool:
        ins = [(p.name(), p.view.color[:3]) for p in view.input_ports()]
        outs = [(p.name(), p.view.color[:3]) for p in view.output_ports()]

        def want(ports: list) -> list:
            return [(p.name, PORT_COLORS.get(p.type, PORT_COLORS["any"])) for p in ports]

        return (
            view.name() == node.label
            and ins == want(node.input_ports())
            and outs == want(node.output_ports())
        )

    def _move_views(self, positions: dict[str, tuple[float, float]]) -> None:
        for node_id, (x, y) in positions.items():
            view = self._views.get(node_id)
            if view is not None and tuple(view.pos()) != (x, y):
                view.view.xy_pos = [x, y]  # the item itself: NodeObject.set_pos records undo

    def _rebuild_backdrops(self) -> None:
        for bd in self._backdrop_views.values():
            self.graph.remove_node(bd, push_undo=False)
        self._backdrop_views = {}
        for data in self.doc.backdrops():
            bd = BackdropNode()
            bd.NODE_NAME = str(data.get("title", "Group"))
            self.graph.add_node(
                bd,
                pos=[float(data.get("x", 0)), float(data.get("y", 0))],
                selected=False,
                push_undo=False,
            )
            bd.set_size(float(data.get("w", 400)), float(data.get("h", 250)))
            # BackdropNodeItem has no post_init of its own: add_node leaves it at the
            # origin whatever ``pos`` says, so the frame is put in place here.
            bd.view.xy_pos = [float(data.get("x", 0)), float(data.get("y", 0))]
            if "color" in data:
                bd.view.color = (*data["color"][:3], 255)
            bd.view.setZValue(-10)
            self._backdrop_views[str(data["id"])] = bd

    # ----- gestures from the viewer -----
    def _doc_id(self, view_id: str) -> str | None:
        node = self.graph.get_node_by_id(view_id)
        return getattr(node, "doc_id", None) or None

    def _edge_of(self, a: Any, b: Any) -> Edge | None:
        out, inp = (a, b) if a.port_type == "out" else (b, a)
        src, dst = self._doc_id(out.node.id), self._doc_id(inp.node.id)
        if src is None or dst is None:
            return None
        return Edge(src, out.name, dst, inp.name)

    def _connection_gesture(self, disconnected: list, connected: list) -> None:
        removed = [e for e in (self._edge_of(a, b) for a, b in disconnected) if e]
        added = []
        for edge in (e for e in (self._edge_of(a, b) for a, b in connected) if e):
            reason = self.doc.refusal(edge)
            if reason:
                self.refuse(reason)
            else:
                added.append(edge)
        # A drag onto an input that is already fed replaces its edge (connect does that);
        # a refused drag leaves the old edge in place.
        fed = {(e.target, e.target_port) for e in (self._edge_of(a, b) for a, b in connected) if e}
        removed = [e for e in removed if (e.target, e.target_port) not in fed]
        if len(added) + bool(removed) > 1:
            self.doc.undo.beginMacro("Reconnect")
        try:
            self.doc.disconnect(removed)
            for edge in added:
                self.doc.connect(edge)
        finally:
            if len(added) + bool(removed) > 1:
                self.doc.undo.endMacro()
        self._reconcile()

    def request_connection(self, edge: Edge) -> str | None:
        """Connect as a drag between the two ports would; returns the refusal reason."""
        self.last_refusal = ""
        out = self._port(edge.source, edge.source_port, "out")
        inp = self._port(edge.target, edge.target_port, "in")
        if out is None or inp is None:
            reason = (
                f"no such port: {edge.source}.{edge.source_port} → {edge.target}.{edge.target_port}"
            )
            self.refuse(reason)
            return reason
        self.viewer.connection_changed.emit([], [(out.view, inp.view)])
        return self.last_refusal or None

    def refuse(self, reason: str) -> None:
        self.last_refusal = reason
        self.viewer.setToolTip(f"Connection refused: {reason}")
        self.message.emit(f"Connection refused: {reason}")

    def _reconcile(self) -> None:
        """Make the pipes on screen match the document's edges exactly."""
        want = {(e.source, e.source_port, e.target, e.target_port) for e in self.doc.project.edges}
        have = set()
        for node_id, view in self._views.items():
            for name, port in view.inputs().items():
                for other in port.connected_ports():
                    src = getattr(other.node(), "doc_id", "")
                    have.add((src, other.name(), node_id, name))
        for key in have - want:
            self._remove_edges([Edge(*key)])
        for key in want - have:
            self._add_edges([Edge(*key)])

    def _moved(self) -> None:
        new, old = {}, {}
        for node_id, view in self._views.items():
            x, y = view.pos()
            if (x, y) != self.doc.position(node_id):
                new[node_id], old[node_id] = (x, y), self.doc.position(node_id)
        backdrops = []
        by_id = {str(b["id"]): b for b in self.doc.backdrops()}
        for bd_id, bd in self._backdrop_views.items():
            data = dict(by_id.get(bd_id, {"id": bd_id}))
            (data["x"], data["y"]), (data["w"], data["h"]) = bd.pos(), bd.size()
            backdrops.append(data)
        changed_bd = backdrops != self.doc.backdrops()
        if not new and not changed_bd:
            return
        self.doc.undo.beginMacro("Move")
        if new:
            self.doc.move_nodes(new, old)
        if changed_bd:
            self.doc.set_backdrops(backdrops, "Move group")
        self.doc.undo.endMacro()

    def _dropped(self, mimedata: QMimeData, pos: QPointF) -> None:
        if mimedata.hasFormat(KIND_MIME):
            kind = bytes(mimedata.data(KIND_MIME).data()).decode()
            self.kindDropped.emit(kind, pos)

    def _renamed(self, view_id: str, name: str) -> None:
        node_id = self._doc_id(view_id)
        if node_id:
            self.doc.change_node(node_id, "name", lambda n: setattr(n, "name", name), "Rename")

    def _double_clicked(self, node: Any) -> None:
        for bd_id, bd in self._backdrop_views.items():
            if bd is node:
                # After the click: a rename rebuilds the group's item, which is still
                # handling this event.
                QTimer.singleShot(0, self, lambda b=bd_id: self.groupActivated.emit(b))
                return
        self.nodeActivated.emit(getattr(node, "doc_id", ""))

    def _restyle_selection(self) -> None:
        self._styled_selection = restyle_selection(self.graph.scene(), self._styled_selection)

    def _selection_changed(self, *_: Any) -> None:
        self.selectionChanged.emit(self.selected_ids())

    # ----- view operations -----
    def selected_ids(self) -> list[str]:
        return [n.doc_id for n in self.graph.selected_nodes() if isinstance(n, TwinNode)]

    def selected_backdrops(self) -> list[str]:
        return [k for k, v in self._backdrop_views.items() if v.selected()]

    def select(self, node_ids: list[str], center: bool = False) -> None:
        self.graph.clear_selection()
        for node_id in node_ids:
            view = self._views.get(node_id)
            if view is not None:
                view.set_selected(True)
        if center and node_ids and node_ids[0] in self._views:
            self.graph.center_on([self._views[node_ids[0]]])
        self._selection_changed()

    def frame_around(self, node_ids: list[str]) -> tuple[float, float, float, float] | None:
        """(x, y, w, h) of a group frame around these nodes: room for its title bar above
        them and a margin around."""
        rects = [self._views[n].view.sceneBoundingRect() for n in node_ids if n in self._views]
        if not rects:
            return None
        rect = rects[0]
        for r in rects[1:]:
            rect = rect.united(r)
        rect.adjust(-30, -50, 30, 30)
        return (rect.x(), rect.y(), rect.width(), rect.height())

    def zoom_to_fit(self) -> None:
        if not self._views:
            return
        rect = None
        for view in self._views.values():
            r = view.view.sceneBoundingRect()
            rect = r if rect is None else rect.united(r)
        rect.adjust(-60, -60, 60, 60)
        # NodeGraphQt pans and zooms by a scene range of its own; fit by setting it.
        set_scene_range(self.viewer, rect)

    def scene_cursor_pos(self) -> QPointF:
        local = self.viewer.mapFromGlobal(QCursor.pos())
        if not self.viewer.rect().contains(local):
            local = self.viewer.rect().center()
        return self.viewer.mapToScene(local)

    def node_rects(
        self, exclude: set[str] | None = None
    ) -> list[tuple[float, float, float, float]]:
        """Where each node is on the canvas, (x, y, w, h) in scene coordinates."""
        out = []
        for node_id, view in self._views.items():
            if exclude and node_id in exclude:
                continue
            r = view.view.sceneBoundingRect()
            out.append((r.x(), r.y(), r.width(), r.height()))
        return out

    def placement_anchor(self) -> QPointF:
        """Where a node added without a drop point should go: at the cursor when it is over
        the canvas, else to the right of the selection, else at the middle of the view."""
        local = self.viewer.mapFromGlobal(QCursor.pos())
        if self.viewer.rect().contains(local):
            return self.viewer.mapToScene(local)
        selected = [self._views[n].view.sceneBoundingRect() for n in self.selected_ids()]
        if selected:
            box = selected[0]
            for r in selected[1:]:
                box = box.united(r)
            return QPointF(box.right() + 60.0, box.top())
        return self.viewer.mapToScene(self.viewer.viewport().rect().center())

    def view_state(self) -> dict[str, float]:
        r = scene_range(self.viewer)
        return {"x": r.x(), "y": r.y(), "w": r.width(), "h": r.height()}

    def node_view(self, node_id: str) -> TwinNode | None:
        return self._views.get(node_id)

    # ----- theme -----
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._apply_canvas_colors()
        use_theme_states(theme)
        for view in self._views.values():
            view.set_badge_color(theme.badge)
            view.set_marker_color(theme.marker)
        for node_id, (state, text) in self._states.items():
            shown = self._views.get(node_id)
            if shown is not None:
                shown.show_state(state, text)
        self.viewer.viewport().update()

    def _apply_canvas_colors(self) -> None:
        self.graph.set_background_color(*self.theme.canvas)
        self.graph.set_grid_color(*self.theme.grid)
        LodTitle.color = self.theme.node_title

    # ----- run states -----
    def set_states(self, states: dict[str, tuple[str, str]]) -> None:
        self._states.update(states)
        for node_id, (state, text) in states.items():
            view = self._views.get(node_id)
            if view is not None:
                view.show_state(state, text)

    def set_markers(self, markers: dict[str, str]) -> None:
        """Notes above nodes (node id -> text); nodes not named lose theirs."""
        for node_id, view in self._views.items():
            view.show_marker(markers.get(node_id))

    def clear_states(self) -> None:
        for node_id in list(self._states):
            view = self._views.get(node_id)
            if view is not None:
                view.show_state(None)
        self._states = {}
