"""Reference state-space models in the form the ``state_estimation`` node expects:
a transition ``fx(x, dt, theta) -> x`` and a measurement ``hx(x) -> y``.

They broadcast over leading axes: ``x`` of shape (n_states,) or (particles, n_states) with
``theta`` of matching shape, so the particle filter moves every particle in one call.
"""

from __future__ import annotations

import numpy as np


def cooling_fx(x: np.ndarray, dt: float, theta: np.ndarray) -> np.ndarray:
    """Newton cooling toward 20 degrees, exactly discretized: state (T,), theta = (k,)."""
    x, th = np.asarray(x, dtype=float), np.asarray(theta, dtype=float)
    k = th[..., 0:1]
    return 20.0 + (x - 20.0) * np.exp(-k * dt)


def oscillator_fx(x: np.ndarray, dt: float, theta: np.ndarray) -> np.ndarray:
    """A unit mass on a spring with damping, ``p'' = -k p - c p'``: state (p, v), theta =
    (c, k). Integrated with classical Runge-Kutta in sub-steps of at most 0.05."""
    x, th = np.asarray(x, dtype=float), np.asarray(theta, dtype=float)
    c, k = th[..., 0], th[..., 1]
    p, v = x[..., 0], x[..., 1]
    steps = max(1, int(np.ceil(dt / 0.05)))
    h = dt / steps

    def accel(p: np.ndarray, v: np.ndarray) -> np.ndarray:
        return -k * p - c * v

    for _ in range(steps):
        k1p, k1v = v, accel(p, v)
        k2p, k2v = v + 0.5 * h * k1v, accel(p + 0.5 * h * k1p, v + 0.5 * h * k1v)
        k3p, k3v = v + 0.5 * h * k2v, accel(p + 0.5 * h * k2p, v + 0.5 * h * k2v)
        k4p, k4v = v + h * k3v, accel(p + h * k3p, v + h * k3v)
        p = p + h / 6.0 * (k1p + 2 * k2p + 2 * k3p + k4p)
        v = v + h / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return np.stack([p, v], axis=-1)


def first_state(x: np.ndarray) -> np.ndarray:
    """Observe the first state (a temperature, a position)."""
    return np.asarray(x, dtype=float)[..., 0:1]
