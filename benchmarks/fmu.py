"""FMU node overhead: the fmu node run by the engine (a datasource feeding it, run store,
hashing, summary, lineage as a headless run does) against a bare fmpy script on the same FMU,
simulating and saving the same table. Target ratio <= 1.10. Times are the process's CPU
time (all threads), min over interleaved repeats: wall time on a shared machine swings by
+-30 % between identical runs, CPU time far less.

The FMU, a spring-mass-damper compiled here from C, runs N_STEPS co-simulation steps; both
sides write every sample to CSV. A second line reports many short simulations (a design of
parameter sets), where the node reuses one instance and a bare loop calls simulate_fmu each
time. Earlier lines describe the runs; the last line is the JSON summary (primary: overhead).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fmpy  # noqa: E402

from twinflow_studio.engine import Engine  # noqa: E402
from twinflow_studio.engine.store import artifact_path  # noqa: E402
from twinflow_studio.project import Node, Project  # noqa: E402
from twinflow_studio.twinstat.fmu_build import Variable, build_fmu  # noqa: E402

N_STEPS, STEP, REPEATS = 60_000, 0.001, 5
N_SETS, SET_STEPS = 100, 200


def oscillator(path: Path) -> Path:
    return build_fmu(
        path,
        "oscillator",
        [
            Variable("m", "parameter", 1.0, "kg"),
            Variable("c", "parameter", 0.4, "N.s/m"),
            Variable("k", "parameter", 4.0, "N/m"),
            Variable("x", "output", 1.0, "m"),
            Variable("v", "output", 0.0, "m/s"),
            Variable("der(x)", "local", derivative_of="x"),
            Variable("der(v)", "local", derivative_of="v"),
        ],
        "    der_x = v;\n    der_v = -(c * v + k * x) / m;",
        max_substep=STEP,
    )


def bare(fmu: Path, out: Path, start_values: dict, stop: float) -> float:
    began = time.process_time()
    result = fmpy.simulate_fmu(
        str(fmu),
        stop_time=stop,
        output_interval=STEP,
        start_values=start_values,
        output=["x", "v"],
        fmi_type="CoSimulation",
    )
    with out.open("w") as handle:
        handle.write("time,x,v\n")
        np.savetxt(
            handle,
            np.column_stack([result[n] for n in ("time", "x", "v")]),
            delimiter=",",
            fmt="%.17g",
        )
    return time.process_time() - began


def project(params: dict) -> Project:
    p = Project(name="fmu-bench")
    p.add_node(Node("model", "datasource", params={"path": "oscillator.fmu"}))
    p.add_node(Node("sim", "fmu", params=params))
    p.connect("model", "data", "sim", "fmu")
    return p


def node(folder: Path, p: Project) -> tuple[float, Path]:
    began = time.process_time()
    result = asyncio.run(Engine().run(p, project_dir=folder, use_cache=False))
    elapsed = time.process_time() - began
    if not result.ok:
        raise SystemExit(f"node failed: {result.nodes['sim'].error}")
    return elapsed, artifact_path(result.output("sim", "results"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="twinflow-fmu-bench-") as tmp:
        folder = Path(tmp)
        fmu = oscillator(folder / "oscillator.fmu")
        stop = N_STEPS * STEP
        params = {
            "start_values": {"c": 0.3},
            "stop_time": stop,
            "output_interval": STEP,
            "outputs": ["x", "v"],
            "fmi_type": "cs",
        }
        bare_s, node_s = [], []
        for i in range(REPEATS):  # interleaved: drift on a shared machine hits both
            bare_s.append(bare(fmu, folder / f"bare-{i}.csv", {"c": 0.3}, stop))
            elapsed, table = node(folder, project(params))
            node_s.append(elapsed)
        ours = np.loadtxt(table, delimiter=",", skiprows=1)
        theirs = np.loadtxt(folder / "bare-0.csv", delimiter=",", skiprows=1)
        same = bool(np.array_equal(ours, theirs))
        ratio = min(node_s) / min(bare_s)
        print(
            f"single simulation, {N_STEPS} steps: node {min(node_s):.3f} s, bare fmpy "
            f"{min(bare_s):.3f} s, ratio {ratio:.3f}, identical tables: {same}"
        )

        # Many short simulations: a Latin-hypercube design of N_SETS damping values.
        p = project({**params, "stop_time": SET_STEPS * STEP})
        prior = {"name": "c", "dist": "uniform", "low": 0.1, "high": 1.0}
        p.add_node(Node("design", "lhs_design", params={"priors": [prior], "n_points": N_SETS}))
        p.connect("design", "design", "sim", "design")
        sets = [{"c": 0.1 + 0.009 * i} for i in range(N_SETS)]
        design_runs, bare_runs = [], []
        for _ in range(2):  # the first pays the imports of the design node (scipy)
            design_runs.append(node(folder, p)[0])
            began = time.process_time()
            for row in sets:
                fmpy.simulate_fmu(
                    str(fmu),
                    stop_time=SET_STEPS * STEP,
                    output_interval=STEP,
                    start_values=row,
                    output=["x", "v"],
                    fmi_type="CoSimulation",
                )
            bare_runs.append(time.process_time() - began)
        design_s, bare_design = min(design_runs), min(bare_runs)
        print(
            f"design of {N_SETS} x {SET_STEPS} steps: node {design_s:.3f} s, bare loop "
            f"{bare_design:.3f} s, ratio {design_s / bare_design:.3f}"
        )
    print(
        json.dumps(
            {
                "metric": "fmu_node_time_vs_bare_fmpy",
                "value": round(min(node_s), 3),
                "unit": "s (CPU)",
                "baseline": round(min(bare_s), 3),
                "ratio": round(ratio, 3),
                "identical_tables": same,
                "design_ratio": round(design_s / bare_design, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
