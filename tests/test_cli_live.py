"""Headless live mode: ``--fire`` into a real ``--watch`` process, and restarts resuming from
the state kept in ``.twinflow/live/``."""

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

from twinflow_studio.project import Node, Port, Project, save


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "twinflow_studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_project(tmp_path: Path) -> Path:
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "a.csv").write_text("x\n1\n")
    (tmp_path / "count_mod.py").write_text(
        "def count(folder):\n    return len(list(folder.glob('*.csv')))\n"
    )
    p = Project("live")
    p.add_node(Node("src", "datasource", params={"path": "incoming"}))
    p.add_node(
        Node(
            "n",
            "python",
            params={"callable": "count_mod:count"},
            inputs=[Port("folder", "file")],
            outputs=[Port("out", "json")],
        )
    )
    p.connect("src", "data", "n", "folder")
    p.triggers = [
        {"id": "files", "kind": "new_data", "config": {"path": "incoming", "pattern": "*.csv"}},
        {"id": "poke", "kind": "manual"},
    ]
    save(p, tmp_path / "p.twin")
    return tmp_path / "p.twin"


class Watch:
    """A real ``--run --watch`` subprocess whose stderr is read line by line."""

    def __init__(self, twin: Path) -> None:
        env = dict(os.environ, TWINFLOW_WATCH_POLL_S="0.1")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twinflow_studio",
                "--run",
                str(twin),
                "--trust",
                "--watch",
                "--no-lineage",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        stream = self.proc.stderr
        threading.Thread(target=lambda: [self.lines.put(x) for x in stream], daemon=True).start()

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not seen in {self.seen}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, self.seen


def runs(project_dir: Path) -> list[dict]:
    folders = sorted((project_dir / ".twinflow" / "runs").iterdir())
    return [json.loads((f / "run.json").read_text()) for f in folders]


def test_fire_reaches_a_running_watch_and_restart_resumes(tmp_path: Path) -> None:
    twin = make_project(tmp_path)
    watch = Watch(twin)
    try:
        watch.wait_for("watching for triggers")
        fired = cli("--fire", "poke", str(twin))
        assert fired.returncode == 0, fired.stderr
        watch.wait_for("(trigger: manual)")
        watch.wait_for("succeeded in")
        watch.stop()
    finally:
        watch.proc.kill()
    assert len(runs(tmp_path)) == 2
    cause = runs(tmp_path)[-1]["trigger"]
    assert cause["id"] == "poke" and cause["detail"]["via"] == "file"
    assert not list((tmp_path / ".twinflow" / "live" / "fire").glob("*.json"))

    # While no watch runs: a new file lands and a fire is queued. Both run once on restart;
    # a.csv, handled before, does not fire again.
    (tmp_path / "incoming" / "b.csv").write_text("x\n2\n")
    assert cli("--fire", "poke", str(twin)).returncode == 0
    watch = Watch(twin)
    try:
        watch.wait_for("watching for triggers")
        watch.wait_for("(trigger: ")
        watch.wait_for("succeeded in")
        watch.wait_for("(trigger: ")
        watch.wait_for("succeeded in")
        time.sleep(1.0)  # a few more polls: nothing else may fire
        watch.stop()
    finally:
        watch.proc.kill()
    after = runs(tmp_path)[2:]
    causes = sorted(r["trigger"]["kind"] for r in after if r.get("trigger"))
    assert causes == ["manual", "new_data"], [r.get("trigger") for r in after]
    new_data = next(r for r in after if (r.get("trigger") or {}).get("kind") == "new_data")
    assert new_data["trigger"]["detail"]["added"] == ["b.csv"]


def test_fire_names_what_is_wrong(tmp_path: Path) -> None:
    twin = make_project(tmp_path)
    wrong = cli("--fire", "files", str(twin))
    assert wrong.returncode == 2
    assert "'files' is not a manual trigger" in wrong.stderr and "manual: poke" in wrong.stderr
    missing = cli("--fire", "nope", str(twin))
    assert missing.returncode == 2 and "'nope' is not a trigger" in missing.stderr
    assert cli("--fire", "poke").returncode == 2
    assert "Traceback" not in wrong.stderr + missing.stderr


def write_cooling(path: Path, k: float, seed: int) -> None:
    import numpy as np

    t = np.linspace(0, 12, 30)
    y = 20.0 + 70.0 * np.exp(-k * t) + np.random.default_rng(seed).normal(0, 1.0, t.size)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("t,temp\n" + "".join(f"{a},{b}\n" for a, b in zip(t, y, strict=True)))
    os.replace(tmp, path)


def test_watch_json_prints_the_twin_status_after_each_run(tmp_path: Path) -> None:
    (tmp_path / "incoming").mkdir()
    write_cooling(tmp_path / "incoming" / "001.csv", 0.35, 0)
    p = Project("status")
    p.add_node(Node("sensor", "datasource", params={"path": "incoming"}))
    p.add_node(
        Node(
            "calib",
            "calibration",
            params={
                "model": "twinflow_studio.twinstat.models:newton_cooling",
                "x_columns": ["t"],
                "y_column": "temp",
                "noise": {"sigma": 1.0},
                "priors": [
                    {"name": "k", "dist": "lognormal", "mu": -1.2, "sigma": 0.5},
                    {"name": "t_env", "dist": "uniform", "low": 0, "high": 40},
                    {"name": "t0", "dist": "uniform", "low": 50, "high": 120},
                ],
                "n_steps": 300,
                "figures": False,
            },
        )
    )
    p.connect("sensor", "data", "calib", "data")
    p.triggers = [
        {"id": "drop", "kind": "new_data", "config": {"path": "incoming", "pattern": "*.csv"}}
    ]
    save(p, tmp_path / "p.twin")
    env = dict(os.environ, TWINFLOW_WATCH_POLL_S="0.1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(tmp_path / "p.twin"),
            "--trust",
            "--watch",
            "--json",
            "--no-lineage",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    out = proc.stdout
    threading.Thread(target=lambda: [lines.put(x) for x in out], daemon=True).start()
    try:
        first = json.loads(lines.get(timeout=120))
        write_cooling(tmp_path / "incoming" / "002.csv", 0.35, 1)
        second = json.loads(lines.get(timeout=120))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert first["status"] == "succeeded" and first["trigger"] is None
    assert second["trigger"]["kind"] == "new_data"
    history = second["twin"]["parameters"]["calib"]["k"]
    assert len(history) == 2 and history[1]["trigger"]["id"] == "drop"
    for point in history:
        assert point["q05"] < point["q50"] < point["q95"]
        assert point["q05"] < 0.35 < point["q95"]
    assert second["twin"]["last_data"] is not None
    window = second["twin"]["predictive"]["calib"]
    assert len(window["observed"]) == len(window["q50"]) == 30
    assert window["run_id"] == second["run_id"]
