"""The web-line example end to end: its script builds the roller-chain FMU from C, emcee
calibrates the bearing damping through the FMU, the fmu node simulates the line with the
posterior, a UKF tracks the damping reading by reading, Sobol indices rank the coefficients,
and when worn-bearing data has come the folder trigger continues the filter and the schedule
trigger recalibrates."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest

from twinflow_studio.engine import Engine, RunFinished
from twinflow_studio.project import dumps, load, validate
from twinflow_studio.twinstat.watch import watch_project

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "web-line"
# The values make_example.py simulated the windows from, kept here on purpose.
TRUTH = {"window-01": (0.8, 0.5), "window-02": (0.8, 0.9)}
NOISE_SD = 0.02
# Shorter chains and fewer Sobol points than the example's, for the test's time; the truth
# must still be covered and the ranking still right.
SAMPLER = {"calibrate": {"n_steps": 300, "figures": False}, "sobol": {"n_base": 32}}


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def line(tmp_path: Path) -> Path:
    """A private copy of the example with its FMU built by the example's own script."""
    folder = tmp_path / "web-line"
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns(".twinflow", "__pycache__", "*.fmu")
    )
    load_module(folder / "build_fmu.py", "web_line_build").build(folder)
    return folder


def test_example_is_valid_and_matches_its_generator(line: Path, tmp_path: Path) -> None:
    project = load(line / "web-line.twin")
    assert validate(project) == []
    assert [(t["kind"], t["nodes"]) for t in project.triggers] == [
        ("schedule", ["calibrate", "simulate"]),
        ("new_data", ["track"]),
    ]
    assert project.triggers[0]["config"]["interval"] == 3600
    maker = load_module(line / "make_example.py", "web_line_make")
    maker.HERE = tmp_path / "regenerated"
    maker.HERE.mkdir()
    for source in ("roller_chain.c", "build_fmu.py"):  # the builder reads its folder's C
        shutil.copy(line / source, maker.HERE)
    maker.main()
    for name in ("web-line.twin", "incoming/window-01.csv", "more-data/window-02.csv"):
        assert (maker.HERE / name).read_text() == (line / name).read_text(), name
    # The same sources give the same FMU bytes: rebuilding does not invalidate the cache.
    assert (maker.HERE / "roller_chain.fmu").read_bytes() == (
        line / "roller_chain.fmu"
    ).read_bytes()
    assert dumps(project) == (line / "web-line.twin").read_text()


def covered(summary: dict, truth: tuple[float, float]) -> None:
    for name, value in zip(("c_drive", "c_idle"), truth, strict=True):
        p = summary["parameters"][name]
        assert p["q05"] < value < p["q95"], (name, p)


def read_json(uri: str) -> dict:
    return json.loads(Path(unquote(urlparse(uri).path)).read_text())


def headless_run(line: Path) -> dict:
    """``--run --trust`` in a fresh process, as a user would; the run's record."""
    params = [
        f"--param={node}.{key}={json.dumps(value)}"
        for node, values in SAMPLER.items()
        for key, value in values.items()
    ]
    done = subprocess.run(
        [sys.executable, "-m", "twinflow_studio", "--run", str(line / "web-line.twin"), "--trust"]
        + params,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = (line / ".twinflow" / "runs").iterdir()
    record = json.loads((run / "run.json").read_text())
    assert {n["state"] for n in record["nodes"].values()} == {"succeeded"}, record
    return {node: n["outputs"] for node, n in record["nodes"].items()}


async def test_calibrates_tracks_ranks_and_follows_bearing_wear(line: Path) -> None:
    first = headless_run(line)
    summary = read_json(first["calibrate"]["summary"])
    covered(summary, TRUTH["window-01"])
    assert summary["model"].startswith("fmu:")

    # The UKF, reading by reading over the same window, covers the truth too.
    tracked = read_json(first["track"]["summary"])
    assert tracked["method"] == "ukf" and tracked["rows_processed"] == 81
    covered(tracked, TRUTH["window-01"])

    # The idlers' damping (two bearings, in series with the sensor) matters most to v3.
    indices = read_json(first["sobol"]["indices"])
    assert indices["ranking"] == ["c_idle", "c_drive"], indices
    assert indices["evaluations"] == 32 * 4

    # The fmu node simulated the whole line with the posterior mean, driven by the same
    # force series: its roller-3 speed fits the readings to the sensor noise.
    sim = pd.read_csv(Path(unquote(urlparse(first["simulate"]["results"]).path)))
    data = pd.read_csv(line / "incoming" / "window-01.csv")
    assert list(sim.columns) == ["time", "v1", "v2", "v3", "tension_12", "tension_23"]
    assert np.allclose(sim["time"], data["time"])
    rmse = float(np.sqrt(np.mean((sim["v3"] - data["v3_obs"]) ** 2)))
    assert rmse < 1.3 * NOISE_SD, rmse

    # Worn idler bearings: a new window arrives. The folder trigger continues the filter from
    # its last state; the hourly schedule (1 s here) recalibrates.
    project = load(line / "web-line.twin")
    project.triggers[0]["config"]["interval"] = 1
    project.triggers[1]["config"]["interval"] = 0.2
    engine = Engine([])
    finished: dict[str, dict] = {}
    stop = asyncio.Event()

    def on_event(e: object) -> None:
        if not (isinstance(e, RunFinished) and e.summary.get("trigger")):
            return
        trigger = e.summary["trigger"]["id"]
        # Scheduled runs before the window landed are cache hits of window 1.
        if trigger == "new-window" or e.summary["nodes"]["calibrate"]["state"] != "cached":
            finished.setdefault(trigger, e.summary)
        if {"hourly-calibration", "new-window"} <= finished.keys():
            stop.set()

    engine.subscribe(on_event)
    task = asyncio.create_task(
        watch_project(
            project,
            engine,
            stop,
            run_kwargs={"project_dir": line, "overrides": SAMPLER},
            poll_interval=0.1,
        )
    )
    await asyncio.sleep(1.0)  # the folder trigger has taken its snapshot: the window is new
    shutil.copyfile(line / "more-data" / "window-02.csv", line / "incoming" / "window-02.part")
    os.replace(line / "incoming" / "window-02.part", line / "incoming" / "window-02.csv")
    try:
        await asyncio.wait_for(task, timeout=400)
    finally:
        stop.set()
    assert {"hourly-calibration", "new-window"} <= finished.keys(), finished
    for run in finished.values():
        assert run["status"] == "succeeded", run

    worn = read_json(finished["hourly-calibration"]["nodes"]["calibrate"]["outputs"]["summary"])
    assert worn["prior_source"]["source"] == "previous"
    c1 = summary["parameters"]["c_idle"]["mean"]
    c2 = worn["parameters"]["c_idle"]["mean"]
    assert c2 - c1 > 0.7 * (TRUTH["window-02"][1] - TRUTH["window-01"][1]), (c1, c2)

    # The filter went on from the end of window 1 (no row filtered twice) and its band has
    # followed the step to the worn damping.
    after = read_json(finished["new-window"]["nodes"]["track"]["outputs"]["summary"])
    assert after["continued_from"] == 20.0 and after["rows_skipped"] == 81
    assert after["rows_processed"] == 81 and after["rows_total"] == 162
    covered(after, TRUTH["window-02"])
