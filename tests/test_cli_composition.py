"""Subgraphs on the command line: a part's Python needs trust, a changed part is named."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cli_helpers import cli

from twinflow_studio.project import Node, Port, Project, load, save, twinfile
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


def test_only_takes_flat_ids_and_names_an_unknown_one(tmp_path: Path) -> None:
    path = project_with_part(tmp_path)
    for only in ("part--dump", "part"):
        done = cli("--run", str(path), "--trust", "--no-lineage", "--json", "--only", only)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["nodes"]["part--dump"]["state"] in ("succeeded", "cached")
    runs_before = sorted((tmp_path / ".twinflow" / "runs").iterdir())
    for only, hint in (("dump", "part--dump"), ("part--dmp", "part--dump")):
        done = cli("--run", str(path), "--trust", "--no-lineage", "--only", only)
        assert done.returncode == 2, done.stderr
        assert f"no such node to run: {only!r} (did you mean: {hint}" in done.stderr
        assert "Traceback" not in done.stderr
    done = cli("--run", str(path), "--trust", "--no-lineage", "--only", "zzz")
    assert done.returncode == 2 and "no such node to run: 'zzz'" in done.stderr
    assert sorted((tmp_path / ".twinflow" / "runs").iterdir()) == runs_before


class JsonWatch:
    """A real ``--run --watch --json`` process: status lines on stdout, messages on stderr."""

    def __init__(self, twin: Path) -> None:
        env = dict(os.environ, TWINFLOW_WATCH_POLL_S="0.1")
        args = ["--run", str(twin), "--trust", "--watch", "--json", "--no-lineage"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twinflow_studio", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        self.read = {"stdout": 0, "stderr": 0}
        for name in ("stdout", "stderr"):
            stream = getattr(self.proc, name)
            threading.Thread(
                target=lambda s=stream, n=name: [self.lines.put((n, x)) for x in s], daemon=True
            ).start()

    def wait_for(self, stream: str, text: str) -> str:
        """The next line of ``stream`` holding ``text`` (each stream is read in order)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            while self.read[stream] < len(self.seen):
                name, line = self.seen[self.read[stream]]
                self.read[stream] += 1
                if name == stream and text in line:
                    return line
            try:
                self.seen.append(self.lines.get(timeout=1))
            except queue.Empty:
                continue
        raise AssertionError(f"{text!r} not seen on {stream} in {self.seen}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, self.seen


def dumped(line: str, project_dir: Path) -> object:
    run = json.loads(line)
    summary = json.loads(
        (project_dir / ".twinflow" / "runs" / run["run_id"] / "run.json").read_text()
    )
    url = summary["nodes"]["part--dump"]["outputs"]["out"]
    return json.loads(json.loads(Path(url.removeprefix("file://")).read_text()))


def test_watch_uses_an_edited_part_once_its_pin_says_so(tmp_path: Path) -> None:
    """The part changes under a running ``--watch``: a run with the old pin is refused (not
    served from the old part), then the pin is updated in the project file and the next
    triggered run uses the new part, in the same process."""
    path = project_with_part(tmp_path)
    project = load(path)
    project.triggers = [{"id": "poke", "kind": "manual"}]
    save(project, path)
    watch = JsonWatch(path)
    try:
        first = watch.wait_for("stdout", '"event": "run"')
        assert dumped(first, tmp_path) == [1, 2]
        watch.wait_for("stderr", "watching for triggers")
        new_pin = write_part(tmp_path, [3])
        assert cli("--fire", "poke", str(path)).returncode == 0
        refused = watch.wait_for("stderr", "part changed, update pin")
        assert "nodes.part.params.pin" in refused and new_pin in refused
        watch.wait_for("stderr", "this trigger's run did not start")
        project.nodes["part"].params["pin"] = new_pin
        save(project, path)
        assert cli("--fire", "poke", str(path)).returncode == 0
        second = watch.wait_for("stdout", '"event": "run"')
        assert json.loads(second)["status"] == "succeeded"
        assert dumped(second, tmp_path) == [3]
        assert watch.proc.poll() is None  # the same process: no restart
        watch.stop()
    finally:
        watch.proc.kill()
    assert not any("Traceback" in line for _, line in watch.seen)
