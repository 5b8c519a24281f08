"""The ``fmu`` node and FMUs as the ``f(theta, x)`` of calibration and filters.

The simulation itself lives in :mod:`fmu_run` (numpy + fmpy only) so that the Docker and
Batch targets run the same code in a container; this module adds what needs the studio:
the executor, the container adapter, and the callable wrapper.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twinflow_studio.engine.task import InputArtifact, TaskContext
from twinflow_studio.twinstat import fmu_run
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.fmu_run import FmuError, InputSignal, Simulator

DEFAULT_IMAGE = "twinflow/fmpy:bookworm"
RUNNER_PORT = "_fmu_runner"
_NUMBER_KEYS = ("start_time", "stop_time", "output_interval", "step_size", "relative_tolerance")
_CHOICES = {
    "fmi_type": ("auto", "cs", "me"),
    "solver": ("CVode", "Euler"),
    "posterior": ("mean", "draws"),
}


def node_config(params: dict[str, Any]) -> dict[str, Any]:
    """The simulation settings of a node's params, type-checked (TwinStatError names the field)."""
    config: dict[str, Any] = {}
    outputs = params.get("outputs") or []
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise TwinStatError("must be a list of variable names", field="outputs")
    config["outputs"] = outputs
    for key in ("start_values", "parameter_map", "input_columns"):
        value = params.get(key) or {}
        if not isinstance(value, dict):
            raise TwinStatError("must be a mapping", field=key)
        config[key] = value
    for name, value in config["start_values"].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TwinStatError(f"{name!r} must be a number, got {value!r}", field="start_values")
    for key in ("parameter_map", "input_columns"):
        for name, value in config[key].items():
            if not isinstance(value, str):
                raise TwinStatError(f"{name!r} must map to a name, got {value!r}", field=key)
    for key in _NUMBER_KEYS:
        value = params.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TwinStatError(f"must be a number, got {value!r}", field=key)
        config[key] = value
    if config["output_interval"] is not None and config["output_interval"] <= 0:
        raise TwinStatError("must be > 0", field="output_interval")
    for key, choices in _CHOICES.items():
        value = params.get(key) or choices[0]
        if value not in choices:
            raise TwinStatError(f"must be one of {list(choices)}, got {value!r}", field=key)
        config[key] = value
    config["time_column"] = str(params.get("time_column") or "time")
    n_draws = params.get("n_draws", 20)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise TwinStatError(f"must be an integer >= 1, got {n_draws!r}", field="n_draws")
    config["n_draws"] = n_draws
    config["seed"] = int(params.get("seed") or 0)
    return config


def _twinstat_error(exc: FmuError) -> TwinStatError:
    return TwinStatError(exc.reason, field=exc.field)


def run_fmu(ctx: TaskContext) -> dict[str, Any]:
    """Executor of the ``fmu`` kind on the in-process target."""
    try:
        config = node_config(ctx.params)
        summary = fmu_run.run_node(
            {port: art.path for port, art in ctx.inputs.items()},
            ctx.output_dir,
            config,
            ctx.check_cancelled,
        )
    except FmuError as exc:
        raise _twinstat_error(exc).at_node(ctx.node_id) from exc
    except TwinStatError as exc:
        raise exc.at_node(ctx.node_id) from exc
    ctx.metrics["n_simulations"] = summary["n_simulations"]
    ctx.log(
        f"simulated {summary['model_name']} ({summary['fmi_type']}, FMI "
        f"{summary['fmi_version']}): {summary['n_simulations']} run(s), {summary['rows']} rows"
    )
    return {"results": ctx.output_dir / "results.csv", "summary": summary}


# ---- in a container ---------------------------------------------------------------------


def runner_artifact() -> InputArtifact:
    """``fmu_run.py`` as an input the container mounts (Docker) or fetches (Batch): its
    content hash is part of the node's code identity."""
    from twinflow_studio.project.hashing import hash_file

    path = Path(fmu_run.__file__)
    return InputArtifact(port=RUNNER_PORT, type="file", path=path, sha256=hash_file(path))


def container_task(params: dict[str, Any], inputs_dir: str, outputs_dir: str) -> dict[str, Any]:
    """What a container target runs for an ``fmu`` node: image, command and extra inputs."""
    try:
        config = node_config(params)
    except TwinStatError as exc:
        from twinflow_studio.engine.errors import TaskFailed

        raise TaskFailed(str(exc), retryable=False) from exc
    import json

    runner = runner_artifact()
    return {
        "image": str(params.get("image") or DEFAULT_IMAGE),
        "command": [
            "python3",
            f"{inputs_dir}/{RUNNER_PORT}",
            inputs_dir,
            outputs_dir,
            json.dumps(config, sort_keys=True),
        ],
        "inputs": {RUNNER_PORT: runner},
        "code": runner.sha256,
    }


# ---- f(theta, x) ------------------------------------------------------------------------


class FmuModel:
    """An FMU as ``f(theta, x)``: ``theta`` sets the FMU variables ``parameters`` (in order);
    ``x`` is the observation times, or a table whose first column is time and whose other
    columns feed the FMU ``inputs`` (in order). Returns ``output`` at those times.

    The FMU is extracted and instantiated once and reset between calls; one model serves
    one thread at a time (a lock guards it)."""

    vectorized = False

    def __init__(
        self,
        fmu: Path | str,
        parameters: Sequence[str],
        output: str,
        inputs: Sequence[str] = (),
        **options: Any,
    ) -> None:
        if not parameters:
            raise TwinStatError("name the FMU variables theta sets", field="fmu.parameters")
        self.parameters = list(parameters)
        self.output = output
        self.inputs = list(inputs)
        config = _model_config(self.parameters, output, self.inputs, options)
        try:
            problems = model_problems(fmu_run.describe(Path(fmu)), config, self.parameters)
            if problems:
                raise TwinStatError(problems[0][1], field=problems[0][0])
            config["start_values"] = {
                k: v for k, v in config["start_values"].items() if k not in self.parameters
            }
            self._sim = Simulator(Path(fmu), config)
        except FmuError as exc:
            raise _twinstat_error(exc) from exc
        self._config = config
        self._lock = threading.Lock()

    def __call__(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 2:
            return np.vstack([self(row, x) for row in theta])
        x = np.asarray(x, dtype=float)
        table = x.reshape(len(x), -1)
        times = table[:, 0]
        if table.shape[1] - 1 != len(self.inputs):
            raise TwinStatError(
                f"x has {table.shape[1] - 1} input column(s) after time; the FMU model takes "
                f"{self.inputs}",
                field="x_columns",
            )
        order = np.argsort(times, kind="stable")
        sorted_times = times[order]
        signal = InputSignal(self.inputs, sorted_times, table[order, 1:]) if self.inputs else None
        unique = np.unique(sorted_times)
        step = self._config.get("output_interval") or (
            float(np.min(np.diff(unique))) if len(unique) > 1 else None
        )
        grid = (self._config.get("start_time"), float(unique[-1]), step)
        values = dict(zip(self.parameters, map(float, theta.reshape(-1)), strict=True))
        with self._lock:
            try:
                result = self._sim.run({**self._config["start_values"], **values}, signal, grid)
            except FmuError as exc:
                raise _twinstat_error(exc) from exc
        return np.interp(times, result["time"], result[self.output])

    def close(self) -> None:
        self._sim.close()


def _model_config(
    parameters: Sequence[str], output: str, inputs: Sequence[str], options: dict[str, Any]
) -> dict[str, Any]:
    config = node_config(options)
    config["outputs"] = [output]
    config["start_values"] = {**config["start_values"], **{p: 0.0 for p in parameters}}
    config["input_columns"] = {name: name for name in inputs}
    return config


def model_problems(
    description: dict[str, Any], config: dict[str, Any], parameters: Sequence[str]
) -> list[tuple[str, str]]:
    """check_names for an FMU used as f(theta, x), with the fields of the ``fmu`` spec."""
    out = []
    for field, message in fmu_run.check_names(description, config):
        if field == "start_values":
            named = message.split("'")[1] if "'" in message else ""
            field = "fmu.parameters" if named in parameters else "fmu.start_values"
        else:
            field = {"outputs": "fmu.output", "input_columns": "fmu.inputs"}.get(
                field, f"fmu.{field}"
            )
        out.append((field, message))
    return out


_MODELS: dict[tuple[Any, ...], FmuModel] = {}
_MODELS_LOCK = threading.Lock()


def simulate(
    theta: np.ndarray,
    x: np.ndarray,
    *,
    fmu: Path | str,
    parameters: Sequence[str],
    output: str,
    inputs: Sequence[str] = (),
    **options: Any,
) -> np.ndarray:
    """``f(theta, x)`` over an FMU, for ``functools.partial`` in a user module. The extracted
    FMU is kept per file version (path, size, mtime) and settings."""
    path = Path(fmu)
    stat = path.stat()
    key = (
        str(path.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        tuple(parameters),
        output,
        tuple(inputs),
        repr(sorted(options.items())),
    )
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = FmuModel(path, parameters, output, inputs, **options)
    return model(theta, x)


simulate.vectorized = False  # type: ignore[attr-defined]


def calibration_model(artifact: InputArtifact, spec: Any, prior_names: Sequence[str]) -> FmuModel:
    """The calibration node's model when an FMU is connected: ``spec`` is its ``fmu`` param,
    ``{"output": var, "parameters": [...] (default: the priors' names), "inputs": [...]}``
    plus any simulation setting of the fmu node."""
    if not isinstance(spec, dict) or not isinstance(spec.get("output"), str):
        raise TwinStatError(
            "give {'output': variable, 'parameters': [...], 'inputs': [...]}", field="fmu"
        )
    options = {k: v for k, v in spec.items() if k not in ("output", "parameters", "inputs")}
    parameters = spec.get("parameters") or list(prior_names)
    if len(parameters) != len(prior_names):
        raise TwinStatError(
            f"{len(parameters)} FMU parameter(s) for {len(prior_names)} prior(s)",
            field="fmu.parameters",
        )
    return FmuModel(artifact.path, parameters, spec["output"], spec.get("inputs") or (), **options)


# ---- what the studio shows ----------------------------------------------------------------


def node_fmu_file(project: Any, node_id: str, project_dir: Path | None) -> Path | None:
    """The FMU file an ``fmu`` node (or a calibration) is wired to: the local path of the data
    source feeding its ``fmu`` port, if it lies inside the project folder (an opened project
    is untrusted: nothing outside its folder is read to show it)."""
    if project_dir is None:
        return None
    for edge in project.incoming(node_id):
        if edge.target_port != "fmu":
            continue
        source = project.nodes.get(edge.source)
        location = str(source.params.get("path") or "") if source is not None else ""
        if not source or source.kind != "datasource" or not location or "://" in location:
            return None
        root = Path(project_dir).resolve()
        path = (root / location).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None
    return None


def fmu_overview(
    project: Any, node_id: str, project_dir: Path | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """(description, problems) of a node's FMU for the properties panel; reads only the XML.
    The problems name the parameter at fault, as a run would."""
    path = node_fmu_file(project, node_id, project_dir)
    if path is None:
        return None, []
    stat = path.stat()
    try:
        info = _describe_cached(str(path), stat.st_size, stat.st_mtime_ns)
    except FmuError as exc:
        return None, [f"{exc.field}: {exc.reason}"]
    node = project.nodes[node_id]
    try:
        if node.kind == "fmu":
            found = fmu_run.check_names(info, node_config(node.params))
        else:  # a calibration: its 'fmu' spec names the output, parameters and inputs
            spec = node.params.get("fmu") or {}
            if not isinstance(spec, dict) or not isinstance(spec.get("output"), str):
                return info, ["fmu: give {'output': variable, 'parameters': [...], ...}"]
            names = [p.get("name") for p in node.params.get("priors") or [] if isinstance(p, dict)]
            parameters = list(spec.get("parameters") or names)
            options = {k: v for k, v in spec.items() if k not in ("output", "parameters", "inputs")}
            config = _model_config(parameters, spec["output"], spec.get("inputs") or [], options)
            found = model_problems(info, config, parameters)
    except TwinStatError as exc:
        return info, [f"{exc.field}: {exc.reason}"]
    return info, [f"{field}: {message}" for field, message in found]


@functools.lru_cache(maxsize=16)
def _describe_cached(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    """The panel asks on every keystroke; the file's size and mtime key its version."""
    return fmu_run.describe(Path(path))
