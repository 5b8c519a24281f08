"""The main window: canvas in the middle, palette, properties, runs and lineage around it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QWidget,
)

from twinflow_studio.project import Node, Port, Project, TwinFileError, get_kind, validate
from twinflow_studio.project.clipboard import (
    ClipboardError,
    copy_nodes,
    nodes_for_paste,
    parse_clipboard,
)
from twinflow_studio.project.identifiers import unique_id
from twinflow_studio.project.layout import layered_positions
from twinflow_studio.project.lineage_settings import lineage_settings
from twinflow_studio.trust import TrustStore, inert_lineage, own_run_store
from twinflow_studio.ui import placement
from twinflow_studio.ui.autosave import Autosaver, studio_home
from twinflow_studio.ui.badges import BadgeBoard
from twinflow_studio.ui.calibration_panel import CalibrationPanel
from twinflow_studio.ui.canvas import Canvas
from twinflow_studio.ui.composition import CompositionActions
from twinflow_studio.ui.context_menus import CanvasMenus
from twinflow_studio.ui.document import Document
from twinflow_studio.ui.figure_preview import SETTING as PREVIEW_SETTING
from twinflow_studio.ui.figure_preview import FigurePreviews
from twinflow_studio.ui.find_node import FindNode
from twinflow_studio.ui.forms.triggers import TriggersEditor
from twinflow_studio.ui.heap import settle_heap
from twinflow_studio.ui.help_dialogs import show_about, show_shortcuts
from twinflow_studio.ui.icons import StudioIcons
from twinflow_studio.ui.lineage_panel import LineagePanel
from twinflow_studio.ui.lineage_source import (
    GraphLineage,
    LineageSource,
    PreferGraph,
    RunStoreLineage,
)
from twinflow_studio.ui.live import LiveController
from twinflow_studio.ui.live_panel import LivePanel
from twinflow_studio.ui.node_console import NodeConsole
from twinflow_studio.ui.palette import PART_PREFIX, Palette, QuickAdd
from twinflow_studio.ui.port_legend import show_legend
from twinflow_studio.ui.problem_text import describe as describe_problem
from twinflow_studio.ui.prompts import Prompter
from twinflow_studio.ui.properties import PropertiesPanel
from twinflow_studio.ui.quit_guard import QuitGuard
from twinflow_studio.ui.resources import ResourcesEditor
from twinflow_studio.ui.run_outputs import RunOutputs
from twinflow_studio.ui.run_panel import RunPanel
from twinflow_studio.ui.runs import RunController
from twinflow_studio.ui.subgraph_editor import CanvasArea
from twinflow_studio.ui.subgraph_states import SubgraphStates
from twinflow_studio.ui.themes import apply_theme, theme
from twinflow_studio.ui.toolbar import fit_progress_text, fixed_undo_actions
from twinflow_studio.ui.trust_gate import TrustGate
from twinflow_studio.ui.viewers import open_output
from twinflow_studio.ui.viewers.reading import UnreadableOutput, read_tail
from twinflow_studio.ui.welcome import WelcomePage, copy_example, list_examples
from twinflow_studio.ui.window_fit import WindowFit, scrolled

APP_NAME = "TwinFlow Studio"
CONSOLE_TAIL = 256 << 10
MAX_RECENT = 10
AUTOSAVE_MS = 15000
MESSAGE_TIMEOUT_MS = 12000  # status bar messages go stale

RUN_LOCK = (
    "A run is in progress: adding, deleting, connecting and pasting nodes and editing ports "
    "wait until it ends (or cancel it, Ctrl+.)"
)

DEFAULT_PORTS: dict[str, tuple[list[Port], list[Port]]] = {
    "python": ([], [Port("out", "json")]),
    "container": ([], [Port("out", "file")]),
}


class MainWindow(QMainWindow):
    def __init__(
        self,
        prompter: Prompter | None = None,
        home: Path | None = None,
        autosave_ms: int = AUTOSAVE_MS,
        trust: TrustStore | None = None,
    ) -> None:
        super().__init__()
        self.home = home or studio_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.settings = QSettings(str(self.home / "settings.ini"), QSettings.Format.IniFormat)
        self.prompter = prompter or Prompter(self)
        self.trust = TrustGate(self.prompter, trust)
        self._trust_known: tuple[tuple[Any, ...], bool] | None = None
        self.autosaver = Autosaver(self.home)
        self.doc = Document()
        self.runs = RunController(self)
        self.quit_guard = QuitGuard(self)
        self.canvas = Canvas(self.doc)
        # At launch (start) the welcome page stands in for the canvas until a project is
        # opened or begun.
        self.welcome = WelcomePage()
        self._welcome_wanted = False
        self.central = QStackedWidget()
        # Scrolled, so the welcome page never makes the window taller than a small screen.
        self.welcome_area = scrolled(self.welcome)
        self.central.addWidget(self.welcome_area)
        self.canvas_area = CanvasArea(self.canvas)  # and the subgraph bodies opened in it
        self.central.addWidget(self.canvas_area)
        self.setCentralWidget(self.central)
        self.palette_panel = Palette()
        self.properties = PropertiesPanel(self.doc)
        self.resources = ResourcesEditor(self.doc)
        self.triggers = TriggersEditor(self.doc)
        self.run_panel = RunPanel(self.runs)
        self.lineage = LineagePanel()
        self.calibration = CalibrationPanel()
        self.live = LiveController(self)
        self.live_panel = LivePanel()
        self.console = NodeConsole(self.runs, self._stored_log)
        self.quick_add = QuickAdd(self)
        self.find_node = FindNode(self)
        self.figure_previews = FigurePreviews(
            self.canvas,
            self.run_outputs,
            self.settings.value(PREVIEW_SETTING, True, type=bool),
        )
        self._lineage_store: Any = None
        self._lineage_due = False  # the project's lineage graph is opened after first paint
        self.lineage_refresh: asyncio.Future[Any] | None = None
        self._closed = False  # a run cancelled on close still reports its end afterwards
        self._lineage_unsubscribe: Any = None
        self.docks: dict[str, QDockWidget] = {}
        self._dock("palette", "Palette", self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock(
            "properties", "Properties", self.properties, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self._dock(
            "resources",
            "Profiles && targets",
            self.resources,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self._dock("triggers", "Triggers", self.triggers, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("lineage", "Lineage", self.lineage, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock(
            "calibration", "Calibration", self.calibration, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self._dock("runs", "Run", self.run_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._dock("live", "Live", self.live_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.run_panel.tabs.addTab(self.console, "Console")  # next to the run log
        for name in ("resources", "triggers", "lineage", "calibration"):
            self.tabifyDockWidget(self.docks["properties"], self.docks[name])
        self.tabifyDockWidget(self.docks["runs"], self.docks["live"])
        self.docks["live"].hide()  # shown on going live (or from View): the layout stays as it was
        self.docks["properties"].raise_()
        self.status_label = QLabel()
        self.message_timeout_ms = MESSAGE_TIMEOUT_MS
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(lambda: self.show_message_cleared())
        self.progress = QProgressBar()
        fit_progress_text(self.progress, "0000/0000 done, 000 running")
        self.progress.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self._build_actions()
        self._wire()
        self.icons = StudioIcons(self)
        self.theme = str(self.settings.value("theme", "dark"))
        self.set_theme(self.theme)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
        self.window_fit = WindowFit(self)  # inside the screen; docks give way to the canvas
        self.canvas.setFocus()  # not the palette's search: F, Tab, Delete act on the canvas
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()

    # ----- construction -----
    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")  # saveState needs names
        # Panels with tall content scroll, so the window still fits a small screen.
        dock.setWidget(widget if name in ("palette", "properties") else scrolled(widget))
        self.addDockWidget(area, dock)
        self.docks[name] = dock

    def _action(self, menu: object, text: str, slot: object, shortcut: object = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)  # type: ignore[attr-defined]
        self.actions_by_name[text.replace("…", "").replace("&", "")] = action
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&New", self.new_project, QKeySequence.StandardKey.New)
        self._action(f, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &recent")
        self.examples_menu = f.addMenu("&Examples")
        for example in list_examples():
            action = self.examples_menu.addAction(example.name)
            action.setToolTip(example.description)
            action.triggered.connect(lambda _c=False, n=example.name: self.open_example(n))
        self._action(f, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(f, "Save &as…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = bar.addMenu("&Edit")
        undo = self.doc.undo.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.doc.undo.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Y")])
        e.addActions([undo, redo])
        e.addSeparator()
        self._action(e, "Cu&t", self.cut, QKeySequence.StandardKey.Cut)
        self._action(e, "&Copy", self.copy, QKeySequence.StandardKey.Copy)
        self._action(e, "&Paste", self.paste, QKeySequence.StandardKey.Paste)
        self._action(
            e,
            "&Delete",
            self.delete_selection,
            [QKeySequence.StandardKey.Delete, QKeySequence("Backspace")],
        )
        self._action(
            e,
            "Select &all",
            lambda: self.edit_canvas.select(list(self.edit_doc.project.nodes)),
            QKeySequence.StandardKey.SelectAll,
        )
        e.addSeparator()
        self._action(e, "Add &node…", self.show_quick_add, QKeySequence("Tab"))
        self._action(e, "&Find node…", self.show_find_node, QKeySequence.StandardKey.Find)
        self._action(e, "&Group into backdrop", self.group_selection, QKeySequence("Ctrl+G"))
        self._action(e, "Remove backdrop", self.remove_backdrops, QKeySequence("Ctrl+Shift+G"))
        self._composition_menu = e.addMenu("C&omposition")
        v = bar.addMenu("&View")
        self._action(v, "Zoom to &fit", lambda: self.edit_canvas.zoom_to_fit(), QKeySequence("F"))
        self._action(v, "&Auto-layout", self.auto_layout, QKeySequence("Ctrl+L"))
        self._action(
            v,
            "Toggle &theme",
            lambda: self.set_theme("light" if self.theme == "dark" else "dark"),
            QKeySequence("Ctrl+T"),
        )
        previews = self._action(
            v, "Figure &previews", lambda: self.set_figure_previews(previews.isChecked())
        )
        previews.setCheckable(True)
        previews.setChecked(self.figure_previews.enabled)
        self._action(v, "Port &types…", lambda: show_legend(self))
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        r = bar.addMenu("&Run")
        self._action(r, "&Run", self.run_all, QKeySequence("F5"))
        self._action(r, "Run &selected", self.run_selected, QKeySequence("Shift+F5"))
        self._action(r, "&Cancel run", self.runs.cancel, QKeySequence("Ctrl+."))
        self._action(r, "&Validate", self.validate_now, QKeySequence("F7"))
        self._action(r, "&Trust project…", self.trust_project)
        r.addSeparator()
        go_live = self._action(r, "Go &live", self.toggle_live)
        go_live.setCheckable(True)
        self._action(r, "Open &outputs", self.open_selected_outputs, QKeySequence("Ctrl+Shift+O"))
        h = bar.addMenu("&Help")
        self._action(
            h,
            "&Keyboard shortcuts",
            lambda: show_shortcuts(self, self.actions_by_name),
            QKeySequence("Ctrl+/"),
        )
        self._action(h, "&About TwinFlow Studio", lambda: show_about(self))
        tools = self.addToolBar("Main")
        tools.setObjectName("toolbar_main")
        for name in (
            "New",
            "Open",
            "Save",
            "Run",
            "Run selected",
            "Cancel run",
            "Go live",
            "Zoom to fit",
            "Auto-layout",
        ):
            tools.addAction(self.actions_by_name[name])
        # Fixed labels: the menu's "Undo <what>" would make the toolbar jump at every edit;
        # through the document, which refuses a structural undo/redo while a run goes on.
        tools.insertActions(
            self.actions_by_name["Run"],
            fixed_undo_actions(self, self.doc.undo, self.doc.undo_step, self.doc.redo_step),
        )
        for action, step in ((undo, self.doc.undo_step), (redo, self.doc.redo_step)):
            action.triggered.disconnect()  # the menu's and the shortcuts' steps too
            action.triggered.connect(lambda _checked=False, step=step: step())
        self._fill_recent()

    def _wire(self) -> None:
        self.composition = CompositionActions(self, self._composition_menu)
        # Badges (ui/badges.py) and the canvas's right-click menus (ui/context_menus.py).
        self.badges = BadgeBoard(self.canvas, self.doc, self._project_dir, self._readable_run_store)
        self.badges.setParent(self)
        self.installEventFilter(self.badges)  # rechecked when the window is active again
        self.runs.states.connect(self.badges.set_run_states)
        self.runs.finished.connect(self.badges.run_finished)
        self.canvas_menus = CanvasMenus(self)
        self.doc.dirtyChanged.connect(lambda _d: self._update_title())
        self.doc.pathChanged.connect(self._update_title)
        self.doc.reset.connect(self._document_reset)
        # The run works on a copy taken at its start; while it runs, the graph on screen
        # keeps that structure, so that what it reports is about the nodes that are shown.
        self.doc.structure_lock = lambda: RUN_LOCK if self.runs.busy else None
        self.doc.refused.connect(self.show_message)
        self.canvas.selectionChanged.connect(self._selection_changed)
        self.canvas.message.connect(self.show_message)
        self.canvas.kindDropped.connect(self.add_node)
        self.canvas.nodeActivated.connect(lambda n: self.docks["properties"].raise_())
        self.canvas.groupActivated.connect(self.rename_group)
        self.palette_panel.kindActivated.connect(
            lambda k: self.add_node(k, self.edit_canvas.placement_anchor())
        )
        self.quick_add.kindChosen.connect(lambda k: self.add_node(k, self._quick_pos))
        self.runs.states.connect(self.canvas.set_states)
        self.subgraph_states = SubgraphStates(self.runs, lambda: self.canvas)
        self.runs.progress.connect(self._progress)
        self.runs.started.connect(lambda rid: self.show_message(f"Run {rid} started"))
        self.runs.finished.connect(self._run_finished)
        self.runs.failedToStart.connect(self._run_refused)
        cancel = self.actions_by_name["Cancel run"]
        cancel.setEnabled(False)  # nothing to cancel until a run is asked for
        self.runs.busyChanged.connect(cancel.setEnabled)
        self.run_panel.nodeRequested.connect(self.point_at_node)
        # A problem points at a node: show that node's properties, whatever tab was on top.
        self.run_panel.nodeRequested.connect(lambda _n: self.docks["properties"].raise_())
        self.run_panel.describe = lambda p: describe_problem(p, self.doc.project)
        self.run_panel.node_label = lambda n: (
            self.doc.project.nodes[n].label if n in self.doc.project.nodes else n
        )
        self.properties.message.connect(self.show_message)
        self.lineage.nodeSelected.connect(self.point_at_node)
        self.live.changed.connect(self._live_changed)
        self.live_panel.toggleRequested.connect(self.toggle_live)
        self.live_panel.fireRequested.connect(self.live.fire_now)
        self.live_timer = QTimer(self)  # next-fire times and the queue move on their own
        self.live_timer.setInterval(1000)
        self.live_timer.timeout.connect(self._live_changed)
        self.canvas.outputActivated.connect(lambda n, p: open_output(self, n, p))
        self.lineage.outputActivated.connect(lambda r, n, p: open_output(self, n, p, r))
        self.find_node.nodeChosen.connect(self.point_at_node)
        self.doc.nodesAdded.connect(lambda _ids: self._update_welcome())
        self.welcome.newRequested.connect(self.new_project)
        self.welcome.openRequested.connect(self.open_dialog)
        self.welcome.exampleRequested.connect(self.open_example)
        self.welcome.recentRequested.connect(lambda p: self.open_path(Path(p)))
        self._update_welcome()

    # ----- the graph being edited: the project's, or a subgraph body open on the canvas -----
    @property
    def edit_doc(self) -> Document:
        return self.composition.bodies.doc

    @property
    def edit_canvas(self) -> Canvas:
        return self.composition.bodies.canvas

    # ----- titles, messages -----
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.title}{'*' if self.doc.dirty else ''} — {APP_NAME}")

    def show_message(self, text: str) -> None:
        """Show ``text`` in the status bar until the next message or the timeout."""
        self.status_label.setText(text)
        self.status_label.setToolTip(text)
        self._message_timer.start(self.message_timeout_ms)

    def show_message_cleared(self) -> None:
        self.status_label.clear()
        self.status_label.setToolTip("")

    def set_theme(self, name: str) -> None:
        self.theme = name
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.canvas.set_theme(theme(name))
        self.composition.bodies.set_theme(theme(name))
        self.calibration.set_theme(theme(name))
        self.icons.refresh()  # drawn in the new palette's colours
        self.settings.setValue("theme", name)

    # ----- files -----
    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded)."""
        if self.runs.busy:  # its events would paint the next project
            self.show_message("A run is in progress; wait for it or cancel it (Ctrl+.) first")
            return False
        if not self.doc.dirty:
            self._forget_autosave()  # edits undone back to the saved state
            return True
        answer = self.prompter.save_changes(self.doc.title)
        if answer == "save":
            return self.save()
        if answer == "discard":
            self._forget_autosave()  # else the next start offers back what was discarded
            return True
        return False

    def new_project(self) -> None:
        if self.maybe_save():
            self._forget_autosave()
            self._welcome_wanted = False
            self.doc.replace(Project(name="untitled"), None)
            self._update_welcome()

    def _update_welcome(self) -> None:
        """The welcome page while nothing is open (no file, no node, New not chosen)."""
        if self.doc.path is not None or self.doc.project.nodes:
            self._welcome_wanted = False
        self.welcome.set_recent(self.recent_files())
        self.central.setCurrentWidget(
            self.welcome_area if self._welcome_wanted else self.canvas_area
        )

    def open_example(self, name: str) -> Path | None:
        """Copy the example ``name`` into a folder the user chooses and open the copy."""
        example = next((e for e in list_examples() if e.name == name), None)
        if example is None:
            self.show_message(f"No example named {name!r}")
            return None
        if not self.maybe_save():
            return None
        folder = self.prompter.choose_folder(
            f"Copy the example {name!r} into which folder?", str(Path.home())
        )
        if folder is None:
            return None
        try:
            twin = copy_example(example, Path(folder))
        except OSError as exc:
            self.prompter.error("Cannot copy the example", f"{folder}: {exc}")
            return None
        if not self.open_path(twin, ask=False):
            return None
        self.show_message(f"Opened a copy of the example {name!r} in {twin.parent}")
        return twin

    def open_dialog(self) -> None:
        start = str(self.doc.path.parent) if self.doc.path else ""
        path = self.prompter.open_path(start)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path, ask: bool = True) -> bool:
        if ask and not self.maybe_save():
            return False
        if self._recover_file(Path(path)):
            return True
        try:
            self.doc.open(Path(path))
        except (TwinFileError, OSError) as exc:
            self.prompter.error("Cannot open project", str(exc))
            self.show_message(f"Cannot open {path}: {exc}")
            return False
        self._add_recent(Path(path))
        self.show_message(f"Opened {path} ({len(self.doc.project.nodes)} nodes)")
        return True

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        path = self.prompter.save_path(str(self.doc.path or ""))
        return self._save_to(path) if path is not None else False

    def _save_to(self, path: Path) -> bool:
        previous = self.doc.path
        self.doc.project.layout["view"] = self.canvas.view_state()
        try:
            self.doc.save(path)
        except OSError as exc:
            self.prompter.error("Cannot save project", f"{path}: {exc}")
            return False
        self.autosaver.discard(previous)
        self.autosaver.discard(path)
        self.trust.moved(previous, path, self.doc.project)
        self._add_recent(path)
        self.show_message(f"Saved {path}")
        return True

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        if hasattr(self, "welcome"):
            self.welcome.set_recent(self.recent_files())
        self.recent_menu.clear()
        for p in self.recent_files():
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _c=False, path=p: self.open_path(Path(path)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # ----- autosave -----
    def autosave(self) -> Path | None:
        if not self.doc.dirty:
            return None
        return self.autosaver.write(self.doc.project, self.doc.path)

    def _forget_autosave(self) -> None:
        self.autosaver.discard(self.doc.path)

    def start(self, project_path: Path | None) -> None:
        """What the studio does at launch: open the file named on the command line (its own
        autosave is offered, saying so), else offer what a crash left behind."""
        if project_path is not None:
            self.open_path(Path(project_path), ask=False)
        elif not self.offer_recovery():
            self._welcome_wanted = True
            self._update_welcome()

    def _recover_file(self, path: Path) -> bool:
        """Offer the autosave of ``path`` (unsaved edits a crash left); True when taken."""
        rec = self.autosaver.pending_for(path)
        if rec is None:
            return False
        if not self.prompter.recover(f"the unsaved changes to {path}, instead of the saved file"):
            rec.file.unlink(missing_ok=True)
            return False
        self.doc.replace(rec.project, Path(path), recovered=True)
        self._add_recent(Path(path))
        self.show_message(f"Recovered unsaved changes to {path}; save to keep them")
        return True

    def offer_recovery(self) -> bool:
        """Offer the autosaves a crash left behind; True when one was recovered."""
        for rec in self.autosaver.pending():
            what = str(rec.original) if rec.original else f"untitled project {rec.project.name!r}"
            if self.prompter.recover(what):
                self.doc.replace(rec.project, rec.original, recovered=True)
                self.show_message(f"Recovered unsaved work on {what}; save to keep it")
                return True
            rec.file.unlink(missing_ok=True)
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self.quit_guard.allow_close() or not self.maybe_save():
            event.ignore()
            return
        if self.live.stop_event is not None:
            self.live.stop_event.set()  # disarm: no trigger starts a run after this
        self._closed = True
        self.runs.cancel()
        if self.lineage_refresh is not None:
            self.lineage_refresh.cancel()
        self._lineage_due = False
        self._close_lineage()
        self._forget_autosave()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.sync()
        event.accept()

    # ----- editing -----
    def add_node(self, kind_name: str, pos: QPointF | None = None) -> str | None:
        if kind_name.startswith(PART_PREFIX):
            p = pos if pos is not None else self.edit_canvas.scene_cursor_pos()
            return self.composition.add(kind_name, (p.x(), p.y()))
        kind = get_kind(kind_name)
        if kind is None:
            self.show_message(f"Unknown node kind {kind_name!r}")
            return None
        node_id = unique_id(kind.name, set(self.edit_doc.project.nodes))
        inputs, outputs = DEFAULT_PORTS.get(kind.name, ([], [])) if kind.user_ports else ([], [])
        node = Node(node_id, kind.name, name="", inputs=list(inputs), outputs=list(outputs))
        p = pos if pos is not None else self.edit_canvas.scene_cursor_pos()
        size = placement.estimated_size(len(node.input_ports()), len(node.output_ports()))
        spot = placement.free_spot((p.x(), p.y()), size, self.edit_canvas.node_rects())
        if not self.edit_doc.add_nodes([node], positions={node_id: spot}, text=f"Add {kind.label}"):
            return None
        self.edit_canvas.select([node_id])
        return node_id

    def show_find_node(self) -> None:
        self.find_node.move(self.canvas.mapToGlobal(self.canvas.rect().center()))
        self.find_node.popup(self.doc.project)

    def open_selected_outputs(self) -> object:
        ids = self.canvas.selected_ids()
        if len(ids) != 1:
            self.show_message("Select one node to open its outputs")
            return None
        return open_output(self, ids[0])

    def run_outputs(self) -> RunOutputs:
        """The project's outputs in the run store the panels read (its own until trusted)."""
        project = self.doc.project
        ports = {(n.id, p.name): p.type for n in project.nodes.values() for p in n.output_ports()}
        source = RunStoreLineage(project, self._project_dir(), self._readable_run_store())
        return RunOutputs(source, ports)

    def _stored_log(self, node_id: str) -> tuple[str, str] | None:
        found = self.run_outputs().log_file(node_id)
        if found is None:
            return None
        run_id, path = found
        try:
            data, more = read_tail(path, CONSOLE_TAIL)
        except UnreadableOutput:
            return None
        text = data.decode("utf-8", errors="replace")
        return f"run {run_id}" + (" (its last lines)" if more else ""), text

    def set_figure_previews(self, enabled: bool) -> None:
        self.settings.setValue(PREVIEW_SETTING, enabled)
        self.figure_previews.set_enabled(enabled)

    def show_quick_add(self) -> None:
        self._quick_pos = self.edit_canvas.scene_cursor_pos()
        local = self.edit_canvas.viewer.mapFromScene(self._quick_pos)
        self.quick_add.move(self.edit_canvas.viewer.mapToGlobal(local))
        self.quick_add.popup()

    def delete_selection(self) -> None:
        if self.edit_canvas.selected_backdrops() and not self.edit_canvas.selected_ids():
            self.remove_backdrops()
            return
        self.edit_doc.remove_nodes(self.edit_canvas.selected_ids())

    def copy(self) -> str | None:
        ids = self.edit_canvas.selected_ids()
        if not ids:
            return None
        text = copy_nodes(self.edit_doc.project, ids)
        QApplication.clipboard().setText(text)
        return text

    def cut(self) -> None:
        if self.copy() is not None:
            self.edit_doc.remove_nodes(self.edit_canvas.selected_ids())

    def paste(self) -> list[str]:
        try:
            data = parse_clipboard(QApplication.clipboard().text())
        except ClipboardError:
            self.show_message("The clipboard holds no TwinFlow nodes")
            return []
        try:
            nodes, edges, positions, profiles = nodes_for_paste(
                self.edit_doc.project, data, (0.0, 0.0)
            )
        except ClipboardError as exc:
            self.show_message(f"Cannot paste: {exc}")
            return []
        # The copy goes beside its original (or whatever is there), never on top of it.
        block = [
            (
                *positions[n.id],
                *placement.estimated_size(len(n.input_ports()), len(n.output_ports())),
            )
            for n in nodes
        ]
        dx, dy = placement.free_offset(block, self.edit_canvas.node_rects(), (40.0, 40.0))
        positions = {n: (x + dx, y + dy) for n, (x, y) in positions.items()}
        if not self.edit_doc.add_nodes(
            nodes, edges, positions, f"Paste {len(nodes)} node(s)", profiles
        ):
            return []
        ids = [n.id for n in nodes]
        self.edit_canvas.select(ids)
        return ids

    def auto_layout(self) -> None:
        selected = self.edit_canvas.selected_ids()
        chosen = set(selected) if len(selected) > 1 else None
        positions = layered_positions(self.edit_doc.project, chosen)
        if chosen:  # keep a laid-out selection where it was
            ox = min(self.edit_doc.position(n)[0] for n in chosen)
            oy = min(self.edit_doc.position(n)[1] for n in chosen)
            positions = {n: (x + ox, y + oy) for n, (x, y) in positions.items()}
        self.edit_doc.move_nodes(positions)
        self.edit_canvas.zoom_to_fit()

    def group_selection(self, title: str | None = None) -> str | None:
        """Frame the selected nodes in a titled group (asks for the title when none given)."""
        ids = self.edit_canvas.selected_ids()
        frame = self.edit_canvas.frame_around(ids)
        if frame is None:
            self.show_message("Select nodes to group into a backdrop")
            return None
        existing = self.edit_doc.backdrops()
        if title is None:
            title = self.prompter.text("Group", "Title of the group:", f"Group {len(existing) + 1}")
            if title is None:
                return None
        bd_id = unique_id("group", {str(b["id"]) for b in existing})
        x, y, w, h = frame
        existing.append(
            {
                "id": bd_id,
                "title": title.strip() or "Group",
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "nodes": sorted(ids),
            }
        )
        self.edit_doc.set_backdrops(existing, "Group into backdrop")
        return bd_id

    def rename_group(self, group_id: str) -> None:
        groups = [dict(g) for g in self.edit_doc.backdrops()]  # edited copies, not the document's
        for group in groups:
            if str(group["id"]) == group_id:
                title = self.prompter.text("Group", "Title of the group:", str(group["title"]))
                if title is not None and title.strip() and title.strip() != group["title"]:
                    group["title"] = title.strip()
                    self.edit_doc.set_backdrops(groups, "Rename group")
                return

    def remove_backdrops(self) -> None:
        chosen = set(self.edit_canvas.selected_backdrops())
        if chosen:
            self.edit_doc.set_backdrops(
                [b for b in self.edit_doc.backdrops() if str(b["id"]) not in chosen],
                "Remove backdrop",
            )

    def _selection_changed(self, ids: list[str]) -> None:
        node_id = ids[0] if len(ids) == 1 else None
        self.properties.show_selection(ids)
        self.lineage.show_node(node_id)
        if node_id and node_id in self.run_panel.lines:
            self.run_panel.show_node_log(node_id)
        if node_id:
            self.console.show_node(node_id)
        self.calibration.show_node(
            self.doc.project, self._project_dir(), node_id, self._readable_run_store()
        )

    def _document_reset(self) -> None:
        if self.live.live:  # live mode belongs to the project it was armed for
            asyncio.ensure_future(self.live.stop())
        self.canvas.clear_states()
        # Every per-project view starts empty: nothing of the previous project stays shown.
        self.run_panel.reset()
        self.console.reset()
        for dialog in getattr(self, "output_windows", {}).values():
            dialog.close()
        self.__dict__.pop("output_windows", None)
        self._update_welcome()
        QTimer.singleShot(0, self, self.figure_previews.refresh)
        QTimer.singleShot(0, self, settle_heap)  # after the first paint (see ui/heap.py)
        self.runs.last_summary, self.runs.history = None, {}
        self.progress.hide()
        self._selection_changed([])
        # Opening the lineage graph (an import and a database) would delay the first paint
        # of the project; it waits for the next turn of the event loop, or for whatever
        # needs it first (a run, a read of lineage_store).
        self._close_lineage()
        self.lineage.set_source(None)
        self._lineage_due = True
        QTimer.singleShot(0, self, self._ensure_lineage)
        self.resources.load()

    # ----- lineage -----
    @property
    def lineage_store(self) -> Any:
        """The open lineage graph of the project, or None (no graph: the run store is read)."""
        self._ensure_lineage()
        return self._lineage_store

    def _ensure_lineage(self) -> None:
        if self._lineage_due:
            self._lineage_due = False
            self._open_lineage()
            self._recover_interrupted()
            self.lineage.set_source(self.lineage_source())

    def _recover_interrupted(self) -> None:
        """Runs of this project whose process was killed are marked ``interrupted`` (run.json
        and, the graph being open, lineage); else the next run does it."""
        from twinflow_studio.engine.run_lock import default_store_root

        root = default_store_root(self._project_dir(), self.doc.project.settings.get("run_store"))
        if self._lineage_store is not None and root is not None and root.is_dir():
            self.runs.engine.recover_interrupted(root)

    def _open_lineage(self) -> None:
        """Record the studio's runs in the project's lineage graph (settings.lineage), and
        read the panel from it; without one, the panel reads the run store."""
        self._close_lineage()
        settings = lineage_settings(self.doc.project.settings)
        if self.doc.path is None or settings is None:
            return
        if not inert_lineage(self._project_dir(), settings) and not self._trusted():
            # Opening is inert: a database the project names waits until it is trusted.
            self.show_message("Lineage graph not opened until the project is trusted")
            return
        try:
            from twinflow_studio.lineage import open_lineage

            store = open_lineage(self._project_dir(), settings).start()
        except Exception as exc:  # a bad config or backend must not stop the editor
            self.show_message(f"Lineage graph unavailable ({exc}); showing the run store")
            return
        self._lineage_store = store
        self._lineage_unsubscribe = self.runs.engine.subscribe(store.subscriber)

    def _close_lineage(self) -> None:
        if self._lineage_unsubscribe is not None:
            self._lineage_unsubscribe()
            self._lineage_unsubscribe = None
        if self._lineage_store is not None:
            try:
                self._lineage_store.close(timeout=5.0)
            except Exception:  # what is not delivered stays in the outbox
                pass
            self._lineage_store = None

    def _trusted(self) -> bool:
        # Asked on every selection (panels): answered once per state of the document.
        key = (id(self.doc.project), self.doc.undo.index(), self.doc.path)
        if self._trust_known is None or self._trust_known[0] != key:
            trusted = self.trust.is_trusted(self.doc.project, self.doc.path, self._project_dir())
            self._trust_known = (key, trusted)
        return self._trust_known[1]

    def _readable_run_store(self) -> Path | None:
        """The run store the panels read: the project's setting once it is trusted, its own
        ``.twinflow/`` until then."""
        return None if self._trusted() else own_run_store(self._project_dir())

    def lineage_source(self) -> LineageSource:
        store = RunStoreLineage(self.doc.project, self._project_dir(), self._readable_run_store())
        if self.lineage_store is None:
            return store
        return PreferGraph(GraphLineage(self._lineage_store.queries, self.doc.project.name), store)

    async def _refresh_lineage_after_run(self) -> None:
        if self.lineage_store is not None:
            try:
                await self.lineage_store.aflush(5.0)
            except Exception as exc:
                self.show_message(f"Lineage graph not updated yet: {exc}")
        if self._closed or not shiboken6.isValid(self.lineage):
            return  # the window went away while the graph was flushed
        self.lineage.set_source(self.lineage_source())
        self._selection_changed(self.canvas.selected_ids())

    def point_at_node(self, node_id: str) -> None:
        self.canvas.select([node_id], center=True)

    # ----- runs -----
    def _project_dir(self) -> Path:
        if self.doc.path is not None:
            return self.doc.path.parent
        scratch = Path(tempfile.gettempdir()) / "twinflow-studio-scratch"
        scratch.mkdir(exist_ok=True)
        return scratch

    def run_all(self) -> object:
        return self._start(None)

    def run_selected(self) -> object:
        ids = self.canvas.selected_ids()
        if not ids:
            self.show_message("Select the nodes to run")
            return None
        return self._start(ids)

    def _start(self, only: list[str] | None) -> object:
        if self.runs.busy:
            self.show_message("A run is already in progress")
            return None
        if not self.trust_project(ask_again=False):
            return None
        self._ensure_lineage()  # before the run starts, so that the graph records it
        self.canvas.clear_states()
        self.canvas.set_states(
            {n: ("pending", "pending") for n in (only or self.doc.project.nodes)}
        )
        self.progress.setRange(0, max(1, len(self.doc.project.nodes)))
        self.progress.setValue(0)
        self.progress.show()
        return self.runs.start(self.doc.project, self.doc.path, self._project_dir(), only)

    def trust_project(self, ask_again: bool = True) -> bool:
        """Ask (once) whether the project may do what running it needs; a new yes opens the
        lineage graph it names."""
        held_back = self._lineage_store is None and not self._trusted()
        allowed = self.trust.allow_run(
            self.doc.project, self.doc.path, self._project_dir(), ask_again=ask_again
        )
        self._trust_known = None
        if not allowed:
            self.show_message(self.trust.last_message)
            return False
        if held_back:
            self._lineage_due = True
            self._ensure_lineage()
        if ask_again and self.trust.last_message:
            self.show_message(self.trust.last_message)
        return True

    def _progress(self, done: int, total: int, running: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total} done, {running} running")
        fit_progress_text(self.progress, self.progress.text())

    def _run_finished(self, summary: dict) -> None:
        self.progress.hide()
        self.show_message(
            f"Run {summary.get('run_id')} {summary.get('status')} in "
            f"{summary.get('duration_s', 0):.2f} s"
        )
        failed = summary.get("failed") or []
        if failed:
            self.point_at_node(failed[0]["node"])
        self.figure_previews.refresh(summary)
        # The lineage and calibration panels re-read once the lineage writer has delivered
        # this run; that happens after the run, off the event it arrives in.
        if self._closed:
            return
        if self.lineage_refresh is not None:
            self.lineage_refresh.cancel()  # only the latest is kept, to be cancelled on close
        self.lineage_refresh = asyncio.ensure_future(self._refresh_lineage_after_run())
        if self.doc.path is not None:
            self.live_panel.show_status(self.doc.project, self._project_dir())

    def _run_refused(self, message: str, problems: list) -> None:
        self.progress.hide()
        self.canvas.clear_states()
        self.show_message(message)
        with_node = [p for p in problems if p.node_id]
        if with_node:
            self.point_at_node(with_node[0].node_id)

    # ----- live mode (ui/live.py) -----
    def toggle_live(self) -> object:
        """Go live, or stop; returns the stop task when stopping (tests await it)."""
        if self.live.live:
            return asyncio.ensure_future(self.live.stop())
        problem = self.live.go_live()
        if problem:
            self.show_message(problem)
        else:
            self.show_message("Live: the project's triggers are armed")
            self.docks["live"].show()
            self.docks["live"].raise_()
        self._live_changed()
        return None

    def _live_changed(self) -> None:
        live = self.live.live
        self.actions_by_name["Go live"].setChecked(live)
        if live and not self.live_timer.isActive():
            self.live_timer.start()
        elif not live:
            self.live_timer.stop()
        self.live_panel.show_live(self.live, self.doc.project)

    def validate_now(self) -> list:
        from twinflow_studio.engine.preflight import preflight

        problems = validate(self.doc.project) + preflight(self.doc.project, self._project_dir())
        self.run_panel.show_problems(problems)
        warnings = sum(p.severity == "warning" for p in problems)
        counts = {"problem(s)": len(problems) - warnings, "warning(s)": warnings}
        said = [f"{n} {what}" for what, n in counts.items() if n]
        self.show_message(", ".join(said) if said else "No problems")
        if problems and problems[0].node_id:
            self.point_at_node(problems[0].node_id)
        return problems
