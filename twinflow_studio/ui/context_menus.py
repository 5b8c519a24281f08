"""Right-click menus on the canvas, and quick-add by double-clicking its empty space.

On a node: run to here, run only this, rerun ignoring the cache, mute/bypass, open outputs,
show in lineage, rename, delete. On the empty canvas: add node here, paste, select all,
auto-layout. Every action goes through what the main window's menus use (runs, the
Document's undoable edits, the output viewers), never around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, QPointF
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu

from twinflow_studio.ui.viewers import open_output

if TYPE_CHECKING:
    from twinflow_studio.ui.main_window import MainWindow


class CanvasMenus(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.last_menu: QMenu | None = None
        window.canvas.contextRequested.connect(self.popup)
        window.canvas.emptyDoubleClicked.connect(self.quick_add_at)

    # ----- menus -----
    def popup(self, node_id: str, scene_pos: QPointF, global_pos: QPoint) -> None:
        if node_id and node_id not in self.window.canvas.selected_ids():
            self.window.canvas.select([node_id])  # the menu is about what it was opened on
        menu = self.node_menu(node_id) if node_id else self.canvas_menu(scene_pos)
        menu.exec(global_pos)

    def _menu(self, entries: list[tuple[str, Any, bool]]) -> QMenu:
        menu = QMenu(self.window)
        for text, slot, enabled in entries:
            if text == "-":
                menu.addSeparator()
                continue
            action = QAction(text, menu)
            action.setEnabled(enabled)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(action)
        self.last_menu = menu
        return menu

    def node_menu(self, node_id: str) -> QMenu:
        w = self.window
        node = w.doc.project.nodes[node_id]
        idle = not w.runs.busy
        has_outputs = bool(node.output_ports())
        mute = "Unmute" if node.muted else "Mute (bypass)"
        return self._menu(
            [
                ("Run to here", lambda: self.run_to_here(node_id), idle),
                ("Run only this", lambda: self.run_only_this(node_id), idle),
                ("Rerun ignoring cache", lambda: self.rerun_ignoring_cache(node_id), idle),
                ("-", None, True),
                (mute, lambda: self.toggle_mute(node_id), True),
                ("-", None, True),
                ("Open outputs", lambda: open_output(w, node_id), has_outputs),
                ("Show in lineage", lambda: self.show_in_lineage(node_id), True),
                ("-", None, True),
                ("Rename…", lambda: self.rename(node_id), True),
                ("Delete", lambda: w.doc.remove_nodes([node_id]), True),
            ]
        )

    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        w = self.window
        return self._menu(
            [
                ("Add node here…", lambda: self.quick_add_at(scene_pos), True),
                ("Paste", w.paste, True),
                ("Select all", lambda: w.canvas.select(list(w.doc.project.nodes)), True),
                ("Auto-layout", w.auto_layout, bool(w.doc.project.nodes)),
            ]
        )

    # ----- node actions -----
    def run_to_here(self, node_id: str) -> object:
        """The node and what it needs upstream (unchanged nodes come from the cache)."""
        return self.window._start([node_id])

    def run_only_this(self, node_id: str) -> object:
        """Only this node: what it needs must be unchanged since its last run, so that it
        comes from the cache; else the user is told to run to here instead."""
        w = self.window
        upstream = sorted(w.doc.project.reachable({node_id}, upstream=True) - {node_id})
        changed = [n for n in upstream if not w.badges.is_fresh(n)]
        if changed:
            labels = ", ".join(w.doc.project.nodes[n].label for n in changed[:3])
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            label = w.doc.project.nodes[node_id].label
            w.show_message(
                f"Cannot run only {label}: {labels}{more} upstream changed or never ran; "
                "use Run to here"
            )
            return None
        return w._start([node_id])

    def rerun_ignoring_cache(self, node_id: str) -> object:
        """Run to here with the cache off (the node and what it needs run again)."""
        runs = self.window.runs
        runs.use_cache = False
        task = self.window._start([node_id])
        if task is None:
            runs.use_cache = True
        else:
            task.add_done_callback(lambda _t: setattr(runs, "use_cache", True))  # type: ignore[attr-defined]
        return task

    def toggle_mute(self, node_id: str) -> None:
        muted = not self.window.doc.project.nodes[node_id].muted
        self.window.doc.change_node(
            node_id, "muted", lambda n: setattr(n, "muted", muted), "Mute" if muted else "Unmute"
        )
        self.window.show_message(
            f"{self.window.doc.project.nodes[node_id].label} "
            + ("muted: runs skip it and what depends on it" if muted else "unmuted")
        )

    def show_in_lineage(self, node_id: str) -> None:
        self.window.point_at_node(node_id)  # selecting it shows it in the lineage panel
        dock = self.window.docks["lineage"]
        dock.show()
        dock.raise_()

    def rename(self, node_id: str) -> None:
        node = self.window.doc.project.nodes[node_id]
        name = self.window.prompter.text("Rename node", "Name of the node:", node.label)
        if name is not None and name.strip() and name.strip() != node.label:
            self.window.doc.change_node(
                node_id, "name", lambda n: setattr(n, "name", name.strip()), "Rename"
            )

    # ----- quick-add -----
    def quick_add_at(self, scene_pos: QPointF) -> None:
        """The quick-add box at ``scene_pos``; Enter adds the chosen kind there."""
        w = self.window
        w._quick_pos = scene_pos
        viewer = w.canvas.viewer
        at = viewer.mapToGlobal(viewer.mapFromScene(scene_pos))
        screen = QGuiApplication.screenAt(at) or w.screen()
        area = screen.availableGeometry()  # near the bottom or right edge: kept on screen
        size = w.quick_add.size()
        at.setX(max(area.left(), min(at.x(), area.right() - size.width())))
        at.setY(max(area.top(), min(at.y(), area.bottom() - size.height())))
        w.quick_add.move(at)
        w.quick_add.popup()
