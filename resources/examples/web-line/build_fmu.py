"""Builds roller_chain.fmu (FMI 2.0, co-simulation and model exchange) from roller_chain.c.

    python resources/examples/web-line/build_fmu.py

The equations in roller_chain.c are compiled with gcc against the FMI headers fmpy ships,
inside the generic FMI 2.0 wrapper of twinflow_studio.twinstat.fmu_build; nothing is
downloaded. The same sources give the same bytes, so rebuilding does not invalidate the cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

from twinflow_studio.twinstat.fmu_build import Variable, build_fmu

HERE = Path(__file__).resolve().parent

VARIABLES = [
    Variable("m", "parameter", 1.0, "kg", "mass of each roller (reduced to the web)"),
    Variable("k_web", "parameter", 20.0, "N/m", "web stiffness between rollers"),
    Variable("c_drive", "parameter", 0.8, "N.s/m", "bearing damping of the driven roller"),
    Variable("c_idle", "parameter", 0.5, "N.s/m", "bearing damping of each idler"),
    Variable("F", "input", 0.0, "N", "drive force on roller 1"),
    Variable("v1", "output", 0.0, "m/s", "web speed at roller 1"),
    Variable("v2", "output", 0.0, "m/s", "web speed at roller 2"),
    Variable("v3", "output", 0.0, "m/s", "web speed at roller 3"),
    Variable("tension_12", "output", unit="N", description="web tension, rollers 1-2"),
    Variable("tension_23", "output", unit="N", description="web tension, rollers 2-3"),
    Variable("x1", "local", 0.0, "m"),
    Variable("x2", "local", 0.0, "m"),
    Variable("x3", "local", 0.0, "m"),
    Variable("der(x1)", "local", unit="m/s", derivative_of="x1"),
    Variable("der(x2)", "local", unit="m/s", derivative_of="x2"),
    Variable("der(x3)", "local", unit="m/s", derivative_of="x3"),
    Variable("der(v1)", "local", unit="m/s2", derivative_of="v1"),
    Variable("der(v2)", "local", unit="m/s2", derivative_of="v2"),
    Variable("der(v3)", "local", unit="m/s2", derivative_of="v3"),
]


def build(folder: Path = HERE) -> Path:
    return build_fmu(
        folder / "roller_chain.fmu",
        "roller_chain",
        VARIABLES,
        (HERE / "roller_chain.c").read_text(encoding="utf-8"),
        description="Three rollers of a web-handling line coupled by the web",
        max_substep=1e-3,
        default_experiment=(0.0, 30.0, 0.1),
    )


if __name__ == "__main__":
    path = build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"built {path}")
