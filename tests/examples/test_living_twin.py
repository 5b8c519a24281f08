"""The living-twin example end to end: a container simulator, a GP surrogate and emcee
calibration on real Docker; then a new sensor file fires its new_data trigger."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from twinflow_studio.engine import Engine, NodeStateChanged, RunFinished, RunStarted
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import dumps, load, validate
from twinflow_studio.twinstat.posterior import Posterior
from twinflow_studio.twinstat.watch import watch_project

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "living-twin"
# The values make_example.py drew the CSVs from (its TRUTH), kept here on purpose: a test
# must not take its expected answer from the code under test.
T0_C = 85.0
TRUE_K = {"day1": 0.18, "day2": 0.30}
TRUE_T_ENV = 21.0
AFFECTED = {"sensor", "simulate", "surrogate", "calibrate"}


@pytest.fixture()
def twin(tmp_path: Path) -> Path:
    """A private copy of the example: runs write their store next to the project."""
    folder = tmp_path / "living-twin"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".twinflow", "__pycache__"))
    return folder


def cooling(t: np.ndarray, k: float, t_env: float) -> np.ndarray:
    return t_env + (T0_C - t_env) * np.exp(-k * t)


def least_squares(csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """An independent estimate of (k, t_env) and its standard errors from the closed form."""
    frame = pd.read_csv(csv)
    best, cov = curve_fit(cooling, frame["t_min"], frame["temp_c"], p0=[0.2, 20.0])
    return best, np.sqrt(np.diag(cov))


def local(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def read_json(uri: str) -> dict:
    return json.loads(local(uri).read_text(encoding="utf-8"))


def check_posterior(summary: dict, csv: Path, true_k: float) -> None:
    k = summary["parameters"]["k"]
    assert k["q05"] < true_k < k["q95"], k
    t_env = summary["parameters"]["t_env"]
    assert t_env["q05"] < TRUE_T_ENV < t_env["q95"], t_env
    # With flat priors the posterior mean is the least-squares fit of the closed form.
    best, se = least_squares(csv)
    assert abs(k["mean"] - best[0]) < 0.3 * se[0], (k, best, se)
    assert abs(t_env["mean"] - best[1]) < 0.3 * se[1], (t_env, best, se)


def drop(source: Path, folder: Path) -> None:
    """Copy a file in the way a well-behaved uploader does: write aside, then rename."""
    part = folder / (source.name + ".part")
    shutil.copyfile(source, part)
    os.replace(part, folder / source.name)


def test_example_is_valid_and_matches_its_generator(twin: Path, tmp_path: Path) -> None:
    project = load(twin / "living-twin.twin")
    assert validate(project) == []
    assert [t["kind"] for t in project.triggers] == ["new_data"]
    assert sorted(p.name for p in (twin / "incoming").iterdir()) == ["day1.csv"]
    # The shipped files are exactly what make_example.py writes, so neither drifts.
    spec = importlib.util.spec_from_file_location("make_example", twin / "make_example.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    maker.HERE = tmp_path / "regenerated"
    maker.main()
    for name in ("living-twin.twin", "incoming/day1.csv", "more-data/day2.csv"):
        assert (maker.HERE / name).read_text() == (twin / name).read_text(), name
    assert dumps(project) == (twin / "living-twin.twin").read_text()


async def test_living_twin_calibrates_then_follows_new_data(twin: Path, base_image: str) -> None:
    project = load(twin / "living-twin.twin")
    overrides = {"simulate": {"image": base_image}}
    events: list = []
    engine = Engine([events.append])
    first = await engine.run(project, project_dir=twin, overrides=overrides)
    assert first.ok, first.summary

    # The container evaluated the whole design in one start, and its RK4 steps agree with
    # the closed form at every design point.
    design = read_json(first.output("design", "design").uri)
    sims = read_json(first.output("simulate", "predictions").uri)
    t = np.array(sims["t_min"])
    assert len(sims["predictions"]) == len(design["sets"]) == 60
    exact = [cooling(t, s["k"], s["t_env"]) for s in design["sets"]]
    assert np.max(np.abs(np.array(sims["predictions"]) - exact)) < 1e-6
    assert first.nodes["surrogate"].metrics["validation_rmse"] < 0.05  # << 0.8 degC noise

    day1 = read_json(first.output("calibrate", "summary").uri)
    check_posterior(day1, twin / "incoming" / "day1.csv", TRUE_K["day1"])
    assert day1["diagnostics"]["trustworthy"], day1["diagnostics"]
    assert day1["diagnostics"]["surrogate_outside_design_fraction"] <= 0.01
    figures = artifact_path(first.output("calibrate", "figures"))
    assert sorted(p.name for p in figures.iterdir()) == ["pair.png", "predictive.png", "trace.png"]

    # Keep the twin living the way `--run --watch` does, and drop the second day's file.
    stop = asyncio.Event()
    events.clear()

    def stop_after_triggered_run(event: object) -> None:
        if isinstance(event, RunFinished) and event.summary.get("trigger"):
            stop.set()

    engine.subscribe(stop_after_triggered_run)
    task = asyncio.create_task(
        watch_project(
            project,
            engine,
            stop,
            run_kwargs={"project_dir": twin, "overrides": overrides},
            poll_interval=0.1,
        )
    )
    await asyncio.sleep(1.0)  # let the watcher take its first snapshot of incoming/
    drop(twin / "more-data" / "day2.csv", twin / "incoming")
    try:
        fired = await asyncio.wait_for(task, timeout=120)
    finally:
        stop.set()

    assert fired == [
        {
            "kind": "new_data",
            "id": "new-readings",
            "detail": {"added": ["day2.csv"], "changed": [], "removed": []},
        }
    ]
    started = [e for e in events if isinstance(e, RunStarted)]
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(started) == len(finished) == 1
    assert started[0].trigger == fired[0] and finished[0].summary["trigger"] == fired[0]
    run_json = Path(finished[0].summary["run_dir"]) / "run.json"
    assert json.loads(run_json.read_text())["trigger"] == fired[0]

    states = {
        e.node_id: e.state
        for e in events
        if isinstance(e, NodeStateChanged) and e.record is not None
    }
    assert states == {
        **{n: "succeeded" for n in AFFECTED},
        "design": "cached",
        "code": "cached",
    }

    summary = finished[0].summary
    day2 = read_json(summary["nodes"]["calibrate"]["outputs"]["summary"])
    assert day2["prior_source"]["source"] == "previous"
    k1, k2 = day1["parameters"]["k"]["mean"], day2["parameters"]["k"]["mean"]
    # The posterior follows the faster cooling: most of the way from day 1's k to day 2's.
    gap = TRUE_K["day2"] - TRUE_K["day1"]
    assert k2 - k1 > 0.7 * gap, (k1, k2)
    assert abs(k2 - TRUE_K["day2"]) < abs(k1 - TRUE_K["day2"])
    # The prior was exactly day 1's posterior, carried over as independent normals.
    day1_posterior = Posterior.load(artifact_path(first.output("calibrate", "posterior")))
    assert day2["prior_source"]["mode"] == "normal"
    assert day2["prior_source"]["previous_data_sha256"] == day1_posterior.meta["data_sha256"]
    # Simulator and calibration read only the newest file (data_files: latest), 41 readings
    # over 20 minutes; the surrogate would refuse a calibration on a different row count.
    assert len(read_json(summary["nodes"]["simulate"]["outputs"]["predictions"])["t_min"]) == 41


def test_headless_cli_run_reports_a_posterior_that_covers_the_truth(
    twin: Path, base_image: str
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twinflow_studio",
            "--run",
            str(twin / "living-twin.twin"),
            "--json",
            "--no-lineage",
            "--param",
            f"simulate.image={base_image}",
            # Fewer steps than the example's default: enough for the mean and quantiles here.
            "--param",
            "calibrate.n_steps=1200",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "succeeded" and summary["counts"] == {"succeeded": 6}
    assert summary["trigger"] is None
    calibrated = read_json(summary["nodes"]["calibrate"]["outputs"]["summary"])
    check_posterior(calibrated, twin / "incoming" / "day1.csv", TRUE_K["day1"])
    assert "calibrate: succeeded" in done.stderr
    assert math.isfinite(calibrated["diagnostics"]["autocorr_time_max"])


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("t_min,temp_c\n0,85\n0.5,80\nnope,70\n", "bad.csv line 4: t_min 'nope' is no number"),
        ("time,temp_c\n0,85\n", "bad.csv has no t_min column (columns: ['time', 'temp_c'])"),
        ("t_min,temp_c\n1,85\n0.5,80\n", "t_min must be non-negative and increasing"),
    ],
)
def test_simulator_names_the_bad_reading_and_writes_nothing(
    twin: Path, tmp_path: Path, csv: str, message: str
) -> None:
    # The script is plain python3 (what the container runs), so it runs here as well.
    design = tmp_path / "design.json"
    design.write_text(json.dumps({"names": ["k", "t_env"], "sets": [{"k": 0.2, "t_env": 20}]}))
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.csv").write_text(csv)
    out = tmp_path / "predictions"
    script = twin / "scripts" / "cooling_sim.py"
    args = [sys.executable, str(script), str(design), str(data), str(out), "85", "0.01"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr
    assert not out.exists()
