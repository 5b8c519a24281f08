"""The web-line example end to end: its script builds the roller-chain FMU from C, emcee
calibrates the bearing damping through the FMU, the fmu node simulates the line with the
posterior, and the schedule trigger recalibrates when worn-bearing data has come."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest

from twinflow_studio.engine import Engine, RunFinished
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import dumps, load, validate
from twinflow_studio.twinstat.watch import watch_project

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "web-line"
# The values make_example.py simulated the windows from, kept here on purpose.
TRUTH = {"window-01": (0.8, 0.5), "window-02": (0.8, 0.9)}
NOISE_SD = 0.02
# Shorter chains than the example's, for the test's time; the truth must still be covered.
SAMPLER = {"calibrate": {"n_steps": 300, "figures": False}}


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
    assert [(t["kind"], t["config"]["interval"]) for t in project.triggers] == [("schedule", 3600)]
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


async def test_calibrates_simulates_and_follows_bearing_wear_on_schedule(line: Path) -> None:
    project = load(line / "web-line.twin")
    events: list = []
    engine = Engine([events.append])
    first = await engine.run(project, project_dir=line, overrides=SAMPLER)
    assert first.ok, first.summary
    summary = json.loads(artifact_path(first.output("calibrate", "summary")).read_text())
    covered(summary, TRUTH["window-01"])
    assert summary["model"].startswith("fmu:")

    # The fmu node simulated the whole line with the posterior mean, driven by the same
    # force series: its roller-3 speed fits the readings to the sensor noise.
    sim = pd.read_csv(artifact_path(first.output("simulate", "results")))
    data = pd.read_csv(line / "incoming" / "window-01.csv")
    assert list(sim.columns) == ["time", "v1", "v2", "v3", "tension_12", "tension_23"]
    assert np.allclose(sim["time"], data["time"])
    rmse = float(np.sqrt(np.mean((sim["v3"] - data["v3_obs"]) ** 2)))
    assert rmse < 1.3 * NOISE_SD, rmse

    # Worn idler bearings: a new window arrives; the hourly schedule (1 s here) recalibrates.
    project.triggers[0]["config"]["interval"] = 1
    shutil.copyfile(line / "more-data" / "window-02.csv", line / "incoming" / "window-02.part")
    os.replace(line / "incoming" / "window-02.part", line / "incoming" / "window-02.csv")
    stop = asyncio.Event()
    engine.subscribe(
        lambda e: stop.set() if isinstance(e, RunFinished) and e.summary.get("trigger") else None
    )
    task = asyncio.create_task(
        watch_project(
            project,
            engine,
            stop,
            run_kwargs={"project_dir": line, "overrides": SAMPLER},
            poll_interval=0.1,
        )
    )
    try:
        fired = await asyncio.wait_for(task, timeout=400)
    finally:
        stop.set()
    assert fired and fired[0]["kind"] == "schedule" and fired[0]["id"] == "hourly-calibration"
    second = [e for e in events if isinstance(e, RunFinished)][-1].summary
    assert second["status"] == "succeeded", second
    outputs = second["nodes"]["calibrate"]["outputs"]
    worn = json.loads(Path(unquote(urlparse(outputs["summary"]).path)).read_text())
    assert worn["prior_source"]["source"] == "previous"
    c1 = summary["parameters"]["c_idle"]["mean"]
    c2 = worn["parameters"]["c_idle"]["mean"]
    assert c2 - c1 > 0.7 * (TRUTH["window-02"][1] - TRUTH["window-01"][1]), (c1, c2)
