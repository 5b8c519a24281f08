"""Simulating an FMU with fmpy: the part of the ``fmu`` node that also runs in a container.

It imports only numpy, fmpy and the standard library (pandas only for a Parquet input),
because the Docker and Batch targets run this very file as a script::

    python3 fmu_run.py INPUTS_DIR OUTPUTS_DIR CONFIG_JSON

with the node's inputs at ``INPUTS_DIR/<port>`` (``fmu``, optional ``inputs`` table,
``posterior`` or ``design``) and its outputs written to ``OUTPUTS_DIR/results`` (CSV) and
``OUTPUTS_DIR/summary`` (JSON). Bad input raises :class:`FmuError` naming the field (exit 2
as a script). The model description is read from the archive's XML without loading its
binary; the binary is loaded only to simulate.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import weakref
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# A modelDescription.xml larger than this is not a model we simulate (zip bombs).
MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024
FMI_TYPES = {"cs": "CoSimulation", "me": "ModelExchange"}


class FmuError(ValueError):
    """Bad input to an FMU simulation; ``field`` names the parameter or port at fault."""

    def __init__(self, message: str, field: str) -> None:
        self.reason = message
        self.field = field
        super().__init__(f"field {field!r}: {message}")


# ---- model description ------------------------------------------------------------------


def read_description(fmu: Path, field: str = "fmu") -> Any:
    """fmpy's ModelDescription of ``fmu``, from the XML only (the binary is not touched)."""
    from fmpy import read_model_description

    try:
        with zipfile.ZipFile(fmu) as archive:
            info = archive.getinfo("modelDescription.xml")
            if info.file_size > MAX_DESCRIPTION_BYTES:
                raise FmuError("modelDescription.xml is implausibly large", field)
            xml = archive.read(info)
    except FmuError:
        raise
    except KeyError:
        raise FmuError(f"{Path(fmu).name} has no modelDescription.xml", field) from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise FmuError(f"{Path(fmu).name} is not an FMU (zip archive): {exc}", field) from exc
    import tempfile

    try:
        # fmpy reads a bare XML only from a file named *.xml; a file-like object is a zip.
        with tempfile.TemporaryDirectory(prefix="twinflow-md-") as tmp:
            path = Path(tmp) / "modelDescription.xml"
            path.write_bytes(xml)
            return read_model_description(str(path), validate=False)
    except Exception as exc:  # fmpy/lxml raise many types for a bad description
        raise FmuError(f"cannot read modelDescription.xml: {exc}", field) from exc


def describe(fmu: Path) -> dict[str, Any]:
    """What the studio shows of an FMU: version, interfaces, variables with causality/unit."""
    md = read_description(fmu)
    types = [t for t, part in (("cs", md.coSimulation), ("me", md.modelExchange)) if part]
    exp = md.defaultExperiment
    return {
        "fmi_version": md.fmiVersion,
        "model_name": md.modelName,
        "description": md.description or "",
        "fmi_types": types,
        "default_experiment": {
            "start_time": _number(exp.startTime) if exp else None,
            "stop_time": _number(exp.stopTime) if exp else None,
            "step_size": _number(exp.stepSize) if exp else None,
        },
        "variables": [
            {
                "name": v.name,
                "causality": v.causality,
                "variability": v.variability,
                "type": v.type,
                "unit": v.unit or (v.declaredType.unit if v.declaredType else None) or "",
                "start": v.start,
                "description": v.description or "",
            }
            for v in md.modelVariables
        ],
    }


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def check_names(description: dict[str, Any], config: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for every variable the configuration names that the FMU lacks."""
    variables = {v["name"]: v for v in description["variables"]}
    listing = ", ".join(sorted(variables)) or "none"
    name = description["model_name"]
    problems: list[tuple[str, str]] = []

    def unknown(field: str, var: str, role: str = "variable") -> None:
        problems.append((field, f"{var!r} is not a {role} of FMU {name!r}; it has {listing}"))

    for var in config.get("outputs") or []:
        if var not in variables:
            unknown("outputs", var)
    for var in config.get("start_values") or {}:
        if var not in variables:
            unknown("start_values", var)
        elif variables[var]["causality"] == "independent":
            problems.append(("start_values", f"{var!r} is the independent variable (time)"))
    for source, var in (config.get("parameter_map") or {}).items():
        if var not in variables:
            unknown(f"parameter_map.{source}", var)
    for var in config.get("input_columns") or {}:
        if var not in variables:
            unknown("input_columns", var)
        elif variables[var]["causality"] != "input":
            problems.append(("input_columns", f"{var!r} is not an input of FMU {name!r}"))
    fmi_type = config.get("fmi_type") or "auto"
    if fmi_type != "auto" and fmi_type not in description["fmi_types"]:
        problems.append(
            ("fmi_type", f"FMU {name!r} offers {description['fmi_types']}, not {fmi_type!r}")
        )
    return problems


# ---- simulation ---------------------------------------------------------------------------


@dataclass
class InputSignal:
    """Input time series: ``times`` (n,) and ``values`` (n, k) for the FMU inputs ``names``."""

    names: list[str]
    times: np.ndarray
    values: np.ndarray

    def structured(self) -> np.ndarray:
        dtype = [("time", np.float64)] + [(n, np.float64) for n in self.names]
        signal = np.zeros(len(self.times), dtype=dtype)
        signal["time"] = self.times
        for i, name in enumerate(self.names):
            signal[name] = self.values[:, i]
        return signal


class Simulator:
    """One extracted, instantiated FMU reused across many simulations (reset in between):
    calibration calls it thousands of times."""

    def __init__(self, fmu: Path, config: dict[str, Any]) -> None:
        import fmpy

        self.description = describe(fmu)
        problems = check_names(self.description, config)
        if problems:
            raise FmuError(problems[0][1], problems[0][0])
        self.md = read_description(fmu)
        self.config = config
        fmi_type = config.get("fmi_type") or "auto"
        types = self.description["fmi_types"]
        if not types:
            raise FmuError("the FMU offers neither co-simulation nor model exchange", "fmu")
        self.fmi_type = FMI_TYPES[types[0] if fmi_type == "auto" else fmi_type]
        self.outputs = list(config.get("outputs") or []) or [
            v["name"] for v in self.description["variables"] if v["causality"] == "output"
        ]
        if not self.outputs:
            raise FmuError("the FMU has no output variables; name the ones to record", "outputs")
        self.unzipdir = fmpy.extract(str(fmu))
        # The extracted copy goes with the simulator, even one nobody closed.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.unzipdir, True)
        self._instance: Any = None

    def _fmu(self) -> Any:
        from fmpy import instantiate_fmu

        if self._instance is None:
            self._instance = instantiate_fmu(self.unzipdir, self.md, fmi_type=self.fmi_type)
        else:
            self._instance.reset()
        return self._instance

    def run(
        self,
        start_values: dict[str, float],
        signal: InputSignal | None = None,
        grid: tuple[float | None, float | None, float | None] = (None, None, None),
        check_cancelled: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """One simulation; a structured array with ``time`` and the outputs.
        ``check_cancelled`` is asked after every step: what it raises stops the simulation
        and is raised again here."""
        from fmpy import simulate_fmu

        start, stop, interval = grid
        cfg = self.config
        stopped: list[BaseException] = []

        def step_finished(_time: float, _recorder: Any) -> bool:
            try:
                check_cancelled()  # type: ignore[misc]
            except Exception as exc:  # a cancelled task: stop fmpy's loop, raise it after
                stopped.append(exc)
                return False
            return True

        try:
            result = simulate_fmu(
                self.unzipdir,
                validate=False,
                start_time=start,
                stop_time=stop,
                output_interval=interval,
                fmi_type=self.fmi_type,
                solver=cfg.get("solver") or "CVode",
                step_size=cfg.get("step_size"),
                relative_tolerance=cfg.get("relative_tolerance"),
                start_values=dict(start_values),
                input=signal.structured() if signal is not None else None,
                output=self.outputs,
                model_description=self.md,
                fmu_instance=self._fmu(),
                step_finished=step_finished if check_cancelled is not None else None,
            )
        except FmuError:
            raise
        except Exception as exc:  # the FMU itself failed: say so, with fmpy's reason
            raise FmuError(f"simulation failed: {type(exc).__name__}: {exc}", "fmu") from exc
        if stopped:
            raise stopped[0]
        return result

    def close(self) -> None:
        if self._instance is not None:
            try:
                self._instance.freeInstance()
            finally:
                self._instance = None
        self._cleanup()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def time_grid(
    config: dict[str, Any], signal: InputSignal | None
) -> tuple[float | None, float | None, float | None]:
    """Start, stop and output interval: the node's, else the input series', else the FMU's
    default experiment (fmpy's choice when None)."""
    start, stop, step = (config.get(k) for k in ("start_time", "stop_time", "output_interval"))
    if signal is not None and len(signal.times) > 1:
        start = signal.times[0] if start is None else start
        stop = signal.times[-1] if stop is None else stop
        step = float(np.median(np.diff(signal.times))) if step is None else step
    return (
        None if start is None else float(start),
        None if stop is None else float(stop),
        None if step is None else float(step),
    )


def parameter_sets(config: dict[str, Any], named: list[dict[str, float]]) -> list[dict[str, float]]:
    """Start values of each simulation: the node's ``start_values`` updated by each set of
    the posterior or design, renamed through ``parameter_map``."""
    base = {str(k): float(v) for k, v in (config.get("start_values") or {}).items()}
    mapping = config.get("parameter_map") or {}
    if not named:
        return [base]
    return [{**base, **{mapping.get(k, k): float(v) for k, v in row.items()}} for row in named]


def simulate_table(
    fmu: Path,
    config: dict[str, Any],
    named_sets: list[dict[str, float]],
    signal: InputSignal | None,
    check_cancelled: Callable[[], None] | None = None,
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Every parameter set simulated: columns, rows (one block per set) and a summary."""
    sets = parameter_sets(config, named_sets)
    grid = time_grid(config, signal)
    blocks = []
    with Simulator(fmu, config) as sim:
        for i, values in enumerate(sets):
            if check_cancelled is not None:
                check_cancelled()
            result = sim.run(values, signal, grid, check_cancelled)
            block = np.column_stack([result[name] for name in ("time", *sim.outputs)])
            if len(sets) > 1:
                block = np.column_stack([np.full(len(block), float(i)), block])
            blocks.append(block)
        columns = (["set"] if len(sets) > 1 else []) + ["time", *sim.outputs]
        summary = {
            "model_name": sim.description["model_name"],
            "fmi_version": sim.description["fmi_version"],
            "fmi_type": sim.fmi_type,
            "outputs": sim.outputs,
            "n_simulations": len(sets),
            "parameter_sets": sets,
        }
    return columns, np.vstack(blocks), summary


def write_table(path: Path, columns: Sequence[str], rows: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(columns) + "\n")
        np.savetxt(handle, rows, delimiter=",", fmt="%.17g")
    return path


# ---- reading the node's inputs ------------------------------------------------------------


def read_table(path: Path, field: str) -> dict[str, np.ndarray]:
    """A CSV (or, with pandas, Parquet) table as numeric columns."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".parquet"))
        if not found:
            raise FmuError(f"folder {path.name} holds no .csv or .parquet file", field)
        path = found[-1]
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pandas as pd

            frame = pd.read_parquet(path)
            return {str(c): frame[c].to_numpy(dtype=float) for c in frame.columns}
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = [row for row in reader if row]
        data = np.array(rows, dtype=float).reshape(len(rows), len(header))
    except (OSError, ValueError, StopIteration, ImportError) as exc:
        raise FmuError(f"cannot read {path.name} as a numeric table: {exc}", field) from exc
    return {name: data[:, i] for i, name in enumerate(header)}


def input_signal(config: dict[str, Any], table: dict[str, np.ndarray]) -> InputSignal | None:
    time_column = config.get("time_column") or "time"
    if time_column not in table:
        raise FmuError(f"column {time_column!r} not in the inputs table", "time_column")
    mapping = dict(config.get("input_columns") or {})
    missing = [col for col in mapping.values() if col not in table]
    if missing:
        raise FmuError(f"column(s) {missing} not in the inputs table", "input_columns")
    if not mapping:
        return None
    times = table[time_column]
    if np.any(np.diff(times) < 0):
        raise FmuError(f"column {time_column!r} must not decrease", "time_column")
    names = list(mapping)
    return InputSignal(names, times, np.column_stack([table[mapping[n]] for n in names]))


def posterior_sets(path: Path, config: dict[str, Any]) -> list[dict[str, float]]:
    """The posterior's mean, or ``n_draws`` seeded draws; an inferred noise sigma is left out."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            samples = np.asarray(data["samples"], dtype=float)
    except (OSError, ValueError, KeyError) as exc:
        raise FmuError(f"not a posterior artifact: {exc}", "posterior") from exc
    names = list(meta.get("names") or [])
    inferred = (meta.get("meta") or {}).get("noise", {}).get("inferred") is True
    keep = [i for i, n in enumerate(names) if not (inferred and n == "sigma")]
    mode = config.get("posterior") or "mean"
    if mode == "mean":
        rows = samples.mean(axis=0, keepdims=True)
    elif mode == "draws":
        n = int(config.get("n_draws") or 20)
        rng = np.random.default_rng(int(config.get("seed") or 0))
        rows = samples[rng.choice(len(samples), size=min(n, len(samples)), replace=False)]
    else:
        raise FmuError(f"use 'mean' or 'draws', not {mode!r}", "posterior")
    return [{names[i]: float(row[i]) for i in keep} for row in rows]


def design_sets(design: Any) -> list[dict[str, float]]:
    names = None
    if isinstance(design, dict):
        names, design = design.get("names"), design.get("sets")
    if not isinstance(design, list) or not design or not all(isinstance(d, dict) for d in design):
        raise FmuError("the design must be a non-empty list of parameter dicts", "design")
    names = names or list(design[0])
    try:
        return [{n: float(d[n]) for n in names} for d in design]
    except (KeyError, TypeError, ValueError) as exc:
        raise FmuError(f"bad design set: {exc}", "design") from exc


def run_node(
    inputs: dict[str, Path],
    output_dir: Path,
    config: dict[str, Any],
    check_cancelled: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The whole node: read the inputs, simulate, write ``results`` and return the summary."""
    if "fmu" not in inputs:
        raise FmuError("input is not connected", "fmu")
    # Validate the names against the model description before reading or running anything.
    problems = check_names(describe(inputs["fmu"]), config)
    if problems:
        raise FmuError(problems[0][1], problems[0][0])
    signal = None
    if "inputs" in inputs:
        signal = input_signal(config, read_table(inputs["inputs"], "inputs"))
    elif config.get("input_columns"):
        raise FmuError("connect a table to the 'inputs' port", "input_columns")
    named: list[dict[str, float]] = []
    if "posterior" in inputs and "design" in inputs:
        raise FmuError("connect a posterior or a design, not both", "design")
    if "posterior" in inputs:
        named = posterior_sets(inputs["posterior"], config)
    elif "design" in inputs:
        try:
            design = json.loads(Path(inputs["design"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FmuError(f"cannot read JSON: {exc}", "design") from exc
        named = design_sets(design)
    columns, rows, summary = simulate_table(inputs["fmu"], config, named, signal, check_cancelled)
    write_table(output_dir / "results.csv", columns, rows)
    summary["rows"] = int(len(rows))
    return summary


def main(argv: Sequence[str]) -> int:
    """Container entry point: ``INPUTS_DIR OUTPUTS_DIR CONFIG_JSON``."""
    if len(argv) != 3:
        sys.stderr.write("usage: fmu_run.py INPUTS_DIR OUTPUTS_DIR CONFIG_JSON\n")
        return 2
    inputs_dir, outputs_dir = Path(argv[0]), Path(argv[1])
    config = json.loads(argv[2])
    inputs = {p.name: p for p in inputs_dir.iterdir()} if inputs_dir.is_dir() else {}
    work = outputs_dir / ".work"
    try:
        summary = run_node(inputs, work, config)
    except FmuError as exc:
        sys.stderr.write(f"fmu: {exc}\n")
        return 2
    (work / "results.csv").replace(outputs_dir / "results")
    work.rmdir()
    (outputs_dir / "summary").write_text(json.dumps(summary, sort_keys=True), encoding="utf-8")
    print(f"fmu: {summary['n_simulations']} simulation(s), {summary['rows']} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
