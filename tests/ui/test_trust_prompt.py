"""Project trust in the studio: opening a hostile project is inert; the first run of a
project that needs trust asks once, Yes runs and is remembered, No runs nothing, and a
project that asks for something new asks again."""

from __future__ import annotations

import json
import os
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from ui_helpers import run_to_end

from twinflow_studio.project import Node, Port, load, save
from twinflow_studio.trust import run_reasons
from twinflow_studio.ui.prompts import Prompter


def trust_questions(window) -> list[str]:
    return [text for kind, text in window.prompter.asked if kind == "trust_project"]


def plant_traps(twin) -> None:
    """What a hostile project folder may also hold: a FIFO named run.json, and a run.json
    that names a FIFO as a calibration node's posterior (reading either would hang)."""
    runs = twin.parent / ".twinflow" / "runs"
    (runs / "r1").mkdir(parents=True)
    os.mkfifo(runs / "r1" / "run.json")
    fifo = runs / "r2" / "calib" / "outputs" / "posterior"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    (runs / "r2" / "run.json").write_text(
        json.dumps(
            {
                "status": "succeeded",
                "nodes": {"calib": {"state": "succeeded", "outputs": {"posterior": str(fifo)}}},
            }
        )
    )
    project = load(twin)
    project.add_node(Node("calib", "calibration", params={"model": "evil_mod:run"}))
    save(project, twin)


@pytest.mark.parametrize("backend", ["gremlin-server", "neptune"])
def test_opening_a_hostile_project_is_inert(
    make_window, make_hostile, listener, snapshot, tmp_path, monkeypatch, backend
) -> None:
    # Credentials that Neptune's SigV4 signing would use, were it to connect.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    twin = make_hostile(backend)
    plant_traps(twin)
    window = make_window(trust_project=[False, True])
    before = snapshot(tmp_path, skip=("studio-home",))
    assert window.open_path(twin)
    assert window.lineage_store is None  # the database it names is not opened
    window.canvas.select(["calib"])  # the calibration and lineage panels read the run store
    window.validate_now()
    window.lineage.set_source(window.lineage_source())
    assert [r.run_id for r in window.lineage.source.runs()] == ["r2"]
    # A refused run starts nothing.
    assert window.run_all() is None
    assert len(trust_questions(window)) == 1
    assert "hostile.twin" in trust_questions(window)[0]
    assert window.run_all() is None  # a remembered No: not asked again
    assert len(trust_questions(window)) == 1
    assert "you chose not to trust" in window.status_label.text()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # time for any thread that would connect
        QApplication.processEvents()
        time.sleep(0.05)
    assert listener.connections == []
    assert not (tmp_path / "outside" / "imported.txt").exists()
    after = snapshot(tmp_path, skip=("studio-home",))
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert {c for c in changed if not c.startswith("hostile/.twinflow")} == set()
    # Trusted on request (Run > Trust project...), the database it names is used.
    window.actions_by_name["Trust project"].trigger()
    assert len(trust_questions(window)) == 2
    assert window.lineage_store is not None
    window.lineage.source.runs()
    deadline = time.monotonic() + 20
    while not listener.connections and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    assert listener.connections, "the trusted project's lineage database was not contacted"
    window._close_lineage()


def test_the_first_run_asks_once_and_yes_is_remembered(make_window, qt_loop, hello_dir) -> None:
    twin = hello_dir / "hello.twin"
    window = make_window()  # answers Yes
    assert window.open_path(twin)
    run_to_end(qt_loop, window.run_all())
    assert window.runs.last_summary["status"] == "succeeded"
    (question,) = trust_questions(window)
    assert "node 'fit' runs Python code tank_models:fit_cooling" in question
    run_to_end(qt_loop, window.run_all())
    assert len(trust_questions(window)) == 1
    # Another studio session: remembered in the user's trust file.
    other = make_window(trust_project=[False])
    assert other.open_path(twin)
    run_to_end(qt_loop, other.run_all())
    assert trust_questions(other) == []
    # An edit that changes a value is covered; one that calls new code asks again.
    other.doc.change_node("anomalies", "params", lambda n: n.params["kwargs"].update(x=1))
    run_to_end(qt_loop, other.run_all())
    assert trust_questions(other) == []
    other.doc.add_nodes(
        [Node("extra", "python", params={"callable": "tank_models:extra"}, outputs=[Port("o")])]
    )
    assert other.run_all() is None  # answered No this time: nothing runs
    (asked,) = trust_questions(other)
    assert "node 'extra' runs Python code tank_models:extra" in asked


def test_no_runs_nothing_until_trusted(make_window, qt_loop, hello_dir) -> None:
    window = make_window(trust_project=[False, True])
    assert window.open_path(hello_dir / "hello.twin")
    assert window.run_all() is None
    assert window.run_selected() is None or not window.canvas.selected_ids()
    assert not (hello_dir / ".twinflow" / "runs").exists()
    assert window.runs.history == {}
    assert window.trust_project()  # Run > Trust project... asks again; Yes
    run_to_end(qt_loop, window.run_all())
    assert window.runs.last_summary["status"] == "succeeded"
    assert len(trust_questions(window)) == 2


def test_a_project_that_needs_nothing_is_not_asked_about(make_window, qt_loop, tmp_path) -> None:
    from twinflow_studio.project import Project

    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "data.csv").write_text("x\n1\n")
    p = Project("plain")
    p.add_node(Node("src", "datasource", params={"path": "data.csv"}))
    save(p, folder / "plain.twin")
    assert run_reasons(p, folder / "plain.twin") == []
    window = make_window(trust_project=[False])
    assert window.open_path(folder / "plain.twin")
    run_to_end(qt_loop, window.run_all())
    assert window.runs.last_summary["status"] == "succeeded"
    assert trust_questions(window) == []


def test_the_real_question_names_the_reasons_and_defaults_to_no(qtbot, hello_dir) -> None:
    reasons = run_reasons(load(hello_dir / "hello.twin"), hello_dir / "hello.twin")
    prompter = Prompter(None)
    seen: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, lambda: answer(button))
            return
        seen.append(box.text() + box.informativeText())
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
        box.button(button).click()

    QTimer.singleShot(20, lambda: answer(QMessageBox.StandardButton.Yes))
    assert prompter.trust_project("hello.twin", reasons) is True
    QTimer.singleShot(20, lambda: answer(QMessageBox.StandardButton.No))
    assert prompter.trust_project("hello.twin", reasons) is False
    assert "run Python code" in seen[0] and "tank_models:fit_cooling" in seen[0]


def test_an_unsaved_project_keeps_its_answer_when_saved(make_window, qt_loop, tmp_path) -> None:
    window = make_window(save_path=[tmp_path / "mine.twin"])
    window.doc.add_nodes(
        [
            Node(
                "k",
                "python",
                params={"callable": "json:dumps", "kwargs": {"obj": 1}},
                outputs=[Port("out", "json")],
            )
        ]
    )
    run_to_end(qt_loop, window.run_all())
    assert len(trust_questions(window)) == 1  # asked, though nobody else wrote it
    assert window.save_as()
    run_to_end(qt_loop, window.run_all())
    assert window.runs.last_summary["status"] == "succeeded"
    assert len(trust_questions(window)) == 1
    other = make_window(trust_project=[False])
    assert other.open_path(tmp_path / "mine.twin")
    run_to_end(qt_loop, other.run_all())
    assert trust_questions(other) == []
