"""Headless live mode: ``--fire`` into a real ``--watch`` process, and restarts resuming from
the state kept in ``.twinflow/live/``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cli_helpers import Watch, cli, cooling_calibration, counting_project

from twinflow_studio.project import Node, Project, save


def make_project(tmp_path: Path) -> Path:
    save(counting_project(tmp_path, "live", manual=True), tmp_path / "p.twin")
    return tmp_path / "p.twin"


def runs(project_dir: Path) -> list[dict]:
    folders = sorted((project_dir / ".twinflow" / "runs").iterdir())
    return [json.loads((f / "run.json").read_text()) for f in folders]


def test_fire_reaches_a_running_watch_and_restart_resumes(tmp_path: Path) -> None:
    twin = make_project(tmp_path)
    with Watch(twin) as watch:
        watch.wait_for("watching for triggers")
        fired = cli("--fire", "poke", str(twin))
        assert fired.returncode == 0, fired.stderr
        watch.wait_for("(trigger: manual)")
        watch.wait_for("succeeded in")
        assert watch.stop() == 0, watch.seen
    assert len(runs(tmp_path)) == 2
    cause = runs(tmp_path)[-1]["trigger"]
    assert cause["id"] == "poke" and cause["detail"]["via"] == "file"
    assert not list((tmp_path / ".twinflow" / "live" / "fire").glob("*.json"))

    # While no watch runs: a new file lands and a fire is queued. Both run once on restart;
    # a.csv, handled before, does not fire again.
    (tmp_path / "incoming" / "b.csv").write_text("x\n2\n")
    assert cli("--fire", "poke", str(twin)).returncode == 0
    with Watch(twin) as watch:
        watch.wait_for("watching for triggers")
        watch.wait_for("(trigger: ")
        watch.wait_for("succeeded in")
        watch.wait_for("(trigger: ")
        watch.wait_for("succeeded in")
        time.sleep(1.0)  # a few more polls: nothing else may fire
        assert watch.stop() == 0, watch.seen
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
    p.add_node(cooling_calibration())
    p.connect("sensor", "data", "calib", "data")
    p.triggers = [
        {"id": "drop", "kind": "new_data", "config": {"path": "incoming", "pattern": "*.csv"}}
    ]
    save(p, tmp_path / "p.twin")
    with Watch(tmp_path / "p.twin", "--json", stream="stdout") as watch:
        first = json.loads(watch.next_line())
        write_cooling(tmp_path / "incoming" / "002.csv", 0.35, 1)
        second = json.loads(watch.next_line())
        assert watch.stop() == 0
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
