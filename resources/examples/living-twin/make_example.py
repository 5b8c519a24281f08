"""Regenerates the living-twin example: the sensor CSVs and living-twin.twin.

    python resources/examples/living-twin/make_example.py

The CSVs are synthetic readings of a tank of water cooling toward the room (Newton cooling,
T(t) = t_env + (T0 - t_env) exp(-k t)) with Gaussian sensor noise; TRUTH below holds the
values they were drawn from, so a calibration can be checked against them. The seeds give
typical noise draws: a least-squares fit of each file lands within half a standard error of
its truth, so a 90 % posterior interval that misses the truth points at a bug, not at luck.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twinflow_studio.project import HardwareProfile, Node, Port, Project, RetryPolicy, save

HERE = Path(__file__).resolve().parent
IMAGE = "twinflow/python-base:bookworm"
T0_C = 85.0
NOISE_SD_C = 0.8
# Day 2 has a fan switched on: the tank sheds heat faster (k up), the room is the same.
TRUTH = {
    "day1": {"k": 0.18, "t_env": 21.0, "minutes": 15.0, "seed": 9},
    "day2": {"k": 0.30, "t_env": 21.0, "minutes": 20.0, "seed": 2},
}
PRIORS = [
    {"name": "k", "dist": "uniform", "low": 0.05, "high": 0.6},
    {"name": "t_env", "dist": "uniform", "low": 10.0, "high": 35.0},
]


def write_readings(path: Path, k: float, t_env: float, minutes: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = ["t_min,temp_c"]
    for i in range(int(minutes / 0.5) + 1):
        t = 0.5 * i
        temp = t_env + (T0_C - t_env) * math.exp(-k * t) + rng.normal(0.0, NOISE_SD_C)
        lines.append(f"{t:.1f},{temp:.2f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build() -> Project:
    p = Project(
        name="living-twin",
        description=(
            "A living twin of a cooling tank: a Newton-cooling simulator in a container, "
            "emulated by a Gaussian-process surrogate, calibrated with emcee against noisy "
            "sensor readings. A new CSV in incoming/ triggers recalibration, and the last "
            "posterior becomes the prior. Needs Docker and the local image " + IMAGE + "."
        ),
    )
    p.profiles["small"] = HardwareProfile("small", vcpus=1.0, memory_mib=256)
    p.add_node(Node("sensor", "datasource", name="Sensor readings", params={"path": "incoming"}))
    p.add_node(Node("code", "datasource", name="Simulator code", params={"path": "scripts"}))
    p.add_node(
        Node(
            "design",
            "lhs_design",
            name="Parameter design",
            params={"priors": PRIORS, "n_points": 60, "seed": 1},
        )
    )
    p.add_node(
        Node(
            "simulate",
            "container",
            name="Cooling simulator",
            params={
                "image": IMAGE,
                "command": [
                    "python3",
                    "{inputs.code}/cooling_sim.py",
                    "{inputs.params}",
                    "{inputs.data}",
                    "{outputs.predictions}",
                    "{params.t0_c}",
                    "{params.dt_min}",
                ],
                "t0_c": T0_C,
                "dt_min": 0.01,
            },
            inputs=[Port("code", "file"), Port("params", "json"), Port("data", "file")],
            outputs=[Port("predictions", "json")],
            profile="small",
            retries=RetryPolicy(count=1),
            timeout_s=300,
        )
    )
    p.add_node(Node("surrogate", "surrogate", name="GP surrogate", params={"seed": 0}))
    p.add_node(
        Node(
            "calibrate",
            "calibration",
            name="Calibrate k and t_env",
            params={
                "priors": PRIORS,
                "x_columns": ["t_min"],
                "y_column": "temp_c",
                "noise": {"sigma": NOISE_SD_C},
                "n_walkers": 32,
                "n_steps": 3000,
                "start": "map",
                "sequential": {"mode": "normal", "inflate": 3.0},
                "data_files": "latest",
                "seed": 0,
            },
        )
    )
    p.connect("code", "data", "simulate", "code")
    p.connect("design", "design", "simulate", "params")
    p.connect("sensor", "data", "simulate", "data")
    p.connect("design", "design", "surrogate", "design")
    p.connect("simulate", "predictions", "surrogate", "predictions")
    p.connect("sensor", "data", "calibrate", "data")
    p.connect("surrogate", "surrogate", "calibrate", "surrogate")
    p.triggers = [
        {
            "id": "new-readings",
            "kind": "new_data",
            "config": {"path": "incoming", "pattern": "*.csv"},
        }
    ]
    p.layout = {
        "nodes": {
            "sensor": {"x": 0, "y": 0},
            "code": {"x": 0, "y": 160},
            "design": {"x": 0, "y": 320},
            "simulate": {"x": 320, "y": 160},
            "surrogate": {"x": 640, "y": 260},
            "calibrate": {"x": 960, "y": 80},
        }
    }
    return p


def main() -> None:
    for day, folder in (("day1", "incoming"), ("day2", "more-data")):
        t = TRUTH[day]
        write_readings(HERE / folder / f"{day}.csv", t["k"], t["t_env"], t["minutes"], t["seed"])
    save(build(), HERE / "living-twin.twin")


if __name__ == "__main__":
    main()
