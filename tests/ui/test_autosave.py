"""Autosaves: removed when changes are discarded or saved, keyed by project path, and never
put in place of a file named at start without saying so."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from ui_helpers import chain_project

from twinflow_studio.project import load


def test_open_and_discard_removes_the_autosave(make_window, tmp_path):
    first = chain_project(tmp_path / "a", "ui_mod_auto_a")
    second = chain_project(tmp_path / "b", "ui_mod_auto_b")
    window = make_window(save_changes=["discard", "discard"])
    assert window.open_path(first)
    window.add_node("datasource", QPointF(0, 300))
    assert window.autosave() is not None
    assert window.open_path(second)  # Discard
    assert window.autosaver.pending() == []
    window.add_node("datasource", QPointF(0, 300))
    window.autosave()
    window.new_project()  # Discard
    assert window.autosaver.pending() == []

    # A later start asks nothing.
    later = make_window(recover=[True])
    later.start(None)
    assert [q for q in later.prompter.asked if q[0] == "recover"] == []
    assert later.doc.project.nodes == {}


def test_a_file_named_at_start_is_opened_not_another_autosave(make_window, tmp_path):
    crashed_on = chain_project(tmp_path / "a", "ui_mod_auto_c")
    named = chain_project(tmp_path / "b", "ui_mod_auto_d")
    crashed = make_window()
    assert crashed.open_path(crashed_on)
    crashed.add_node("datasource", QPointF(0, 300))
    assert crashed.autosave() is not None  # then the process dies

    restarted = make_window(recover=[True, True])
    restarted.start(named)
    assert restarted.doc.path == named and not restarted.doc.dirty
    assert set(restarted.doc.project.nodes) == {"make", "total"}
    assert [q for q in restarted.prompter.asked if q[0] == "recover"] == []
    assert len(restarted.autosaver.pending()) == 1  # kept for when that file is opened

    # Starting on the crashed file offers its own autosave, naming the file.
    again = make_window(recover=[True])
    again.start(crashed_on)
    (kind, text), *_ = [q for q in again.prompter.asked if q[0] == "recover"]
    assert str(crashed_on) in text
    assert again.doc.path == crashed_on and again.doc.dirty
    assert "datasource" in again.doc.project.nodes
    assert load(crashed_on).nodes.keys() == {"make", "total"}  # the file is untouched
    assert again.save()
    assert again.autosaver.pending() == []


def test_declining_the_autosave_of_a_named_file_opens_the_file(make_window, tmp_path):
    path = chain_project(tmp_path / "a", "ui_mod_auto_e")
    crashed = make_window()
    crashed.open_path(path)
    crashed.add_node("datasource", QPointF(0, 300))
    crashed.autosave()
    restarted = make_window(recover=[False])
    restarted.start(path)
    assert set(restarted.doc.project.nodes) == {"make", "total"}
    assert not restarted.doc.dirty
    assert restarted.autosaver.pending() == []
