"""Node ids and port names follow one grammar, and none ever becomes a path unchecked.

The attacks: an output port named ``/abs/path`` or ``../../x`` made ``--run`` delete that host
path; a node id ``..`` made every run share one output folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from twinflow_studio.engine import Engine
from twinflow_studio.engine.paths import UnsafePathError, attempt_dir, child_path, run_path
from twinflow_studio.engine.store import RunStore
from twinflow_studio.project import Node, Port, Project, TwinFileError, load, validate
from twinflow_studio.project.identifiers import identifier_problem, is_identifier

ROOT = Path(__file__).resolve().parents[2]
BAD_NAMES = ["..", ".", "", "/abs/path", "../../x", "a/b", "a\\b", "x" * 65, "1st", "a.b", "a b"]


def twin_doc(port: str = "out", node_id: str = "make") -> dict:
    return {
        "format": "twinflow-studio",
        "schema_version": 2,
        "project": {"name": "attack"},
        "nodes": [
            {
                "id": node_id,
                "kind": "python",
                "params": {"callable": "id_nodes:make"},
                "outputs": [{"name": port, "type": "file"}],
            }
        ],
    }


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twinflow_studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_grammar() -> None:
    for good in ("a", "_x", "node-1", "sklearn_train", "A" + "b" * 63):
        assert is_identifier(good) and identifier_problem(good) is None
    for bad in BAD_NAMES:
        assert not is_identifier(bad)
        assert "must start with a letter" in str(identifier_problem(bad))


@pytest.mark.parametrize("port", ["ABS", "../../victim"])
def test_an_output_port_naming_a_host_path_is_refused_and_nothing_is_deleted(
    tmp_path: Path, port: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "id_nodes.py").write_text(
        "from pathlib import Path\n"
        "def make(ctx=None):\n"
        "    p = Path(ctx.output_dir) / 'x.txt'\n"
        "    p.parent.mkdir(parents=True, exist_ok=True)\n"
        "    p.write_text('x')\n"
        "    return str(p)\n"
    )
    name = str(victim) if port == "ABS" else port
    path = project_dir / "attack.twin"
    path.write_text(json.dumps(twin_doc(port=name)))
    for flag in ("--validate", "--run"):
        done = cli(flag, str(path), cwd=project_dir)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "nodes[0].outputs[0].name" in done.stderr
        assert "must start with a letter or '_'" in done.stderr
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not (project_dir / ".twinflow" / "runs").exists() or not any(
        (project_dir / ".twinflow" / "runs").iterdir()
    )


def test_a_node_id_of_dot_dot_is_refused_on_load_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.twin"
    path.write_text(json.dumps(twin_doc(node_id="..")))
    with pytest.raises(TwinFileError) as err:
        load(path)
    assert "nodes[0].id" in str(err.value) and "rename it in the file" in str(err.value)
    done = cli("--run", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "nodes[0].id" in done.stderr, done.stderr


def test_an_old_file_with_dotted_ids_gets_a_clear_message(tmp_path: Path) -> None:
    """Ids with '.' were accepted before; they clash with --param NODE.KEY and paths."""
    doc = twin_doc(node_id="stage.one")
    path = tmp_path / "old.twin"
    path.write_text(json.dumps(doc))
    done = cli("--validate", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert "nodes[0].id: 'stage.one' must start with a letter or '_'" in done.stderr


def test_validation_names_bad_ids_and_ports_of_a_project_built_in_code() -> None:
    p = Project()
    p.add_node(Node("..", "python", params={"callable": "m:f"}, outputs=[Port("/etc", "json")]))
    found = {(x.code, x.path) for x in validate(p)}
    assert ("bad_id", "nodes....id") in found
    assert ("bad_port_name", "nodes....outputs[0].name") in found


def test_the_engine_joins_only_checked_names(tmp_path: Path) -> None:
    """Defense in depth: the store refuses a bad name even when validation was bypassed."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for bad in BAD_NAMES:
        with pytest.raises(UnsafePathError):
            child_path(folder, bad)
        with pytest.raises(UnsafePathError):
            attempt_dir(folder, bad, 1)
    assert child_path(folder, "ok_1", ".csv") == folder / "ok_1.csv"
    for base in (folder, Path("relative/runs"), Path(".")):
        made = attempt_dir(base, "ok_1", 2)
        assert made == base / "ok_1" / "attempt-2"
        assert str(made) == str(base / "ok_1" / "attempt-2") and made.parent.parent == base
        assert made.parts == (base / "ok_1" / "attempt-2").parts
    with pytest.raises(UnsafePathError):
        child_path(folder, "ok", "/../x")
    for bad in ("..", ".", "", "a/b", "/x"):
        with pytest.raises(UnsafePathError):
            run_path(folder, bad)

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    store = RunStore(tmp_path / "store")
    produced = tmp_path / "produced.txt"
    produced.write_text("output")
    try:
        for node_id, port in ((".", "out"), ("..", "out"), ("n", str(victim)), ("n", "../../x")):
            with pytest.raises(UnsafePathError):
                store.collect("run1", node_id, port, "file", produced)
            with pytest.raises(UnsafePathError):
                store.collect("run1", node_id, port, "json", {"v": 1})
        ref = store.collect("run1", "n", "out", "file", produced)
        assert ref.uri.endswith("/runs/run1/n/outputs/out.txt")
    finally:
        store.close()
    assert victim.read_text() == "keep me"


def test_a_bypassed_validation_still_cannot_escape_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With validation switched off (a bug elsewhere), the engine's own check fails the node
    and the host file survives."""
    import twinflow_studio.engine.scheduler as scheduler

    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "id_nodes_run.py").write_text("def make():\n    return {'v': 1}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(scheduler, "ensure_valid", lambda project: None)
    p = Project()
    p.add_node(
        Node(
            "make",
            "python",
            params={"callable": "id_nodes_run:make"},
            outputs=[Port(f"../../../../{victim.name}", "json")],
        )
    )
    result = asyncio.run(Engine().run(p, project_dir=tmp_path, store_root=tmp_path / "store"))
    assert result.status == "failed"
    error = result.summary["failed"][0]["error"]
    assert "refusing to use" in error and "as a file name" in error
    assert victim.read_text() == "keep me"


@pytest.mark.gui
def test_the_studio_refuses_a_port_name_outside_the_grammar(qtbot, tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtWidgets import QTableWidget

    from twinflow_studio.ui.document import Document
    from twinflow_studio.ui.properties import PropertiesPanel

    p = Project()
    p.add_node(Node("make", "python", params={"callable": "m:f"}, outputs=[Port("out", "json")]))
    doc = Document(p)
    panel = PropertiesPanel(doc)
    qtbot.addWidget(panel)
    panel.show_node("make")
    table = panel.editors["ports"]
    assert isinstance(table, QTableWidget)
    table.item(0, 1).setText("../../etc")  # the user types a path into the name cell
    assert doc.project.nodes["make"].outputs[0].name == "out"
    assert "must start with a letter" in panel.error_text("ports")
    table.item(0, 1).setText("result")
    assert doc.project.nodes["make"].outputs[0].name == "result"
    assert panel.error_text("ports") == ""


@pytest.mark.gui
def test_new_node_ids_stay_inside_the_grammar() -> None:
    pytest.importorskip("PySide6")
    from twinflow_studio.project.identifiers import unique_id

    long = "n" * 64
    new = unique_id(long, {long})
    assert is_identifier(new) and new != long
    assert is_identifier(unique_id("sklearn_train", {"sklearn_train", "sklearn_train_2"}))
