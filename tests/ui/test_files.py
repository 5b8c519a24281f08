"""Saving, reopening, unsaved-changes prompts, recent files, autosave recovery, layout."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from ui_helpers import chain_project

from twinflow_studio.project import load


def test_save_then_reopen_keeps_everything(make_window, tmp_path):
    path = chain_project(tmp_path / "p", "ui_mod_save")
    first = make_window(save_path=[tmp_path / "p" / "copy.twin"])
    assert first.open_path(path)
    assert len(first.canvas._views) == 2
    version = first.doc.project.version()
    first.doc.move_nodes({"total": (333.0, 44.0)})
    assert first.doc.project.version() == version  # the layout never changes the version
    first.doc.change_node("make", "name", lambda n: setattr(n, "name", "Make numbers"))
    assert first.doc.project.version() != version
    assert first.save_as()
    assert not first.doc.dirty and "*" not in first.windowTitle()
    saved = load(tmp_path / "p" / "copy.twin")
    assert saved.nodes["make"].name == "Make numbers"
    assert saved.layout["nodes"]["total"] == {"x": 333.0, "y": 44.0}
    assert saved.version() == first.doc.project.version()

    second = make_window()
    assert second.open_path(tmp_path / "p" / "copy.twin")
    assert second.doc.project.semantic_dict() == saved.semantic_dict()
    assert second.doc.position("total") == (333.0, 44.0)
    assert second.canvas.node_view("make").name() == "Make numbers"
    assert str((tmp_path / "p" / "copy.twin").resolve()) == second.recent_files()[0]


def test_a_broken_file_is_reported_and_nothing_is_lost(window, tmp_path):
    bad = tmp_path / "bad.twin"
    bad.write_text('{"format": "twinflow-studio", "schema_version": 2, "nodes": [{"id": 3}]}')
    window.add_node("python", QPointF(0, 0))
    window.prompter.answers["save_changes"] = ["discard"]
    assert not window.open_path(bad)
    (kind, text), *_ = [q for q in window.prompter.asked if q[0] == "error"]
    assert "bad.twin" in text and "nodes[0]" in text
    assert bad.read_text().startswith('{"format"')  # the file is untouched


def test_unsaved_changes_prompt(make_window, tmp_path, qtbot):
    window = make_window(
        save_changes=["cancel", "save", "discard"], save_path=[tmp_path / "kept.twin"]
    )
    window.add_node("python", QPointF(0, 0))
    assert window.doc.dirty and window.windowTitle().startswith("untitled")
    window.new_project()  # cancel: nothing happens
    assert len(window.doc.project.nodes) == 1
    window.new_project()  # save: asks where, saves, then starts anew
    assert (tmp_path / "kept.twin").exists() and window.doc.project.nodes == {}
    window.add_node("python", QPointF(0, 0))
    assert window.close()  # discard
    assert [q[0] for q in window.prompter.asked].count("save_changes") == 3


def test_close_is_refused_when_the_answer_is_cancel(make_window):
    window = make_window(save_changes=["cancel"])
    window.add_node("python", QPointF(0, 0))
    assert not window.close()
    assert window.isVisible()


def test_autosave_recovery_after_a_crash(make_window, tmp_path):
    path = chain_project(tmp_path / "p", "ui_mod_auto")
    crashed = make_window()
    crashed.open_path(path)
    crashed.add_node("datasource", QPointF(0, 300))
    written = crashed.autosave()
    assert written is not None and written.exists()
    # The process dies here: no close, no clean-up. The next start offers the work back.
    restarted = make_window(recover=[True])
    assert restarted.offer_recovery()
    assert "datasource" in restarted.doc.project.nodes
    assert restarted.doc.path == path and restarted.doc.dirty
    assert load(path).nodes.keys() == {"make", "total"}  # the file itself was not touched
    restarted.doc.save()
    assert not restarted.autosaver.pending() or restarted.autosave() is None


def test_declined_recovery_discards_the_autosave(make_window, tmp_path):
    first = make_window()
    first.add_node("python", QPointF(0, 0))
    first.autosave()
    second = make_window(recover=[False])
    assert not second.offer_recovery()
    assert second.autosaver.pending() == []


def test_theme_and_window_layout_are_remembered(make_window):
    first = make_window()
    first.set_theme("light")
    first.resize(701, 521)  # within the offscreen screen (800x600)
    size = (first.size().width(), first.size().height())  # after minimum-size limits
    first.docks["lineage"].raise_()
    first.close()
    second = make_window()
    assert second.theme == "light"
    assert second.settings.value("geometry") is not None
    assert (second.size().width(), second.size().height()) == size


def test_save_keeps_the_file_mode(window, tmp_path):
    import os

    path = chain_project(tmp_path / "m", "ui_mod_mode")
    path.chmod(0o644)
    assert window.open_path(path)
    window.doc.move_nodes({"total": (10.0, 20.0)})
    window.doc.change_node("make", "name", lambda n: setattr(n, "name", "Numbers"))
    assert window.save()
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    window.prompter.answers["save_path"] = [tmp_path / "m" / "new.twin"]
    old = os.umask(0o022)
    try:
        assert window.save_as()
    finally:
        os.umask(old)
    assert oct((tmp_path / "m" / "new.twin").stat().st_mode & 0o777) == oct(0o644)
