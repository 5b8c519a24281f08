"""Checked collection of container outputs (``engine/collect.py``) against a plain
``shutil.copytree`` of the same tree: one 256 MiB file and 2,000 small files in 20 folders.

The checked path examines every entry by descriptor, refuses links and special files, and
copies into files it creates itself; the copy is what the old in-place rename avoided, so
this prints what that safety costs. The last line is the JSON summary: value is the checked
collection's best time of 3, baseline copytree's best, ratio = value / baseline
(target <= 1.3: the checks cost little next to the copy itself).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from twinflow_studio.engine.collect import Limits, collect_folder

ROUNDS = 3


def make_tree(root: Path) -> None:
    (root / "big").write_bytes(os.urandom(256 << 20))
    for d in range(20):
        folder = root / "many" / f"d{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"f{f}.csv").write_bytes(os.urandom(2048))


def best(func, *args) -> float:  # noqa: ANN001
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as folder:
        root = Path(folder)
        source = root / "outputs"
        source.mkdir()
        make_tree(source)
        limits = Limits(max_bytes=1 << 40)

        def checked() -> None:
            collect_folder(source, root / "checked", ["big", "many"], limits)

        def plain() -> None:
            shutil.rmtree(root / "plain", ignore_errors=True)
            (root / "plain").mkdir()
            shutil.copy2(source / "big", root / "plain" / "big")
            shutil.copytree(source / "many", root / "plain" / "many")

        value = best(checked)
        baseline = best(plain)
        print(f"checked collection {value:.3f} s, shutil copy {baseline:.3f} s")
        print(
            json.dumps(
                {
                    "metric": "collect_outputs_256mib_2000_files",
                    "value": round(value, 3),
                    "unit": "s",
                    "baseline": round(baseline, 3),
                    "ratio": round(value / baseline, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
