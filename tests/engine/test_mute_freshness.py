"""Muted nodes are skipped with what depends on them (the run still succeeds), and
``engine.freshness`` tells from the cache key which nodes changed since their last run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import py, run, value

from twinflow_studio.engine import NodeStateChanged
from twinflow_studio.engine.freshness import FRESH, NEW, STALE, freshness
from twinflow_studio.project import Project, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def diamond() -> Project:
    """a -> b -> c, a -> d."""
    p = Project("muting")
    p.add_node(py("a", "const", value=2))
    p.add_node(py("b", "add", inputs=[("a", "json")], b=1))
    p.add_node(py("c", "add", inputs=[("a", "json")], b=10))
    p.add_node(py("d", "add", inputs=[("a", "json")], b=100))
    p.connect("a", "out", "b", "a")
    p.connect("b", "out", "c", "a")
    p.connect("a", "out", "d", "a")
    return p


def test_a_muted_node_and_its_downstream_are_skipped_and_the_run_succeeds(tmp_path):
    p = diamond()
    p.nodes["b"].muted = True
    events: list = []
    result = run(p, tmp_path, events)
    assert result.ok, result.summary
    found = {n: o.state for n, o in result.nodes.items()}
    skipped = "skipped_branch"
    assert found == {"a": "succeeded", "b": skipped, "c": skipped, "d": "succeeded"}
    assert value(result, "d") == 102
    said = {e.node_id: e.message for e in events if isinstance(e, NodeStateChanged)}
    assert said["b"] == "muted" and said["c"] == "upstream node 'b' is muted"
    # run.json says why they did not run.
    recorded = json.loads((result.run_dir / "run.json").read_text())
    nodes = recorded["nodes"]
    assert nodes["b"]["state"] == "skipped_branch" and nodes["b"]["error"] == "muted"
    assert nodes["c"]["error"] == "upstream node 'b' is muted"
    assert not (result.run_dir / "b").exists()  # never started


def test_a_muted_root_skips_everything_and_only_honours_muting(tmp_path):
    p = diamond()
    p.nodes["a"].muted = True
    result = run(p, tmp_path)
    assert result.ok and {o.state for o in result.nodes.values()} == {"skipped_branch"}
    p.nodes["a"].muted = False
    p.nodes["b"].muted = True
    only = run(p, tmp_path, only=["c"])
    assert {n: o.state for n, o in only.nodes.items()} == {
        "a": "succeeded",
        "b": "skipped_branch",
        "c": "skipped_branch",
    }


@pytest.fixture()
def hello(tmp_path: Path) -> Path:
    dest = tmp_path / "hello"
    shutil.copytree(
        EXAMPLES / "hello", dest, ignore=shutil.ignore_patterns(".twinflow", "__pycache__")
    )
    return dest


def states(project: Project, folder: Path) -> dict[str, str]:
    return {n: f.state for n, f in freshness(project, folder, folder / ".twinflow").items()}


def test_freshness_follows_the_cache_key_through_edits_and_new_data(hello):
    project = load(hello / "hello.twin")
    assert set(states(project, hello).values()) == {NEW}  # nothing ran
    assert run(project, hello).ok
    assert set(states(project, hello).values()) == {FRESH}  # the keys the run stored

    # A parameter edit: that node and what depends on it changed, the rest did not.
    project.nodes["fit"].params["kwargs"]["ambient_c"] = 21.0
    found = freshness(project, hello, hello / ".twinflow")
    assert {n for n, f in found.items() if f.state == STALE} == {"fit", "anomalies", "report"}
    assert "configuration, code or inputs" in found["fit"].reason
    assert found["anomalies"].reason == "upstream node 'fit' changed since its last run"
    project.nodes["stats"].muted = True  # report: one input unknown, one changed -> changed
    assert states(project, hello)["report"] == STALE
    project.nodes["stats"].muted = False
    project.nodes["fit"].params["kwargs"]["ambient_c"] = 20.0
    assert set(states(project, hello).values()) == {FRESH}  # edited back: the same key

    # New data: the data source's bytes changed, so everything downstream is stale.
    with (hello / "sensor.csv").open("a", encoding="utf-8") as f:
        f.write("600,24.9\n")
    assert set(states(project, hello).values()) == {STALE}

    # The code changed: the nodes calling it are stale.
    (hello / "sensor.csv").write_bytes((EXAMPLES / "hello" / "sensor.csv").read_bytes())
    module = hello / "tank_models.py"
    module.write_text(module.read_text() + "\n# a comment changes the bytes\n")
    assert states(project, hello)["sensor"] == FRESH
    assert states(project, hello)["fit"] == STALE


def test_freshness_reads_the_cache_without_writing(hello):
    project = load(hello / "hello.twin")
    freshness(project, hello, hello / ".twinflow")
    assert not (hello / ".twinflow").exists()  # asking created nothing
