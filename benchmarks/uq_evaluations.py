"""What checking a simulation's outputs against its plan costs: reading a container's
outputs table and summarizing it as bands, with every check of ``uq_plan.read_evaluations``
(ids, rows per sample, labels, echoed parameters, finiteness), against the bare minimum
(read the CSV, reshape, summarize) on the same file. Goal: ratio <= 1.5.

    python benchmarks/uq_evaluations.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from twinflow_studio.twinstat.propagation import monte_carlo_bands
from twinflow_studio.twinstat.uq_plan import make_plan, read_evaluations

SAMPLES = 20000
TIMES = 20
REPEATS = 5
QUANTILES = [0.05, 0.5, 0.95]


def outputs_file(folder: Path) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    theta = rng.normal([1.0, 0.3], [0.1, 0.02], (SAMPLES, 2))
    t = np.linspace(0.0, 10.0, TIMES)
    y = theta[:, :1] * np.exp(-theta[:, 1:] * t)
    frame = pd.DataFrame(
        {
            "sample": np.repeat(np.arange(SAMPLES), TIMES),
            "time": np.tile(t, SAMPLES),
            "a": np.repeat(theta[:, 0], TIMES),
            "k": np.repeat(theta[:, 1], TIMES),
            "y": y.reshape(-1),
        }
    ).sample(frac=1.0, random_state=1)  # a simulation may write in any order
    path = folder / "evaluations"
    frame.to_csv(path, index=False, float_format="%.17g")
    plan = make_plan("propagate", ["a", "k"], theta, method="monte_carlo", seed=0)
    return path, plan


def bare(path: Path) -> np.ndarray:
    frame = pd.read_csv(path).sort_values(["sample", "time"])
    return monte_carlo_bands(frame["y"].to_numpy().reshape(SAMPLES, TIMES), QUANTILES).mean


def checked(path: Path, plan: dict) -> np.ndarray:
    found = read_evaluations(path, plan, "sample", ["time"], ["y"])
    return monte_carlo_bands(found.values, QUANTILES).mean


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, plan = outputs_file(Path(tmp))
        bare_s, checked_s = [], []
        for i in range(REPEATS):
            for side in ("bare", "checked") if i % 2 else ("checked", "bare"):
                start = time.perf_counter()
                mean = bare(path) if side == "bare" else checked(path, plan)
                (bare_s if side == "bare" else checked_s).append(time.perf_counter() - start)
                if side == "bare":
                    reference = mean
                else:
                    result = mean
            np.testing.assert_allclose(result, reference, rtol=1e-12)
    b, c = min(bare_s), min(checked_s)
    print(f"{SAMPLES} samples x {TIMES} rows: bare {b:.3f}s, checked {c:.3f}s")
    print(
        json.dumps(
            {
                "metric": "uq_evaluations_checked_read_seconds",
                "value": round(c, 4),
                "unit": "s",
                "baseline": round(b, 4),
                "ratio": round(c / b, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
