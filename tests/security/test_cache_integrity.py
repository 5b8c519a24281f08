"""The run store serves a cached artifact only while its bytes still have their recorded hash.

An output edited on disk after its run (same size, mtime put back, so no stat check could
see it), replaced by a link or removed is not reused: the node runs again, its log, the run
summary and the CLI say why, and the final result is the correct one.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Node, Port, Project, save

MODULE = "cache_integrity_nodes"
NODES = """
import json
from pathlib import Path
from urllib.parse import unquote, urlparse


def numbers(ctx, kind):
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    if kind == "value":
        return [10, 20, 30]
    if kind == "dir":
        folder = ctx.output_dir / "parts"
        folder.mkdir()
        for i, n in enumerate((10, 20, 30)):
            (folder / f"part{i}.txt").write_text(str(n))
        return folder
    path = ctx.output_dir / "numbers.txt"
    path.write_text("10\\n20\\n30\\n")
    return path


def total(numbers):
    if isinstance(numbers, list):
        return sum(numbers)
    path = Path(numbers)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return sum(int(line) for f in files for line in f.read_text().split())
"""


@pytest.fixture()
def module(fixtures_on_path: Path) -> Path:
    (fixtures_on_path / f"{MODULE}.py").write_text(NODES)
    return fixtures_on_path


def _project(kind: str) -> Project:
    port_type = "json" if kind == "value" else "file"
    p = Project(f"cache-{kind}")
    p.add_node(
        Node(
            "make",
            "python",
            params={"callable": f"{MODULE}:numbers", "kwargs": {"kind": kind}},
            outputs=[Port("numbers", port_type)],
        )
    )
    p.add_node(
        Node(
            "sum",
            "python",
            params={"callable": f"{MODULE}:total"},
            inputs=[Port("numbers", port_type)],
            outputs=[Port("total", "json")],
        )
    )
    p.connect("make", "numbers", "sum", "numbers")
    return p


def _run(project: Project, folder: Path, events: list | None = None) -> RunResult:
    engine = Engine([events.append] if events is not None else [])
    return asyncio.run(engine.run(project, project_dir=folder))


def _total(result: RunResult) -> int:
    return json.loads(artifact_path(result.output("sum", "total")).read_text())


def _edit_keeping_size_and_mtime(path: Path, old: bytes, new: bytes) -> None:
    info = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (info.st_size, info.st_mtime_ns)


@pytest.mark.parametrize("kind", ["file", "dir", "value"])
def test_an_edited_cached_artifact_is_not_served(module: Path, kind: str) -> None:
    folder = module / "project"
    folder.mkdir()
    project = _project(kind)
    first = _run(project, folder)
    assert first.ok and _total(first) == 60
    stored = artifact_path(first.output("make", "numbers"))
    edited = stored / "part1.txt" if kind == "dir" else stored
    _edit_keeping_size_and_mtime(edited, b"20", b"90")

    events: list = []
    second = _run(project, folder, events)
    assert second.ok
    make = second.nodes["make"]
    assert make.state == "succeeded"  # ran again, not "cached"
    assert make.cache_miss is not None
    assert f"not reused from run {first.run_id}: output 'numbers'" in make.cache_miss
    assert "changed on disk since it was stored: sha256" in make.cache_miss
    # The node's own log, the run summary and the state event (what the CLI and the studio
    # show) all say why.
    log = (second.run_dir / "make" / "log.txt").read_text()
    assert make.cache_miss + "; running the node again" in log
    summary = json.loads((second.run_dir / "run.json").read_text())
    assert summary["nodes"]["make"]["cache_miss"] == make.cache_miss
    running = [
        e
        for e in events
        if type(e).__name__ == "NodeStateChanged" and e.node_id == "make" and e.state == "running"
    ]
    assert running and running[0].message == make.cache_miss
    # The rerun produced the original bytes again, so the sum is correct and still cached.
    assert _total(second) == 60
    assert second.nodes["sum"].state == "cached"
    # The next run reuses the fresh copy without complaint.
    third = _run(project, folder)
    assert {o.state for o in third.nodes.values()} == {"cached"}
    assert third.nodes["make"].cache_miss is None


def test_a_removed_linked_or_fifo_artifact_is_not_served(module: Path, tmp_path: Path) -> None:
    folder = module / "project"
    folder.mkdir()
    project = _project("file")
    first = _run(project, folder)
    stored = artifact_path(first.output("make", "numbers"))
    stored.unlink()
    second = _run(project, folder)
    assert "no longer exists" in (second.nodes["make"].cache_miss or "")
    assert _total(second) == 60

    # A link to a file with the very same bytes is still refused: the store holds files.
    fresh = artifact_path(second.output("make", "numbers"))
    twin = tmp_path / "same-bytes.txt"
    twin.write_bytes(fresh.read_bytes())
    fresh.unlink()
    fresh.symlink_to(twin)
    third = _run(project, folder)
    assert "is no longer a regular file (a link)" in (third.nodes["make"].cache_miss or "")
    assert _total(third) == 60

    # A FIFO in its place must not block the check (it runs on the event loop for small
    # artifacts): refused at once.
    fresh = artifact_path(third.output("make", "numbers"))
    fresh.unlink()
    os.mkfifo(fresh)
    fourth = _run(project, folder)
    assert "is no longer a regular file" in (fourth.nodes["make"].cache_miss or "")
    assert _total(fourth) == 60


def test_the_cli_says_why_a_cached_node_ran_again(module: Path) -> None:
    folder = module / "project"
    folder.mkdir()
    path = folder / "cache.twin"
    save(_project("file"), path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module), *sys.path])}
    command = [sys.executable, "-m", "twinflow_studio", "--run", str(path), "--json", "--trust"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    stored = Path(
        unquote(urlparse(json.loads(first.stdout)["nodes"]["make"]["outputs"]["numbers"]).path)
    )
    _edit_keeping_size_and_mtime(stored, b"30", b"31")
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "make: running - not reused from run" in second.stderr
    assert "changed on disk since it was stored" in second.stderr
    summary = json.loads(second.stdout)
    assert "changed on disk" in summary["nodes"]["make"]["cache_miss"]
    assert summary["nodes"]["sum"]["state"] == "cached"


def test_an_edited_container_output_is_not_served(module: Path, base_image: str) -> None:
    folder = module / "project"
    folder.mkdir()
    p = _project("file")
    script = "open('/twinflow/outputs/numbers', 'w').write('10\\n20\\n30\\n')"
    p.nodes["make"] = Node(
        "make",
        "container",
        params={"image": base_image, "command": ["python3", "-c", script]},
        outputs=[Port("numbers", "file")],
    )
    first = _run(p, folder)
    assert first.ok and _total(first) == 60
    assert first.output("make", "numbers").producer == "docker"
    _edit_keeping_size_and_mtime(artifact_path(first.output("make", "numbers")), b"10", b"99")
    second = _run(p, folder)
    assert second.nodes["make"].state == "succeeded"
    assert "changed on disk since it was stored" in (second.nodes["make"].cache_miss or "")
    assert _total(second) == 60
