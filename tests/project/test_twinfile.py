"""`.twin` files: round trip, determinism, migrations, clear errors, atomic save."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twinflow_studio.project import (
    HardwareProfile,
    Node,
    Port,
    Project,
    RetryPolicy,
    TwinFileError,
    dumps,
    load,
    loads,
    save,
)
from twinflow_studio.project.placement import resolve_target
from twinflow_studio.project.twinfile import SCHEMA_VERSION

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def sample() -> Project:
    p = Project("sample", description="ünïcode ✓")
    p.profiles["big"] = HardwareProfile("big", vcpus=2, memory_mib=2048)
    p.add_node(Node("src", "datasource", params={"path": "d.csv"}))
    p.add_node(
        Node(
            "m",
            "python",
            name="Model",
            params={"callable": "m:f", "kwargs": {"a": 1}},
            inputs=[Port("t", "dataframe")],
            outputs=[Port("o", "json")],
            retries=RetryPolicy(2, 0.5, 3),
            timeout_s=30,
        )
    )
    p.add_node(
        Node(
            "c",
            "container",
            params={"image": "img", "command": ["echo", "hi"]},
            inputs=[Port("x", "json")],
            profile="big",
            target="docker",
        )
    )
    p.connect("src", "data", "m", "t")
    p.connect("m", "o", "c", "x")
    p.triggers = [{"id": "daily", "kind": "schedule", "config": {"interval_s": 86400}}]
    p.layout = {"nodes": {"m": {"x": 10, "y": 20}}}
    return p


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "p.twin"
    original = sample()
    save(original, path)
    loaded = load(path)
    assert dumps(loaded) == dumps(original)
    assert loaded.nodes["m"].retries == RetryPolicy(2, 0.5, 3)
    assert loaded.nodes["c"].target == "docker"
    assert loaded.version() == original.version()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "twinflow-studio" and doc["schema_version"] == SCHEMA_VERSION
    assert "ünïcode ✓" in path.read_text(encoding="utf-8")


def test_output_is_deterministic_regardless_of_insertion_order() -> None:
    a = sample()
    b = sample()
    b.nodes = dict(reversed(list(b.nodes.items())))
    b.edges.reverse()
    assert dumps(a) == dumps(b)


def test_layout_does_not_change_the_version() -> None:
    a, b = sample(), sample()
    b.layout["nodes"]["m"] = {"x": 500, "y": 500}
    assert a.version() == b.version()
    b.nodes["m"].params["kwargs"]["a"] = 2
    assert a.version() != b.version()


def test_migration_from_schema_1() -> None:
    old = {
        "format": "twinflow-studio",
        "schema_version": 1,
        "nodes": {
            "a": {
                "kind": "python",
                "params": {"callable": "m:f"},
                "retries": 3,
                "timeout": 12,
                "outputs": [{"name": "o", "type": "json"}],
            }
        },
    }
    project = loads(json.dumps(old))
    node = project.nodes["a"]
    assert node.retries.count == 3 and node.timeout_s == 12


def test_migration_from_schema_2_adds_the_process_target() -> None:
    """A v2 file listing its targets keeps them; unpinned Python nodes move to worker
    processes and a node pinned to the in-process target stays on it."""
    old = {
        "format": "twinflow-studio",
        "schema_version": 2,
        "targets": {
            "local": {"kind": "inprocess", "vcpus": 8.0, "memory_mib": 8192},
            "workers": {"kind": "docker", "vcpus": 2.0, "memory_mib": 4096},
        },
        "nodes": [
            {"id": "free", "kind": "python", "params": {"callable": "m:f"}},
            {"id": "pinned", "kind": "python", "params": {"callable": "m:f"}, "target": "local"},
        ],
    }
    project = loads(json.dumps(old))
    assert project.targets["local"].kind == "inprocess"
    assert project.targets["workers"].kind == "docker"
    added = project.targets["workers_"]
    assert added.kind == "process" and added.vcpus == 4.0
    assert resolve_target(project, project.nodes["free"]).name == "workers_"
    assert resolve_target(project, project.nodes["pinned"]).name == "local"
    assert json.loads(dumps(project))["schema_version"] == SCHEMA_VERSION == 3
    # A v2 file without a targets section gets today's defaults, the process target first.
    bare = loads(json.dumps({"format": "twinflow-studio", "schema_version": 2}))
    assert bare.targets["workers"].kind == "process"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{not json",
            "is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1, column 2",
        ),
        ("[]", "the top level must be a JSON object"),
        ('{"format": "other"}', '"format" must be "twinflow-studio" (found "other")'),
        ('{"format": "twinflow-studio"}', '"schema_version" must be a positive whole number'),
        (
            '{"format": "twinflow-studio", "schema_version": 99}',
            "schema_version 99 was written by a newer TwinFlow Studio",
        ),
        (
            '{"format": "twinflow-studio", "schema_version": 2, "nodes": [{"id": "a"}]}',
            "nodes[0].kind: expected a string, found null",
        ),
        (
            '{"format": "twinflow-studio", "schema_version": 2, "nodes": [{"id": "a", "kind": '
            '"python", "retries": {"count": "3"}}]}',
            "nodes[0].retries.count: expected a number, found a string",
        ),
        (
            '{"format": "twinflow-studio", "schema_version": 2, "nodes": [{"id": "a", "kind": '
            '"x"}, {"id": "a", "kind": "x"}]}',
            "nodes[1].id: duplicate node id 'a'",
        ),
        (
            '{"format": "twinflow-studio", "schema_version": 2, "edges": [{"source": "a"}]}',
            "edges[0].source_port: expected a string, found null",
        ),
    ],
)
def test_broken_files_name_what_and_where(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.twin"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TwinFileError) as err:
        load(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TwinFileError, match="no such file"):
        load(tmp_path / "missing.twin")
    with pytest.raises(TwinFileError, match="is a folder"):
        load(tmp_path)
    (tmp_path / "bin.twin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TwinFileError, match="is not UTF-8 text"):
        load(tmp_path / "bin.twin")


def test_loading_never_imports_or_executes(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    p = Project()
    p.add_node(Node("e", "python", params={"callable": "evil_mod:f"}, outputs=[Port("o", "json")]))
    save(p, tmp_path / "p.twin")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from twinflow_studio.project import load, validate
        p = load({str(tmp_path / "p.twin")!r})
        validate(p)
        p.version()
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not marker.exists()


def test_atomic_save_survives_a_crash_mid_write(tmp_path: Path) -> None:
    """A process killed between writing the temp file and the rename leaves the old file."""
    path = tmp_path / "p.twin"
    save(sample(), path)
    before = path.read_bytes()
    code = textwrap.dedent(f"""
        import os
        from twinflow_studio.project import load, save
        p = load({str(path)!r})
        p.name = "changed"
        os.replace = lambda *a: os._exit(9)   # die right before the rename
        save(p, {str(path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", code])
    assert done.returncode == 9
    assert path.read_bytes() == before
    assert load(path).name == "sample"
    save(load(path), path)  # a later save still works and leaves no partial file behind
    assert load(path).name == "sample"


def test_save_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "p.twin"
    save(sample(), path)
    bad = sample()
    bad.settings["x"] = object()  # not JSON-serialisable
    with pytest.raises(TypeError):
        save(bad, path)
    assert load(path).name == "sample"
    assert [f.name for f in tmp_path.iterdir()] == ["p.twin"]


@pytest.mark.parametrize(
    "name", ["hello/hello.twin", "container-chain/chain.twin", "living-twin/living-twin.twin"]
)
def test_shipped_examples_load_and_validate(name: str) -> None:
    from twinflow_studio.project import validate

    project = load(EXAMPLES / name)
    assert validate(project) == []
    assert dumps(project) == (EXAMPLES / name).read_text(encoding="utf-8")


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "shared.twin"
    target.write_text("{}")
    target.chmod(0o644)
    save(sample(), target)
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    target.chmod(0o640)
    save(sample(), target)
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)


def test_a_new_file_gets_the_umask_default(tmp_path: Path) -> None:
    import os

    old = os.umask(0o027)
    try:
        save(sample(), tmp_path / "new.twin")
    finally:
        os.umask(old)
    assert oct((tmp_path / "new.twin").stat().st_mode & 0o777) == oct(0o640)
    save(sample(), tmp_path / "plain.twin")
    assert oct((tmp_path / "plain.twin").stat().st_mode & 0o777) == oct(0o666 & ~old)


def test_run_snapshots_get_the_umask_default(tmp_path: Path) -> None:
    import asyncio
    import os

    from twinflow_studio.engine import Engine

    project = Project("snap")
    project.add_node(Node("src", "datasource", params={"path": "d.csv"}))
    (tmp_path / "d.csv").write_text("a\n1\n")
    old = os.umask(0o022)
    try:
        result = asyncio.run(Engine().run(project, project_dir=tmp_path))
    finally:
        os.umask(old)
    assert result.ok
    assert oct((result.run_dir / "project.twin").stat().st_mode & 0o777) == oct(0o644)
