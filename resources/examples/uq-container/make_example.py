"""Regenerates the uq-container example: sensor.csv and uq-container.twin.

    python resources/examples/uq-container/make_example.py

sensor.csv holds synthetic deflection readings of a beam under load, drawn from TRUTH with
Gaussian sensor noise. The twin calibrates the beam's two parameters with emcee, then pushes
the posterior through the simulator in a container (simulate.py, one container run for all
samples) to predictive bands, and ranks the parameters by Sobol indices through the same
container.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinflow_studio.project import Node, Port, Project, save

HERE = Path(__file__).resolve().parent
IMAGE = "twinflow/python-base:bookworm"
TRUTH = {"a": 0.4, "b": 0.12, "noise_sd": 0.05, "seed": 3}
PRIORS = [
    {"name": "a", "dist": "normal", "mean": 0.0, "sd": 1.0},
    {"name": "b", "dist": "uniform", "low": 0.0, "high": 0.5},
]
SOBOL_PRIORS = [
    {"name": "a", "dist": "uniform", "low": 0.3, "high": 0.5},
    {"name": "b", "dist": "uniform", "low": 0.1, "high": 0.14},
]


def write_readings(path: Path) -> None:
    rng = np.random.default_rng(TRUTH["seed"])
    loads = np.arange(0.0, 20.5, 1.0)
    values = TRUTH["a"] + TRUTH["b"] * loads + rng.normal(0.0, TRUTH["noise_sd"], loads.size)
    lines = [
        "load_kn,deflection_mm",
        *(f"{x:.1f},{y:.4f}" for x, y in zip(loads, values, strict=True)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def simulator(node_id: str) -> Node:
    return Node(
        node_id,
        "container",
        name="Beam simulator (container)",
        params={
            "image": IMAGE,
            "command": ["python3", "{inputs.code}", "{inputs.samples}", "{outputs.evaluations}"],
        },
        inputs=[Port("code", "file"), Port("samples", "dataframe")],
        outputs=[Port("evaluations", "dataframe")],
    )


def build() -> Project:
    p = Project(
        name="uq-container",
        description=(
            "Uncertainty propagation and Sobol sensitivity through a simulator that runs in a "
            "container: emcee calibrates a beam's deflection model, propagate_samples writes "
            "every posterior draw into one table, the container simulates them all in one run, "
            "and propagate summarizes its outputs as predictive bands. Needs Docker and the "
            "local image " + IMAGE + "."
        ),
    )
    p.add_node(
        Node("sensor", "datasource", name="Deflection readings", params={"path": "sensor.csv"})
    )
    p.add_node(Node("code", "datasource", name="Simulator code", params={"path": "simulate.py"}))
    p.add_node(
        Node(
            "calibrate",
            "calibration",
            params={
                "model": "twinflow_studio.twinstat.models:linear",
                "priors": PRIORS,
                "x_columns": ["load_kn"],
                "y_column": "deflection_mm",
                "noise": {"sigma": TRUTH["noise_sd"]},
                "n_walkers": 16,
                "n_steps": 1500,
                "figures": False,
                "seed": 1,
            },
        )
    )
    p.add_node(Node("draws", "propagate_samples", params={"n_draws": 400, "seed": 1}))
    p.add_node(simulator("simulate"))
    p.add_node(Node("bands", "propagate", params={"x_columns": ["load_kn"]}))
    p.add_node(
        Node("points", "sensitivity_samples", params={"priors": SOBOL_PRIORS, "n_base": 512})
    )
    p.add_node(simulator("simulate_sobol"))
    p.add_node(Node("sobol", "sensitivity", params={"aggregate": "variance_weighted"}))
    for source, port, target, target_port in (
        ("sensor", "data", "calibrate", "data"),
        ("calibrate", "posterior", "draws", "posterior"),
        ("code", "data", "simulate", "code"),
        ("draws", "samples", "simulate", "samples"),
        ("draws", "plan", "bands", "plan"),
        ("simulate", "evaluations", "bands", "evaluations"),
        ("code", "data", "simulate_sobol", "code"),
        ("points", "samples", "simulate_sobol", "samples"),
        ("points", "plan", "sobol", "plan"),
        ("simulate_sobol", "evaluations", "sobol", "evaluations"),
    ):
        p.connect(source, port, target, target_port)
    columns = {"sensor": 0, "code": 0, "calibrate": 1, "points": 1, "draws": 2}
    columns.update({"simulate": 3, "simulate_sobol": 3, "bands": 4, "sobol": 4})
    rows = {"sensor": 0, "code": 1, "calibrate": 0, "draws": 0, "simulate": 0, "bands": 0}
    rows.update({"points": 2, "simulate_sobol": 2, "sobol": 2})
    p.layout = {"nodes": {n: {"x": 300 * columns[n], "y": 160 * rows[n]} for n in p.nodes}}
    return p


if __name__ == "__main__":
    write_readings(HERE / "sensor.csv")
    save(build(), HERE / "uq-container.twin")
    print("wrote", HERE / "sensor.csv", "and", HERE / "uq-container.twin")
