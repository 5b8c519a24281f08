"""``--run`` honours muted nodes (a real subprocess), and a bad ``muted`` is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import cli, hello  # noqa: F401 - the hello fixture, a copy of the example

from twinflow_studio.project import load


def set_muted(path: Path, node_id: str, value: object) -> None:
    doc = json.loads(path.read_text())
    for node in doc["nodes"]:
        if node["id"] == node_id:
            node["muted"] = value
    path.write_text(json.dumps(doc))


def test_run_skips_a_muted_node_and_its_downstream(hello: Path) -> None:  # noqa: F811
    set_muted(hello, "fit", True)
    assert load(hello).nodes["fit"].muted
    done = cli("--run", str(hello), "--trust", "--json", "--no-lineage")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "succeeded"
    assert summary["counts"] == {"skipped_branch": 3, "succeeded": 2}
    nodes = summary["nodes"]
    assert nodes["fit"]["state"] == "skipped_branch" and nodes["fit"]["error"] == "muted"
    assert nodes["report"]["error"] == "upstream node 'fit' is muted"
    assert nodes["stats"]["state"] == "succeeded"
    assert "fit: skipped_branch - muted" in done.stderr
    assert "anomalies: skipped_branch - upstream node 'fit' is muted" in done.stderr
    recorded = json.loads((Path(summary["run_dir"]) / "run.json").read_text())
    assert recorded["nodes"]["fit"]["error"] == "muted"

    # Unmuted, the same file runs everything (older files, without the field, too).
    doc = json.loads(hello.read_text())
    for node in doc["nodes"]:
        node.pop("muted", None)
    hello.write_text(json.dumps(doc))
    again = json.loads(cli("--run", str(hello), "--trust", "--json", "--no-lineage").stdout)
    assert again["status"] == "succeeded" and "skipped_branch" not in again["counts"]


def test_a_muted_that_is_not_true_or_false_is_refused_clearly(hello: Path) -> None:  # noqa: F811
    set_muted(hello, "fit", "yes")
    done = cli("--run", str(hello), "--trust", "--no-lineage")
    assert done.returncode == 2
    assert "muted" in done.stderr and "expected true or false" in done.stderr
    assert "Traceback" not in done.stderr
