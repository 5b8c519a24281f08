"""Simulations for the uncertainty tests that run in the bare base image (python3, no
numpy): each reads the samples table (CSV) and writes one outputs table for all of them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from twinflow_studio.engine import Engine, RunResult
from twinflow_studio.engine.store import artifact_path
from twinflow_studio.project import Project

XS = [-1.0, 0.0, 2.0]

# y = a + b x at each x: a long table, one row per (sample, x); echoes the parameters.
LINEAR_SCRIPT = f"""
import csv, sys
with open(sys.argv[1], newline='') as src, open(sys.argv[2], 'w', newline='') as dst:
    out = csv.writer(dst)
    out.writerow(['sample', 'x', 'a', 'b', 'y'])
    n = 0
    for row in csv.DictReader(src):
        a, b = float(row['a']), float(row['b'])
        for x in {XS!r}:
            out.writerow([row['sample'], x, repr(a), repr(b), repr(a + b * x)])
        n += 1
print('simulated', n, 'samples')
"""

# The Ishigami function (a = 7, b = 0.1): a wide table, one row per sample.
ISHIGAMI_SCRIPT = """
import csv, math, sys
with open(sys.argv[1], newline='') as src, open(sys.argv[2], 'w', newline='') as dst:
    out = csv.writer(dst)
    out.writerow(['sample', 'y'])
    for row in csv.DictReader(src):
        x1, x2, x3 = (float(row[k]) for k in ('x1', 'x2', 'x3'))
        y = math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1)
        out.writerow([row['sample'], repr(y)])
"""


def engine_run(project: Project, folder: Path) -> RunResult:
    return asyncio.run(Engine().run(project, project_dir=folder))


def json_output(result: RunResult, node_id: str, port: str) -> Any:
    ref = result.output(node_id, port)
    assert ref is not None, (node_id, port)
    return json.loads(artifact_path(ref).read_text(encoding="utf-8"))
