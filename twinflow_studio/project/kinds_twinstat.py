"""TwinStat node kinds: inductive models, simulations, surrogates, calibration, drift.

Declarative only (no numpy/sklearn import here) so a project validates without them; the
executors live in ``twinflow_studio.twinstat.nodes``.
"""

from __future__ import annotations

from twinflow_studio.project.kinds import NodeKind, ParamSpec, PortSpec, register_kind

_NODES = "twinflow_studio.twinstat.nodes"

_PRIORS_DOC = (
    "List of {name, dist, ...}: uniform(low, high), normal(mean, sd), lognormal(mu, sigma "
    "of log), truncnormal(mean, sd, low, high)"
)
_SEED = ParamSpec("seed", "int", default=0, doc="Random seed (results are reproducible)")
_VALIDATION = ParamSpec(
    "validation_fraction",
    "float",
    default=0.2,
    doc="Share of rows held out to report validation error",
)
_X_COLUMNS = ParamSpec("x_columns", "list", default=[], doc="Model input column(s)")
_CALLABLE = ParamSpec(
    "callable",
    "str",
    required=True,
    doc="module:function f(theta, x) -> predictions; theta[..., i] in order",
)
_PARAMETERS = ParamSpec(
    "parameters",
    "dict",
    default={},
    doc="Simulation parameters by name (override the posterior means)",
)
_PARAMETER_NAMES = ParamSpec(
    "parameter_names",
    "list",
    default=[],
    doc="Order of theta for the callable (default: the posterior's order)",
)
_ESTIMATOR = ParamSpec(
    "estimator",
    "str",
    required=True,
    doc="scikit-learn estimator class, e.g. sklearn.linear_model:Ridge",
)
_ESTIMATOR_PARAMS = ParamSpec(
    "estimator_params", "dict", default={}, doc="Constructor parameters of the estimator"
)

SKLEARN_TRAIN = register_kind(
    NodeKind(
        name="sklearn_train",
        label="Train estimator",
        category="Models",
        doc="Trains any scikit-learn estimator on a table (CSV/Parquet); outputs the fitted model "
        "and train/validation R² and RMSE.",
        params=(
            _ESTIMATOR,
            _ESTIMATOR_PARAMS,
            ParamSpec("features", "list", required=True, doc="Feature column(s)"),
            ParamSpec("target", "str", required=True, doc="Target column"),
            _VALIDATION,
            _SEED,
        ),
        inputs=(PortSpec("data", "dataframe"),),
        outputs=(PortSpec("model", "model"), PortSpec("metrics", "json")),
        executor=f"{_NODES}:run_sklearn_train",
        tags=("inductive",),
    )
)

SKLEARN_PREDICT = register_kind(
    NodeKind(
        name="sklearn_predict",
        label="Predict",
        category="Models",
        doc="Adds a prediction column to a table using a trained (or hybrid) model.",
        params=(ParamSpec("column", "str", default="prediction", doc="Name of the new column"),),
        inputs=(PortSpec("model", "model"), PortSpec("data", "dataframe")),
        outputs=(PortSpec("predictions", "dataframe"),),
        executor=f"{_NODES}:run_sklearn_predict",
        tags=("inductive",),
    )
)

SIMULATION = register_kind(
    NodeKind(
        name="simulation",
        label="Simulation (Python)",
        category="Models",
        doc="Runs a Python simulation f(theta, x) on the rows of a table with fixed parameters or "
        "the means of a connected posterior. A container simulation is a container node.",
        params=(
            _CALLABLE,
            _X_COLUMNS,
            _PARAMETERS,
            _PARAMETER_NAMES,
            ParamSpec("column", "str", default="simulated", doc="Name of the new column"),
        ),
        inputs=(PortSpec("data", "dataframe"), PortSpec("posterior", "posterior", required=False)),
        outputs=(PortSpec("predictions", "dataframe"),),
        executor=f"{_NODES}:run_simulation",
        tags=("deductive",),
    )
)

SIMULATION_BATCH = register_kind(
    NodeKind(
        name="simulation_batch",
        label="Simulate design (Python)",
        category="Models",
        doc="Evaluates a Python simulation for every parameter set of a design at the data's x; "
        "the in-process twin of a container that reads /twinflow/inputs/params and writes "
        "/twinflow/outputs/predictions.",
        params=(_CALLABLE, _X_COLUMNS),
        inputs=(PortSpec("design", "json"), PortSpec("data", "dataframe")),
        outputs=(PortSpec("predictions", "json"),),
        executor=f"{_NODES}:run_simulation_batch",
        tags=("deductive", "surrogate"),
    )
)

HYBRID = register_kind(
    NodeKind(
        name="hybrid",
        label="Hybrid model",
        category="Models",
        doc="A Python simulation plus a scikit-learn regressor trained on its residuals.",
        params=(
            _CALLABLE,
            _X_COLUMNS,
            _PARAMETERS,
            _PARAMETER_NAMES,
            _ESTIMATOR,
            _ESTIMATOR_PARAMS,
            ParamSpec(
                "features", "list", default=[], doc="Residual model features (default: x_columns)"
            ),
            ParamSpec("target", "str", required=True, doc="Observed column"),
            _VALIDATION,
            _SEED,
        ),
        inputs=(PortSpec("data", "dataframe"), PortSpec("posterior", "posterior", required=False)),
        outputs=(PortSpec("model", "model"), PortSpec("metrics", "json")),
        executor=f"{_NODES}:run_hybrid",
        tags=("hybrid",),
    )
)

LHS_DESIGN = register_kind(
    NodeKind(
        name="lhs_design",
        label="Latin-hypercube design",
        category="Calibration",
        doc="Parameter sets laid out by a Latin hypercube over the priors (JSON list of dicts).",
        params=(
            ParamSpec("priors", "list", required=True, doc=_PRIORS_DOC),
            ParamSpec("n_points", "int", default=60, doc="Number of parameter sets"),
            ParamSpec(
                "coverage",
                "float",
                default=0.998,
                doc="Central prior mass covered (cuts infinite tails)",
            ),
            _SEED,
        ),
        outputs=(PortSpec("design", "json"),),
        executor=f"{_NODES}:run_lhs_design",
        tags=("surrogate",),
    )
)

SURROGATE = register_kind(
    NodeKind(
        name="surrogate",
        label="GP surrogate",
        category="Calibration",
        doc="Fits a Gaussian-process surrogate to simulator outputs over a design and reports its "
        "error on held-out design points.",
        params=(_VALIDATION, _SEED),
        inputs=(PortSpec("design", "json"), PortSpec("predictions", "json")),
        outputs=(PortSpec("surrogate", "model"), PortSpec("metrics", "json")),
        executor=f"{_NODES}:run_surrogate",
        tags=("surrogate",),
    )
)

CALIBRATION = register_kind(
    NodeKind(
        name="calibration",
        label="Bayesian calibration",
        category="Calibration",
        doc="emcee ensemble MCMC of model parameters against data with a Gaussian likelihood. "
        "The model is a Python callable f(theta, x) or a connected surrogate. On reruns the "
        "previous posterior becomes the prior (see 'sequential').",
        params=(
            ParamSpec(
                "model", "str", default="", doc="module:function f(theta, x) (or a surrogate)"
            ),
            ParamSpec("priors", "list", required=True, doc=_PRIORS_DOC),
            _X_COLUMNS,
            ParamSpec("y_column", "str", required=True, doc="Observed column"),
            ParamSpec(
                "noise",
                "dict",
                required=True,
                doc="{'sigma': s} known, {'sigma_column': col} per row, or {'prior': {...}} "
                "to infer sigma",
            ),
            ParamSpec("n_walkers", "int", default=32),
            ParamSpec("n_steps", "int", default=2000),
            ParamSpec("burn", "int", default=None, doc="Steps discarded (default n_steps // 4)"),
            ParamSpec("thin", "int", default=1),
            ParamSpec("start", "str", default="prior", choices=("prior", "map")),
            ParamSpec("vectorize", "any", default="auto", doc="auto, true or false"),
            ParamSpec(
                "sequential",
                "dict",
                default={"mode": "mvn", "inflate": 1.0, "adaptive": True},
                doc=(
                    "mode mvn (joint, default) | kde | normal (independent) | off; inflate "
                    "widens the carried-over prior by hand; adaptive widens it when the new "
                    "data are surprising (true, false or {alpha, max_widen, settle})"
                ),
            ),
            ParamSpec(
                "data_files",
                "str",
                default="latest",
                choices=("latest", "all"),
                doc="When data is a folder: only the newest file, or all files",
            ),
            ParamSpec("figures", "bool", default=True, doc="Write trace, pair, predictive PNGs"),
            _SEED,
        ),
        inputs=(
            PortSpec("data", "dataframe"),
            PortSpec("surrogate", "model", required=False),
            PortSpec(
                "prior",
                "posterior",
                required=False,
                doc="An explicit earlier posterior to use as the prior",
            ),
        ),
        outputs=(
            PortSpec("posterior", "posterior"),
            PortSpec("summary", "json"),
            PortSpec("figures", "file"),
        ),
        executor=f"{_NODES}:run_calibration",
        tags=("calibration",),
    )
)

DRIFT_CHECK = register_kind(
    NodeKind(
        name="drift_check",
        label="Drift check",
        category="Calibration",
        doc="Prediction error of the current twin (a model, or a callable with a posterior) on new "
        "data; reports whether it crosses a threshold. Drift triggers read this report.",
        params=(
            ParamSpec("y_column", "str", required=True),
            ParamSpec("metric", "str", default="rmse", choices=("rmse", "mae", "mape", "bias")),
            ParamSpec("threshold", "float", required=True),
            ParamSpec("callable", "str", default="", doc="With a posterior: f(theta, x)"),
            _X_COLUMNS,
            _PARAMETERS,
            _PARAMETER_NAMES,
            ParamSpec("data_files", "str", default="latest", choices=("latest", "all")),
        ),
        inputs=(
            PortSpec("data", "dataframe"),
            PortSpec("model", "model", required=False),
            PortSpec("posterior", "posterior", required=False),
        ),
        outputs=(PortSpec("report", "json"),),
        executor=f"{_NODES}:run_drift_check",
        tags=("drift",),
    )
)
