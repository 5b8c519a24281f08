"""Newton-cooling simulator of the living-twin example (Python standard library only).

Evaluates a whole design of parameter sets in one container start:

    python3 cooling_sim.py DESIGN DATA OUT T0 DT

DESIGN  the design JSON: {"names": [...], "sets": [{name: value}, ...]}
DATA    a sensor CSV, or a folder of them (the last file by name is used, as the
        calibration node's data_files: latest does), with a t_min column
OUT     where to write {"names", "t_min", "predictions": [[one row per set]]}
T0      the tank's known start temperature (degC)
DT      the integration step (minutes)

The model is the ODE dT/dt = -k (T - t_env), integrated with classic Runge-Kutta steps
rather than its closed form, to stand for a simulator that has no closed form.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time


def sensor_file(path: str) -> str:
    if not os.path.isdir(path):
        return path
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(".csv"))
    if not names:
        sys.exit(f"cooling_sim: no .csv file in the data folder {path}")
    return os.path.join(path, names[-1])


def read_times(path: str) -> list[float]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if "t_min" not in (reader.fieldnames or []):
            sys.exit(f"cooling_sim: {path} has no t_min column (columns: {reader.fieldnames})")
        times: list[float] = []
        for line, row in enumerate(reader, start=2):
            try:
                times.append(float(row["t_min"]))
            except ValueError:
                sys.exit(f"cooling_sim: {path} line {line}: t_min {row['t_min']!r} is no number")
    if times != sorted(times) or not times or times[0] < 0:
        sys.exit(f"cooling_sim: {path}: t_min must be non-negative and increasing")
    return times


def simulate(k: float, t_env: float, t0: float, times: list[float], dt: float) -> list[float]:
    """Temperatures at ``times`` (minutes) by RK4 steps of at most ``dt``."""

    def rate(temp: float) -> float:
        return -k * (temp - t_env)

    out, temp, now = [], t0, 0.0
    for target in times:
        while now < target - 1e-12:
            h = min(dt, target - now)
            a = rate(temp)
            b = rate(temp + 0.5 * h * a)
            c = rate(temp + 0.5 * h * b)
            d = rate(temp + h * c)
            temp += h * (a + 2 * b + 2 * c + d) / 6.0
            now += h
        out.append(temp)
    return out


def main(argv: list[str]) -> None:
    if len(argv) != 6:
        sys.exit(__doc__)
    design_path, data_path, out_path, t0, dt = argv[1], argv[2], argv[3], argv[4], argv[5]
    t0, dt = float(t0), float(dt)
    if not dt > 0 or not math.isfinite(t0):
        sys.exit(f"cooling_sim: need a finite T0 and DT > 0, got {t0}, {dt}")
    with open(design_path) as handle:
        design = json.load(handle)
    names, sets = design["names"], design["sets"]
    missing = {"k", "t_env"} - set(names)
    if missing:
        sys.exit(f"cooling_sim: the design lacks parameter(s) {sorted(missing)}")
    source = sensor_file(data_path)
    times = read_times(source)
    started = time.perf_counter()
    rows = [simulate(s["k"], s["t_env"], t0, times, dt) for s in sets]
    print(
        f"simulated {len(rows)} parameter sets at {len(times)} times of "
        f"{os.path.basename(source)} in {time.perf_counter() - started:.2f} s"
    )
    with open(out_path, "w") as handle:
        json.dump({"names": names, "t_min": times, "predictions": rows}, handle)


if __name__ == "__main__":
    main(sys.argv)
