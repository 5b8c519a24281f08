"""The welcome page, the shipped examples (copied before they open), recent projects,
Find node (Ctrl+F) and the Help menu."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from ui_helpers import chain_project, run_to_end

from twinflow_studio.ui.find_node import matching_nodes
from twinflow_studio.ui.help_dialogs import shortcut_rows
from twinflow_studio.ui.welcome import DESCRIPTIONS, examples_root, list_examples


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_welcome_page_opens_a_copy_of_an_example(make_window, qt_loop, tmp_path):
    chosen = tmp_path / "my-projects"
    window = make_window(choose_folder=[chosen])
    window.start(None)
    assert window.central.currentWidget() is window.welcome_area
    names = [window.welcome.examples.item(i).text() for i in range(window.welcome.examples.count())]
    assert names[0].startswith("hello\n")  # the one that needs no Docker comes first
    assert {e.name for e in list_examples()} >= {"hello", "container-chain", "living-twin"}
    original = examples_root() / "hello"
    before = tree_digest(original)

    row = next(i for i, n in enumerate(names) if n.startswith("hello"))
    window.welcome.examples.setCurrentRow(row)
    QTest.mouseClick(window.welcome.example_button, Qt.MouseButton.LeftButton)

    copy = chosen / "hello" / "hello.twin"
    assert copy.is_file()  # the copy landed in the chosen folder
    assert window.doc.path == copy  # and it is what is open
    assert window.central.currentWidget() is window.canvas_area
    assert set(window.doc.project.nodes) >= {"sensor", "fit"}
    assert tree_digest(copy.parent) == before  # the same files
    # It runs where it was copied; the shipped example is untouched.
    run_to_end(qt_loop, window.run_all())
    window.runs.flush()
    assert window.runs.last_summary["status"] == "succeeded"
    assert (copy.parent / ".twinflow" / "runs").is_dir()
    assert tree_digest(original) == before
    run_id = window.runs.last_summary["run_id"]
    assert (copy.parent / ".twinflow" / "runs" / run_id / "run.json").is_file()
    assert not (original / ".twinflow" / "runs" / run_id).exists()
    assert str(copy.resolve()) in window.recent_files()

    # File ▸ Examples copies again, beside the first copy, never over it.
    window.prompter.answers["choose_folder"] = [chosen]
    window.examples_menu.actions()[
        [a.text() for a in window.examples_menu.actions()].index("hello")
    ].trigger()
    assert window.doc.path == chosen / "hello-2" / "hello.twin"
    # Cancelling the folder question opens nothing.
    assert window.open_example("hello") is None
    assert window.doc.path == chosen / "hello-2" / "hello.twin"


def test_welcome_page_new_and_recent(make_window, tmp_path):
    twin = chain_project(tmp_path / "chain", "welcome_chain")
    first = make_window()
    assert first.open_path(twin)
    first.doc.undo.setClean()
    first.settings.sync()
    window = make_window()  # the same studio home: it remembers the recent project
    window.start(None)
    assert window.central.currentWidget() is window.welcome_area
    recent = window.welcome.recent
    assert recent.count() == 1 and recent.item(0).data(Qt.ItemDataRole.UserRole) == str(
        twin.resolve()
    )
    recent.itemActivated.emit(recent.item(0))
    assert window.doc.path == twin.resolve() or window.doc.path == twin
    assert window.central.currentWidget() is window.canvas_area

    other = make_window()
    other.start(None)
    QTest.mouseClick(other.welcome.new_button, Qt.MouseButton.LeftButton)
    assert other.central.currentWidget() is other.canvas_area
    assert other.doc.path is None and not other.doc.project.nodes


def test_find_node_selects_and_centres(window, qtbot, tmp_path):
    twin = chain_project(tmp_path / "chain", "find_chain", fail=True)
    assert window.open_path(twin)
    assert [n for n, _ in matching_nodes(window.doc.project, "TO")] == ["total"]
    assert [n for n, _ in matching_nodes(window.doc.project, "")] == ["boom", "make", "total"]
    window.canvas.select(["make"])
    window.actions_by_name["Find node"].trigger()
    popup = window.find_node
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "boo")
    assert popup.list.count() == 1
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert window.canvas.selected_ids() == ["boom"]
    # Centred: the node is in the middle of the view.
    viewer = window.canvas.viewer
    node = window.canvas.node_view("boom").view.sceneBoundingRect().center()
    centre = viewer.mapToScene(viewer.viewport().rect().center())
    assert abs(node.x() - centre.x()) < 5 and abs(node.y() - centre.y()) < 5


def test_help_lists_shortcuts_and_about(window):
    rows = {what: keys for keys, what in shortcut_rows(window.actions_by_name)}
    assert rows["Find node"] == "Ctrl+F"
    assert rows["Run"] == "F5"
    assert "Open outputs" in rows
    window.actions_by_name["Keyboard shortcuts"].trigger()
    window.actions_by_name["About TwinFlow Studio"].trigger()
    from PySide6.QtWidgets import QMessageBox

    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    titles = {b.windowTitle() for b in boxes}
    assert {"Keyboard shortcuts", "About TwinFlow Studio"} <= titles
    for box in boxes:
        box.close()


def test_every_shipped_example_shows_a_description(make_window):
    shipped = sorted(p.name for p in examples_root().iterdir() if list(p.glob("*.twin")))
    assert len(shipped) >= 6
    window = make_window()
    window.start(None)
    shown = {}
    for i in range(window.welcome.examples.count()):
        item = window.welcome.examples.item(i)
        name, _, description = item.text().partition("\n")
        shown[name] = description
        assert item.toolTip() == description
    assert sorted(shown) == shipped
    for name, description in shown.items():
        assert description.strip() and description.strip() != name, name


def test_an_example_is_described_by_its_twin_else_its_readme(tmp_path):
    def example(name: str, description: str | None, readme: str | None) -> None:
        folder = tmp_path / name
        folder.mkdir()
        meta = {"name": name} | ({"description": description} if description else {})
        (folder / f"{name}.twin").write_text(json.dumps({"project": meta}))
        if readme is not None:
            (folder / "README.md").write_text(readme)

    example("own", "Measures a tank. Then fits it.", "# Not this")
    example("readme", None, "\n# A pump under test\n\nMore text.")
    example("bare", None, None)
    example("hello", "Not shown: the studio's own words win.", None)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "broken.twin").write_text("{not json")
    found = {e.name: e.description for e in list_examples(tmp_path)}
    assert found == {
        "own": "Measures a tank.",
        "readme": "A pump under test",
        "bare": "bare",
        "hello": DESCRIPTIONS["hello"],
        "broken": "broken",
    }
