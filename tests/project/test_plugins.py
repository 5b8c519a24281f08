"""Node kinds and target kinds come from entry points: the core's, TwinStat's and plugins'."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

from twinflow_studio.project import Node, Project, plugins, save, validate
from twinflow_studio.project.plugin_check import record_plugins

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "plugin"


@pytest.fixture()
def fresh_registry() -> Iterator[None]:
    plugins._reset_for_tests()
    yield
    plugins._reset_for_tests()


def fake_distribution(site: Path, name: str, entry_points: str) -> None:
    """A distribution's metadata as pip writes it: what importlib.metadata reads."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def cli(*args: str, pythonpath: list[Path], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [ROOT, *pythonpath])}
    return subprocess.run(
        [sys.executable, "-m", "twinflow_studio", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def test_the_core_declares_its_kinds_as_entry_points_and_the_fallback_matches() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    for group, entries in plugins.CORE_ENTRY_POINTS.items():
        assert declared[group] == dict(entries)


def test_core_and_twinstat_kinds_and_targets_come_from_the_core_package(fresh_registry) -> None:
    kinds = plugins.kinds()
    for name in ("container", "python", "datasource", "sklearn_train", "calibration"):
        assert kinds[name].plugin == plugins.CORE_DISTRIBUTION
    assert set(plugins.targets()) >= {"process", "inprocess", "docker", "batch"}
    assert plugins.get_target_kind("docker").implementation.endswith("docker:DockerTarget")
    assert plugins.failures() == []


def test_a_broken_plugin_is_reported_not_raised(tmp_path, monkeypatch, fresh_registry) -> None:
    fake_distribution(
        tmp_path,
        "broken-plugin",
        "[twinflow_studio.kinds]\nbroken = broken_plugin_missing.kinds\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "python" in plugins.kinds()  # the core still loads
    (failure,) = plugins.failures()
    assert failure.plugin == "broken-plugin"
    assert "ModuleNotFoundError" in failure.message

    project = Project()
    project.add_node(Node("x", "broken_kind"))
    project.settings["plugins"] = {"broken_kind": "broken-plugin"}
    (problem,) = [p for p in validate(project) if p.code == "unknown_kind"]
    assert "pip install broken-plugin" in problem.message
    assert "failed to load" in problem.message


def test_a_plugin_cannot_replace_a_core_kind(tmp_path, monkeypatch, fresh_registry) -> None:
    (tmp_path / "shadowing_plugin.py").write_text(
        "from twinflow_studio.project.kinds import NodeKind\n"
        "KINDS = [NodeKind('python', 'Not Python', 'Evil', 'replaces the core kind')]\n"
    )
    fake_distribution(
        tmp_path, "shadowing-plugin", "[twinflow_studio.kinds]\nk = shadowing_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert plugins.kinds()["python"].plugin == plugins.CORE_DISTRIBUTION
    (failure,) = plugins.failures()
    assert "already provided by twinflow-studio (core)" in failure.message


def test_an_unknown_target_kind_names_the_known_ones() -> None:
    project = Project()
    project.targets["far"] = project.targets["docker"].__class__("far", "slurm")
    problems = [p for p in validate(project) if p.path == "targets.far.kind"]
    assert problems and "process" in problems[0].message and "plugin" in problems[0].message


def test_record_plugins_names_only_plugin_kinds(fresh_registry) -> None:
    project = Project()
    project.add_node(Node("d", "datasource", params={"path": "x.csv"}))
    record_plugins(project)
    assert "plugins" not in project.settings


def test_the_example_plugin_validates_and_runs_headless(example_plugin, tmp_path) -> None:
    project_dir = tmp_path / "example"
    shutil.copytree(EXAMPLE, project_dir, ignore=shutil.ignore_patterns(".twinflow", "*.egg-info"))
    twin = project_dir / "smoothing.twin"

    checked = cli("--validate", str(twin), pythonpath=[example_plugin])
    assert checked.returncode == 0, checked.stderr
    assert "kind 'rolling_mean' from twinflow-example-plugin 0.1.0" in checked.stderr
    assert "kind 'datasource' from twinflow-studio (core)" in checked.stderr

    ran = cli("--run", str(twin), "--trust", "--json", pythonpath=[example_plugin])
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["nodes"]["smooth"]["state"] == "succeeded"
    values = Path(summary["run_dir"]) / "values" / "smooth~summary.json"
    result = json.loads(values.read_text())
    assert result["column"] == "temperature_c" and result["window"] == 5
    assert result["min"] < result["max"]
    smoothed = Path(summary["run_dir"]) / "smooth" / "outputs" / "smoothed.csv"
    assert "temperature_c_smooth" in smoothed.read_text().splitlines()[0]


def test_without_the_plugin_the_project_names_the_package_to_install(tmp_path) -> None:
    project_dir = tmp_path / "example"
    shutil.copytree(EXAMPLE, project_dir, ignore=shutil.ignore_patterns(".twinflow", "*.egg-info"))
    twin = str(project_dir / "smoothing.twin")
    for args in (["--validate", twin], ["--run", twin, "--trust"]):
        done = cli(*args, pythonpath=[])
        assert done.returncode == 2, done.stderr
        assert "pip install twinflow-example-plugin" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_saved_project_records_the_plugin_of_its_kinds(
    example_plugin, monkeypatch, tmp_path, fresh_registry
) -> None:
    monkeypatch.syspath_prepend(str(example_plugin))
    project = Project()
    project.add_node(Node("s", "rolling_mean", params={"column": "a"}))
    record_plugins(project)
    save(project, tmp_path / "p.twin")
    saved = json.loads((tmp_path / "p.twin").read_text())
    assert saved["project"]["settings"]["plugins"] == {"rolling_mean": "twinflow-example-plugin"}
