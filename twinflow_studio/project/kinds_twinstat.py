"""TwinStat node kinds: inductive models, simulations, surrogates, calibration, drift.

Declarative only (no numpy/sklearn import here) so a project validates without them; the
executors live in ``twinflow_studio.twinstat.nodes``.
"""

from __future__ import annotations

from twinflow_studio.project.kinds import (
    PYTHON_TARGETS,
    NodeKind,
    ParamSpec,
    PortSpec,
    register_kind,
)

_NODES = "twinflow_studio.twinstat.nodes"

_PRIORS_DOC = (
    "List of {name, dist, ...}: uniform(low, high), normal(mean, sd), lognormal(mu, sigma "
    "of log), truncnormal(mean, sd, low, high)"
)
_PRIORS = ParamSpec(
    "priors",
    "list",
    required=True,
    doc=_PRIORS_DOC,
    example=[{"name": "k", "dist": "uniform", "low": 0.05, "high": 0.6}],
    form="priors",
)
_SEED = ParamSpec("seed", "int", default=0, doc="Random seed (results are reproducible)")
_VALIDATION = ParamSpec(
    "validation_fraction",
    "float",
    default=0.2,
    doc="Share of rows held out to report validation error",
)
_X_COLUMNS = ParamSpec(
    "x_columns", "list", default=[], doc="Model input column(s) of the data", example=["time"]
)
_CALLABLE = ParamSpec(
    "callable",
    "str",
    required=True,
    doc="module:function f(theta, x) -> predictions; theta[..., i] in order",
    example="model:simulate",
)
_PARAMETERS = ParamSpec(
    "parameters",
    "dict",
    default={},
    doc="Simulation parameters by name (override the posterior means)",
    example={"k": 0.3},
)
_OPTIONAL_CALLABLE = ParamSpec(
    "callable",
    "str",
    default="",
    doc="module:function f(theta, x) -> predictions; theta[..., i] in order (or connect "
    "'plan' and 'evaluations' instead)",
    example="model:simulate",
)
_FIXED_PARAMETERS = ParamSpec(
    "parameters",
    "dict",
    default={},
    doc="Fixed values of parameters the posterior does not hold (or overrides)",
)
_PROPAGATION_METHOD = (
    ParamSpec("method", "str", default="monte_carlo", choices=("monte_carlo", "pce")),
    ParamSpec("n_draws", "int", default=500, doc="Monte Carlo: posterior draws"),
    ParamSpec("pce_order", "int", default=3, doc="pce: total polynomial order"),
    ParamSpec(
        "mc_check_draws",
        "int",
        default=200,
        doc="pce: Monte Carlo draws the expansion is checked against (0: no check)",
    ),
)
_UQ_X_COLUMNS = ParamSpec(
    "x_columns",
    "list",
    default=[],
    doc="Model input column(s) of the data; with evaluations, the columns that label each "
    "output row (e.g. time), carried into the results",
)
_EVALUATION_PARAMS = (
    ParamSpec(
        "sample_column",
        "str",
        default="sample",
        doc="evaluations: the column holding each row's sample id ('set' for an fmu node)",
    ),
    ParamSpec(
        "output_columns",
        "list",
        default=[],
        doc="evaluations: the output columns (default: every numeric one but the sample id, "
        "x_columns and echoed parameters)",
    ),
)
_EVALUATION_PORTS = (
    PortSpec("plan", "json", required=False, doc="From a *_samples node"),
    PortSpec(
        "evaluations",
        "dataframe",
        required=False,
        doc="The simulation's outputs for the plan's samples (rows carry their sample id)",
    ),
)
_PARAMETER_NAMES = ParamSpec(
    "parameter_names",
    "list",
    default=[],
    doc="Order of theta for the callable (default: the posterior's order)",
    example=["k", "t_env"],
)
_ESTIMATOR = ParamSpec(
    "estimator",
    "str",
    required=True,
    doc="scikit-learn estimator class, e.g. sklearn.linear_model:Ridge",
    example="sklearn.linear_model:Ridge",
)
_ESTIMATOR_PARAMS = ParamSpec(
    "estimator_params",
    "dict",
    default={},
    doc="Constructor parameters of the estimator",
    example={"alpha": 1.0},
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
            ParamSpec(
                "features",
                "list",
                required=True,
                doc="Feature column(s)",
                example=["time", "load"],
            ),
            ParamSpec("target", "str", required=True, doc="Target column", example="temperature"),
            _VALIDATION,
            _SEED,
        ),
        inputs=(PortSpec("data", "dataframe"),),
        outputs=(PortSpec("model", "model"), PortSpec("metrics", "json")),
        executor=f"{_NODES}:run_sklearn_train",
        target_kinds=PYTHON_TARGETS,
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
        target_kinds=PYTHON_TARGETS,
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
        target_kinds=PYTHON_TARGETS,
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
        target_kinds=PYTHON_TARGETS,
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
            ParamSpec("target", "str", required=True, doc="Observed column", example="temperature"),
            _VALIDATION,
            _SEED,
        ),
        inputs=(PortSpec("data", "dataframe"), PortSpec("posterior", "posterior", required=False)),
        outputs=(PortSpec("model", "model"), PortSpec("metrics", "json")),
        executor=f"{_NODES}:run_hybrid",
        target_kinds=PYTHON_TARGETS,
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
            _PRIORS,
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
        target_kinds=PYTHON_TARGETS,
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
        target_kinds=PYTHON_TARGETS,
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
                "model",
                "str",
                default="",
                doc="module:function f(theta, x) (or a surrogate)",
                example="model:simulate",
            ),
            _PRIORS,
            _X_COLUMNS,
            ParamSpec(
                "y_column", "str", required=True, doc="Observed column", example="temperature"
            ),
            ParamSpec(
                "noise",
                "dict",
                required=True,
                doc="{'sigma': s} known, {'sigma_column': col} per row, or {'prior': {...}} "
                "to infer sigma",
                example={"sigma": 0.5},
                form="noise",
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
            ParamSpec(
                "fmu",
                "dict",
                default={},
                doc="With an FMU connected: {'output': var, 'parameters': [FMU vars in prior "
                "order], 'inputs': [FMU inputs fed by x_columns[1:]]}; x_columns[0] is time",
            ),
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
            PortSpec("fmu", "file", required=False, doc="An FMU as the model (see 'fmu')"),
        ),
        outputs=(
            PortSpec("posterior", "posterior"),
            PortSpec("summary", "json"),
            PortSpec("figures", "file"),
        ),
        executor=f"{_NODES}:run_calibration",
        target_kinds=PYTHON_TARGETS,
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
            ParamSpec("y_column", "str", required=True, example="temperature"),
            ParamSpec("metric", "str", default="rmse", choices=("rmse", "mae", "mape", "bias")),
            ParamSpec("threshold", "float", required=True, example=0.5),
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
        target_kinds=PYTHON_TARGETS,
        tags=("drift",),
    )
)

_FILTERS = "twinflow_studio.twinstat.nodes_estimation"
_UNCERTAINTY = "twinflow_studio.twinstat.nodes_uncertainty"
_UQ_SAMPLES = "twinflow_studio.twinstat.nodes_uq_samples"

STATE_ESTIMATION = register_kind(
    NodeKind(
        name="state_estimation",
        label="State estimation (Kalman / particle filter)",
        category="Calibration",
        doc="Estimates the states and parameters of a state-space model row by row over a time "
        "series: linear Kalman filter (kf), unscented Kalman filter (ukf) or bootstrap particle "
        "filter (pf). Each run continues from the filter state the last successful run left, "
        "over the rows after its last time only.",
        params=(
            ParamSpec("method", "str", default="ukf", choices=("kf", "ukf", "pf")),
            ParamSpec(
                "time_column",
                "str",
                required=True,
                doc="Time of each row (increasing)",
                example="time",
            ),
            ParamSpec(
                "y_columns",
                "list",
                required=True,
                doc="Measured column(s)",
                example=["temperature"],
            ),
            ParamSpec(
                "states",
                "list",
                required=True,
                doc="Initial distribution of each state at the first row. " + _PRIORS_DOC,
                example=[{"name": "temp", "dist": "normal", "mean": 20.0, "sd": 2.0}],
                form="priors",
            ),
            ParamSpec(
                "parameters",
                "list",
                default=[],
                doc="Prior of each parameter estimated with the states (theta). " + _PRIORS_DOC,
                example=[{"name": "k", "dist": "lognormal", "mu": -1.0, "sigma": 0.5}],
                form="priors",
            ),
            ParamSpec(
                "transition",
                "str",
                default="",
                doc="ukf/pf: module:function fx(x, dt, theta) -> x",
                example="model:step",
            ),
            ParamSpec(
                "measurement",
                "str",
                default="",
                doc="ukf/pf: module:function hx(x) -> y (default: the first len(y_columns) states)",
            ),
            ParamSpec("F", "list", default=[], doc="kf: transition matrix over states+parameters"),
            ParamSpec("H", "list", default=[], doc="kf: measurement matrix"),
            ParamSpec(
                "process_noise",
                "any",
                default={},
                doc="{name: sd} (others 0) or a covariance matrix; per row for kf, per unit of "
                "time for ukf/pf (variance sd² dt)",
            ),
            ParamSpec(
                "measurement_noise",
                "any",
                required=True,
                doc="sd of every measurement, {column: sd}, or a covariance matrix",
                example={"temperature": 0.5},
            ),
            ParamSpec("n_particles", "int", default=1000, doc="pf: number of particles"),
            ParamSpec(
                "resample_threshold",
                "float",
                default=0.5,
                doc="pf: resample when the effective sample size falls below this share",
            ),
            ParamSpec(
                "sigma_points",
                "dict",
                default={},
                doc="ukf: Merwe scaled sigma points {alpha: 0.5, beta: 2, kappa: 0}",
            ),
            ParamSpec("n_draws", "int", default=2000, doc="kf/ukf: draws in the posterior"),
            ParamSpec(
                "incremental",
                "bool",
                default=True,
                doc="Continue from the last run's filter state (false: start over every run)",
            ),
            ParamSpec("data_files", "str", default="all", choices=("latest", "all")),
            ParamSpec(
                "estimates_format",
                "str",
                default="parquet",
                choices=("parquet", "csv"),
                doc="File format of the estimates table",
            ),
            _SEED,
        ),
        inputs=(PortSpec("data", "dataframe"),),
        outputs=(
            PortSpec("estimates", "dataframe"),
            PortSpec("posterior", "posterior"),
            PortSpec("summary", "json"),
        ),
        executor=f"{_FILTERS}:run_state_estimation",
        target_kinds=PYTHON_TARGETS,
        tags=("calibration", "filter"),
    )
)

PROPAGATE = register_kind(
    NodeKind(
        name="propagate",
        label="Propagate uncertainty",
        category="Calibration",
        doc="Pushes posterior draws through a simulation and outputs predictive quantile bands: "
        "Monte Carlo, or a polynomial-chaos expansion (chaospy) with its error against a Monte "
        "Carlo check. The simulation is a callable f(theta, x), or any node the engine runs "
        "(a container, an FMU) fed by a propagate_samples node: connect its plan and the "
        "simulation's outputs as evaluations.",
        params=(
            _OPTIONAL_CALLABLE,
            _UQ_X_COLUMNS,
            _FIXED_PARAMETERS,
            _PARAMETER_NAMES,
            *_PROPAGATION_METHOD,
            ParamSpec(
                "quantiles", "list", default=[0.05, 0.5, 0.95], doc="Band quantiles in (0, 1)"
            ),
            ParamSpec(
                "noise_sd",
                "float",
                default=0.0,
                doc="Measurement noise added to each draw (bands of observations, not of the "
                "model mean)",
            ),
            _SEED,
            *_EVALUATION_PARAMS,
        ),
        inputs=(
            PortSpec("posterior", "posterior", required=False, doc="With a callable"),
            PortSpec("data", "dataframe", required=False, doc="Rows to predict at"),
            *_EVALUATION_PORTS,
        ),
        outputs=(PortSpec("bands", "dataframe"), PortSpec("summary", "json")),
        executor=f"{_UNCERTAINTY}:run_propagate",
        target_kinds=PYTHON_TARGETS,
        tags=("uncertainty",),
    )
)

SENSITIVITY = register_kind(
    NodeKind(
        name="sensitivity",
        label="Sobol sensitivity",
        category="Calibration",
        doc="First- and total-order Sobol indices (SALib) of a simulation over the priors, with "
        "confidence intervals and a bar chart; 'selected' lists the most influential "
        "parameters (the ones worth calibrating). The simulation is a callable f(theta, x), or "
        "any node the engine runs (a container, an FMU) fed by a sensitivity_samples node: "
        "connect its plan and the simulation's outputs as evaluations.",
        params=(
            _OPTIONAL_CALLABLE,
            ParamSpec(
                "priors",
                "list",
                default=[],
                doc=_PRIORS_DOC + " (with a callable)",
                example=_PRIORS.example,
                form="priors",
            ),
            _UQ_X_COLUMNS,
            ParamSpec(
                "n_base",
                "int",
                default=1024,
                doc="Base sample size (a power of 2); the model runs n_base x (d + 2) times",
            ),
            ParamSpec(
                "aggregate",
                "str",
                default="mean",
                choices=("mean", "variance_weighted"),
                doc="Several outputs: indices of their mean, or per output weighted by variance",
            ),
            ParamSpec(
                "select_top_k",
                "int",
                default=0,
                doc="How many parameters 'selected' keeps, by total order (0: all, ranked)",
            ),
            ParamSpec("num_resamples", "int", default=100, doc="Bootstrap resamples for the CIs"),
            ParamSpec("conf_level", "float", default=0.95, doc="Confidence level of the CIs"),
            _SEED,
            *_EVALUATION_PARAMS,
        ),
        inputs=(
            PortSpec("data", "dataframe", required=False, doc="Rows the model runs at"),
            *_EVALUATION_PORTS,
        ),
        outputs=(
            PortSpec("indices", "json"),
            PortSpec("table", "dataframe"),
            PortSpec("figure", "file"),
        ),
        executor=f"{_UNCERTAINTY}:run_sensitivity",
        target_kinds=PYTHON_TARGETS,
        tags=("uncertainty", "sensitivity"),
    )
)

_SAMPLES_FORMAT = ParamSpec(
    "format",
    "str",
    default="csv",
    choices=("csv", "parquet"),
    doc="File format of the samples table the simulation reads",
)
_SAMPLES_OUTPUTS = (
    PortSpec("samples", "dataframe", doc="sample id + one column per parameter (to a container)"),
    PortSpec("design", "json", doc="The same samples as parameter sets (to an fmu node's design)"),
    PortSpec("plan", "json", doc="What the propagate/sensitivity node needs (to its plan)"),
)

PROPAGATE_SAMPLES = register_kind(
    NodeKind(
        name="propagate_samples",
        label="Propagation samples",
        category="Calibration",
        doc="Draws the parameter samples a propagate node needs (posterior draws, or PCE fit "
        "points and Monte Carlo check draws) as one table, so that a simulation the engine "
        "runs (a container, an FMU) evaluates all of them in one run; its outputs and this "
        "node's plan go to a propagate node.",
        params=(
            _FIXED_PARAMETERS,
            ParamSpec(
                "parameter_names",
                "list",
                default=[],
                doc="Parameter columns of the samples, in order (default: the posterior's)",
            ),
            *_PROPAGATION_METHOD,
            _SAMPLES_FORMAT,
            _SEED,
        ),
        inputs=(PortSpec("posterior", "posterior"),),
        outputs=_SAMPLES_OUTPUTS,
        executor=f"{_UQ_SAMPLES}:run_propagate_samples",
        target_kinds=PYTHON_TARGETS,
        tags=("uncertainty",),
    )
)

SENSITIVITY_SAMPLES = register_kind(
    NodeKind(
        name="sensitivity_samples",
        label="Sobol samples",
        category="Calibration",
        doc="The Saltelli/Sobol parameter points (SALib) over the priors that a sensitivity node "
        "needs, as one table, so that a simulation the engine runs (a container, an FMU) "
        "evaluates all of them in one run; its outputs and this node's plan go to a "
        "sensitivity node.",
        params=(
            _PRIORS,
            ParamSpec(
                "n_base",
                "int",
                default=1024,
                doc="Base sample size (a power of 2); n_base x (d + 2) samples",
            ),
            _SAMPLES_FORMAT,
            _SEED,
        ),
        outputs=_SAMPLES_OUTPUTS,
        executor=f"{_UQ_SAMPLES}:run_sensitivity_samples",
        target_kinds=PYTHON_TARGETS,
        tags=("uncertainty", "sensitivity"),
    )
)

FMU = register_kind(
    NodeKind(
        name="fmu",
        label="FMU simulation",
        category="Models",
        doc="Simulates an FMI 2.0/3.0 co-simulation or model-exchange FMU with fmpy: start values "
        "from params, a posterior (mean or draws) or a design; input time series from a table; "
        "outputs the chosen variables over time. On Docker/Batch it runs in 'image' (fmpy).",
        params=(
            ParamSpec("outputs", "list", default=[], doc="Variables to record (default: outputs)"),
            ParamSpec("start_values", "dict", default={}, doc="FMU variable -> start value"),
            ParamSpec(
                "parameter_map",
                "dict",
                default={},
                doc="Posterior/design name -> FMU variable (default: same name)",
            ),
            ParamSpec("input_columns", "dict", default={}, doc="FMU input -> column of 'inputs'"),
            ParamSpec("time_column", "str", default="time", doc="Time column of 'inputs'"),
            ParamSpec("start_time", "float", default=None, doc="Default: inputs or the FMU's"),
            ParamSpec("stop_time", "float", default=None, doc="Default: inputs or the FMU's"),
            ParamSpec("output_interval", "float", default=None, doc="Sampling interval"),
            ParamSpec("fmi_type", "str", default="auto", choices=("auto", "cs", "me")),
            ParamSpec("solver", "str", default="CVode", choices=("CVode", "Euler")),
            ParamSpec("step_size", "float", default=None, doc="Euler step (model exchange)"),
            ParamSpec("relative_tolerance", "float", default=None),
            ParamSpec(
                "posterior",
                "str",
                default="mean",
                choices=("mean", "draws"),
                doc="With a posterior: simulate its mean or n_draws draws",
            ),
            ParamSpec("n_draws", "int", default=20),
            _SEED,
            ParamSpec(
                "image", "str", default="twinflow/fmpy:bookworm", doc="Image on Docker/Batch"
            ),
        ),
        inputs=(
            PortSpec("fmu", "file", doc="The .fmu (its content hash is part of the cache key)"),
            PortSpec("inputs", "dataframe", required=False, doc="Input time series"),
            PortSpec("posterior", "posterior", required=False),
            PortSpec("design", "json", required=False, doc="Parameter sets (lhs_design)"),
        ),
        outputs=(PortSpec("results", "dataframe"), PortSpec("summary", "json")),
        target_kinds=(*PYTHON_TARGETS, "docker", "batch"),
        executor="twinflow_studio.twinstat.fmu:run_fmu",
        container="twinflow_studio.twinstat.fmu:container_task",
        tags=("deductive", "fmu"),
    )
)
