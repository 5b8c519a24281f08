"""The beam simulator of the uq-container example, as it runs in its container (python3 of
twinflow/python-base, no numpy): one run for every parameter sample of the plan.

    python3 simulate.py SAMPLES_CSV OUTPUTS_CSV

SAMPLES_CSV has a ``sample`` id column and one column per parameter (``a``: deflection
without load in mm, ``b``: mm per kN); OUTPUTS_CSV gets one row per (sample, load) with the
predicted deflection. A real simulator (a finite-element solve per sample) would sit where
``deflection`` is.
"""

import csv
import sys

LOADS_KN = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def deflection(a: float, b: float, load: float) -> float:
    return a + b * load


def main(samples: str, outputs: str) -> int:
    n = 0
    with open(samples, newline="") as src, open(outputs, "w", newline="") as dst:
        out = csv.writer(dst)
        out.writerow(["sample", "load_kn", "deflection_mm"])
        for row in csv.DictReader(src):
            a, b = float(row["a"]), float(row["b"])
            for load in LOADS_KN:
                out.writerow([row["sample"], load, repr(deflection(a, b, load))])
            n += 1
    print(f"simulated {n} parameter samples at {len(LOADS_KN)} loads")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
