"""Subgraphs on the command line: a part's Python needs trust, a changed part is named."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import cli

from twinflow_studio.project import Node, Port, Project, save, twinfile
from twinflow_studio.project.subgraphs import file_pin


def write_part(folder: Path, payload: list[int]) -> str:
    body = Project("dump", description="dumps a list as JSON text")
    body.add_node(
        Node(
            "dump",
            "python",
            params={"callable": "json:dumps", "kwargs": {"obj": payload}},
            outputs=[Port("out", "json")],
        )
    )
    doc = twinfile.to_document(body)
    doc["interface"] = {
        "inputs": [],
        "outputs": [{"name": "text", "type": "json", "node": "dump", "port": "out"}],
    }
    path = folder / "parts" / "dump.twin"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc))
    return file_pin(path.read_bytes())


def project_with_part(folder: Path) -> Path:
    pin = write_part(folder, [1, 2])
    p = Project("uses-a-part")
    p.add_node(
        Node(
            "part",
            "subgraph",
            params={"ref": "parts/dump.twin", "pin": pin},
            outputs=[Port("text", "json", required=False)],
        )
    )
    path = folder / "main.twin"
    save(p, path)
    return path


def test_python_inside_a_referenced_part_needs_trust(tmp_path: Path) -> None:
    path = project_with_part(tmp_path)
    refused = cli("--run", str(path), "--no-lineage")
    assert refused.returncode == 2, refused.stderr
    assert "part--dump" in refused.stderr and "json:dumps" in refused.stderr
    assert not (tmp_path / ".twinflow" / "runs").exists() or not any(
        (tmp_path / ".twinflow" / "runs").iterdir()
    )
    done = cli("--run", str(path), "--trust", "--no-lineage", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["nodes"]["part--dump"]["state"] == "succeeded"


def test_a_changed_part_is_named_by_validate_and_refused_by_run(tmp_path: Path) -> None:
    path = project_with_part(tmp_path)
    assert cli("--validate", str(path)).returncode == 0
    new_pin = write_part(tmp_path, [3])
    for args in (("--validate", str(path)), ("--run", str(path), "--trust", "--no-lineage")):
        done = cli(*args)
        assert done.returncode == 2, done.stderr
        assert "nodes.part.params.pin: part changed, update pin" in done.stderr
        assert new_pin in done.stderr and "Traceback" not in done.stderr


def test_trust_reasons_count_the_python_inside_subgraphs(tmp_path: Path) -> None:
    """What the studio asks before a run: the inner nodes of a part are named."""
    from twinflow_studio.project import load
    from twinflow_studio.trust import run_reasons

    path = project_with_part(tmp_path)
    reasons = run_reasons(load(path), path)
    assert [(r.category, r.where) for r in reasons if r.category == "python"] == [
        ("python", "nodes.part--dump.params.callable")
    ]
