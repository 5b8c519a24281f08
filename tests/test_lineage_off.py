"""``settings.lineage: {"backend": "none"}`` turns lineage off in the same way everywhere:
validation accepts it, a run records none and needs no trust for it, and the studio's and
the CLI's openers skip it (both ask project.lineage_settings)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_helpers import cli

from twinflow_studio.project import Project, load, save
from twinflow_studio.project.lineage_settings import lineage_settings
from twinflow_studio.trust import run_reasons

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def test_lineage_settings_say_none_only_for_the_off_switch() -> None:
    assert lineage_settings({}) == {}
    assert lineage_settings({"lineage": None}) == {}
    assert lineage_settings({"lineage": {"backend": "none"}}) is None
    server = {"backend": "gremlin-server", "url": "ws://h:8182/gremlin"}
    assert lineage_settings({"lineage": server}) == server
    # A malformed value is validation's to report; it never turns lineage off.
    assert lineage_settings({"lineage": ["none"]}) == {}


def test_a_project_without_lineage_validates_runs_and_records_none(tmp_path: Path) -> None:
    shutil.copytree(
        EXAMPLES / "hello",
        tmp_path / "hello",
        ignore=shutil.ignore_patterns(".twinflow", "__pycache__"),
    )
    twin = tmp_path / "hello" / "hello.twin"
    project = load(twin)
    # A URL left behind is not a database this run talks to: nothing to trust it with.
    project.settings["lineage"] = {"backend": "none", "url": "wss://db.example:8182/gremlin"}
    save(project, twin)
    assert not [r for r in run_reasons(load(twin), twin) if r.category == "lineage"]
    checked = cli("--validate", str(twin))
    assert checked.returncode == 0, checked.stderr
    done = cli("--run", str(twin), "--trust", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "succeeded"
    assert not (tmp_path / "hello" / ".twinflow" / "lineage").exists()


def test_an_unknown_backend_names_the_off_switch_too(tmp_path: Path) -> None:
    p = Project("typo")
    p.settings["lineage"] = {"backend": "None"}
    save(p, tmp_path / "p.twin")
    done = cli("--validate", str(tmp_path / "p.twin"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown backend 'None'" in done.stderr and "or 'none' to record no" in done.stderr
