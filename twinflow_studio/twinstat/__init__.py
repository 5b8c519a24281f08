"""TwinStat: inductive models (scikit-learn), deductive and hybrid simulations, Bayesian
calibration (emcee), Gaussian-process surrogates, and the triggers that keep a twin living.

Nothing here imports Qt. Node executors live in :mod:`twinflow_studio.twinstat.nodes`.
"""

from twinflow_studio.twinstat.errors import TwinStatError

__all__ = ["TwinStatError"]
