"""The roller chain for the filter and the Sobol node (the project folder is on sys.path).

``chain_fx``/``chain_hx`` are the state-space form of roller_chain.c for the UKF
(``state_estimation``): state ``(v1, v2, v3, s12, s23, F)`` (roller speeds, web stretches
``x1 - x2`` and ``x2 - x3``, drive force), theta ``(c_drive, c_idle)``. The force is a state
that the filter reads from the measured ``drive_N`` and holds over each reading interval, as
the FMU holds its input over a communication step. ``v3`` is the FMU itself over the Sobol
node's priors.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from twinflow_studio.twinstat.fmu import simulate

M = 1.0  # kg, as in build_fmu.py
K_WEB = 20.0  # N/m
# A gap this long between readings means the line stood still: the next reading starts a
# new start-up run from rest (each window of the example is one).
RESTART_GAP_S = 60.0

v3 = partial(
    simulate,
    fmu=Path(__file__).resolve().parent / "roller_chain.fmu",
    parameters=["c_drive", "c_idle"],
    output="v3",
    inputs=["F"],
)
v3.vectorized = False  # type: ignore[attr-defined]


def _derivative(s: np.ndarray, c_drive: np.ndarray, c_idle: np.ndarray) -> np.ndarray:
    v1, v2, v3_, s12, s23, force = (s[..., i] for i in range(6))
    t12, t23 = K_WEB * s12, K_WEB * s23
    return np.stack(
        [
            (force - c_drive * v1 - t12) / M,
            (t12 - t23 - c_idle * v2) / M,
            (t23 - c_idle * v3_) / M,
            v1 - v2,
            v2 - v3_,
            np.zeros_like(force),
        ],
        axis=-1,
    )


def chain_fx(x: np.ndarray, dt: float, theta: np.ndarray) -> np.ndarray:
    """The state ``dt`` later (classical Runge-Kutta, sub-steps of at most 0.05 s)."""
    s, th = np.asarray(x, dtype=float), np.asarray(theta, dtype=float)
    if dt > RESTART_GAP_S:
        rest = np.zeros_like(s)
        rest[..., 5] = s[..., 5]
        return rest
    c_drive, c_idle = th[..., 0], th[..., 1]
    steps = max(1, int(np.ceil(dt / 0.05)))
    h = dt / steps
    for _ in range(steps):
        k1 = _derivative(s, c_drive, c_idle)
        k2 = _derivative(s + 0.5 * h * k1, c_drive, c_idle)
        k3 = _derivative(s + 0.5 * h * k2, c_drive, c_idle)
        k4 = _derivative(s + h * k3, c_drive, c_idle)
        s = s + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return s


def chain_hx(x: np.ndarray) -> np.ndarray:
    """What is measured: the speed of roller 3 and the drive force."""
    s = np.asarray(x, dtype=float)
    return s[..., [2, 5]]
