"""Regenerates the web-line example: the FMU, the sensor CSVs and web-line.twin.

    python resources/examples/web-line/make_example.py

The sensor windows are simulated with the example's own FMU (build_fmu.py) from known
damping coefficients, plus Gaussian noise on the measured speed of roller 3. Between the two
windows the idler bearings wear: c_idle steps from 0.5 to 0.9 N.s/m (TRUTH below).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from twinflow_studio.project import Node, Project, save

HERE = Path(__file__).resolve().parent
NOISE_SD = 0.02  # m/s, the speed sensor on roller 3
SPACING_S = 0.25
TRUTH = {
    "window-01": {"c_drive": 0.8, "c_idle": 0.5, "seed": 4, "clock": 0.0},
    "window-02": {"c_drive": 0.8, "c_idle": 0.9, "seed": 7, "clock": 3600.0},
}
WINDOW_S = 20.0
PRIORS = [
    {"name": "c_drive", "dist": "uniform", "low": 0.1, "high": 2.0},
    {"name": "c_idle", "dist": "uniform", "low": 0.1, "high": 2.0},
]
FOLDERS = {"window-01": "incoming", "window-02": "more-data"}


def drive_force(t: np.ndarray) -> np.ndarray:
    """The drive's force profile: a 10 s square wave between 0.5 and 3.5 N."""
    return 2.0 + 1.5 * np.where(np.sin(2 * np.pi * np.asarray(t) / 10.0) >= 0, 1.0, -1.0)


def load_builder() -> object:
    spec = importlib.util.spec_from_file_location("web_line_build_fmu", HERE / "build_fmu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_window(fmu: Path, path: Path, truth: dict) -> None:
    from twinflow_studio.twinstat.fmu import FmuModel

    t = np.arange(0.0, WINDOW_S + 1e-9, SPACING_S)
    force = drive_force(t)
    model = FmuModel(fmu, ["c_drive", "c_idle"], "v3", ["F"])
    speed = model(np.array([truth["c_drive"], truth["c_idle"]]), np.column_stack([t, force]))
    model.close()
    noisy = speed + np.random.default_rng(truth["seed"]).normal(0.0, NOISE_SD, t.size)
    # time: seconds into the start-up run (the FMU's time); clock_s: seconds since the first
    # window (the filter's time, which must go on increasing from window to window).
    lines = ["time,drive_N,v3_obs,clock_s"]
    lines += [
        f"{a:.2f},{b:.2f},{c:.4f},{a + truth['clock']:.2f}"
        for a, b, c in zip(t, force, noisy, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build() -> Project:
    p = Project(
        name="web-line",
        description=(
            "A web-handling line of three rollers as an FMU (build_fmu.py compiles it from "
            "roller_chain.c). emcee calibrates the bearing damping coefficients through the "
            "FMU against the measured web speed on a schedule; the fmu node then simulates the "
            "line with the posterior. A UKF tracks the same coefficients reading by reading on "
            "each new window, and Sobol indices rank them (README)."
        ),
    )
    p.add_node(
        Node("line_fmu", "datasource", name="Roller-chain FMU", params={"path": "roller_chain.fmu"})
    )
    p.add_node(Node("sensor", "datasource", name="Web speed readings", params={"path": "incoming"}))
    p.add_node(
        Node(
            "calibrate",
            "calibration",
            name="Calibrate damping (emcee)",
            params={
                "priors": PRIORS,
                "fmu": {"output": "v3", "inputs": ["F"]},
                "x_columns": ["time", "drive_N"],
                "y_column": "v3_obs",
                "noise": {"sigma": NOISE_SD},
                "n_walkers": 12,
                "n_steps": 900,
                "start": "map",
                "sequential": {"mode": "normal", "inflate": 3.0},
                "data_files": "latest",
                "seed": 0,
            },
        )
    )
    p.add_node(
        Node(
            "simulate",
            "fmu",
            name="Simulate the line (posterior mean)",
            params={
                "outputs": ["v1", "v2", "v3", "tension_12", "tension_23"],
                "input_columns": {"F": "drive_N"},
                "time_column": "time",
                "posterior": "mean",
            },
        )
    )
    p.connect("sensor", "data", "calibrate", "data")
    p.connect("line_fmu", "data", "calibrate", "fmu")
    p.connect("line_fmu", "data", "simulate", "fmu")
    p.connect("sensor", "data", "simulate", "inputs")
    p.connect("calibrate", "posterior", "simulate", "posterior")
    p.add_node(
        Node(
            "track",
            "state_estimation",
            name="Track damping (UKF)",
            params={
                "method": "ukf",
                "time_column": "clock_s",
                "y_columns": ["v3_obs", "drive_N"],
                "states": [
                    {"name": name, "dist": "normal", "mean": 0.0, "sd": 0.01}
                    for name in ("v1", "v2", "v3", "s12", "s23")
                ]
                + [{"name": "F", "dist": "normal", "mean": 2.0, "sd": 1.5}],
                "parameters": PRIORS,
                "transition": "web_line_model:chain_fx",
                "measurement": "web_line_model:chain_hx",
                # per sqrt(s): the force jumps, the model is nearly exact, and the damping may
                # drift (over a one-hour stop it can move by about 0.3 N.s/m)
                "process_noise": {
                    "F": 10.0,
                    "v1": 0.002,
                    "v2": 0.002,
                    "v3": 0.002,
                    "s12": 0.002,
                    "s23": 0.002,
                    "c_drive": 0.005,
                    "c_idle": 0.005,
                },
                "measurement_noise": {"v3_obs": NOISE_SD, "drive_N": 0.005},
                "estimates_format": "csv",
            },
        )
    )
    p.add_node(
        Node(
            "sobol",
            "sensitivity",
            name="Sobol indices of v3",
            params={
                "callable": "web_line_model:v3",
                "priors": PRIORS,
                "x_columns": ["time", "drive_N"],
                "n_base": 256,
                "seed": 0,
            },
        )
    )
    p.connect("sensor", "data", "track", "data")
    p.connect("sensor", "data", "sobol", "data")
    p.triggers = [
        {
            "id": "hourly-calibration",
            "kind": "schedule",
            "config": {"interval": 3600},
            "nodes": ["calibrate", "simulate"],
        },
        {
            "id": "new-window",
            "kind": "new_data",
            "config": {"path": "incoming", "pattern": "*.csv", "interval": 5},
            "nodes": ["track"],
        },
    ]
    p.layout = {
        "nodes": {
            "line_fmu": {"x": 0, "y": 0},
            "sensor": {"x": 0, "y": 200},
            "calibrate": {"x": 340, "y": 100},
            "simulate": {"x": 680, "y": 100},
            "track": {"x": 340, "y": 320},
            "sobol": {"x": 340, "y": -140},
        }
    }
    return p


def main() -> None:
    fmu = load_builder().build(HERE)
    for name, truth in TRUTH.items():
        write_window(fmu, HERE / FOLDERS[name] / f"{name}.csv", truth)
    save(build(), HERE / "web-line.twin")


if __name__ == "__main__":
    main()
