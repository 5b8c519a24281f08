"""Build a small FMI 2.0 FMU (model exchange + co-simulation) from an ODE written in C.

For tests, examples and benchmarks: FMUs are built locally with gcc against the FMI headers
that fmpy ships, never downloaded. The model is a list of real variables and the C body of
``model_update(t, r)``, which computes every derivative (and any other output) from the
states, inputs and parameters; each variable is a C macro of its name (``der(x)`` is
``der_x``). The archive is reproducible: the same sources give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from twinflow_studio.twinstat.errors import TwinStatError

_TEMPLATES = {
    "2.0": Path(__file__).with_name("fmu_c") / "fmi2_model.c",
    "3.0": Path(__file__).with_name("fmu_c") / "fmi3_model.c",
}
# What both wrappers do alike (states, derivatives, the RK4 co-simulation step).
ODE_CORE = Path(__file__).with_name("fmu_c") / "ode_core.h"
_BINARY_DIRS = {"2.0": "binaries/linux64", "3.0": "binaries/x86_64-linux"}
_CAUSALITIES = ("parameter", "input", "output", "local")
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Variable:
    """A real variable. ``derivative_of`` makes it the derivative of that state (the state
    must have a start value; states are outputs or locals)."""

    name: str
    causality: str = "local"
    start: float | None = None
    unit: str = ""
    description: str = ""
    derivative_of: str | None = None


def c_name(name: str) -> str:
    """The C macro a variable goes by in the model code: ``der(x)`` -> ``der_x``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")


def build_fmu(
    path: Path,
    model_name: str,
    variables: Sequence[Variable],
    equations: str,
    *,
    description: str = "",
    max_substep: float = 1e-3,
    default_experiment: tuple[float, float, float] = (0.0, 10.0, 0.01),
    fmi_version: str = "2.0",
) -> Path:
    """Compile ``equations`` into ``path`` (an FMI ``fmi_version`` .fmu); returns ``path``."""
    if fmi_version not in _TEMPLATES:
        raise TwinStatError(f"use one of {sorted(_TEMPLATES)}", field="fmi_version")
    template = _TEMPLATES[fmi_version]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", model_name):
        raise TwinStatError("must be a C identifier", field="model_name")
    names = [v.name for v in variables]
    if len(set(names)) != len(names) or len({c_name(n) for n in names}) != len(names):
        raise TwinStatError("variable names must be unique (also as C names)", field="variables")
    for var in variables:
        if var.causality not in _CAUSALITIES:
            raise TwinStatError(
                f"{var.name}: unknown causality {var.causality!r}", field="variables"
            )
    index = {v.name: i for i, v in enumerate(variables)}
    derivs = [v for v in variables if v.derivative_of]
    for der in derivs:
        state = variables[index.get(der.derivative_of, -1)] if der.derivative_of in index else None
        if state is None or state.start is None:
            raise TwinStatError(
                f"{der.name}: state {der.derivative_of!r} is missing or has no start",
                field="variables",
            )
    header = _header(model_name, variables, index, derivs, equations, max_substep)
    guid = "{" + hashlib.sha256(header.encode()).hexdigest()[:32] + "}"
    header = header.replace("@GUID@", guid)
    describe = _model_description if fmi_version == "2.0" else _model_description3
    xml = describe(model_name, guid, variables, index, derivs, description, default_experiment)
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise TwinStatError("no C compiler (gcc) on PATH; apt-get install -y gcc", field="gcc")
    import fmpy

    headers = Path(fmpy.__file__).parent / "c-code"
    with tempfile.TemporaryDirectory(prefix="twinflow-fmu-") as tmp:
        work = Path(tmp)
        (work / "model.h").write_text(header, encoding="utf-8")
        shutil.copy(template, work / "model.c")
        shutil.copy(ODE_CORE, work / "ode_core.h")
        sources = [str(work / "model.c")]
        if fmi_version == "3.0":
            (work / "stubs.c").write_text(_fmi3_stubs(headers, template), encoding="utf-8")
            sources.append(str(work / "stubs.c"))
        binary = work / f"{model_name}.so"
        done = subprocess.run(
            [
                gcc,
                "-shared",
                "-fPIC",
                "-O2",
                "-I",
                str(work),
                "-I",
                str(headers),
                *sources,
                "-o",
                str(binary),
                "-lm",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise TwinStatError(f"gcc failed:\n{done.stderr[-2000:]}", field="equations")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in (
                ("modelDescription.xml", xml.encode("utf-8")),
                (f"{_BINARY_DIRS[fmi_version]}/{model_name}.so", binary.read_bytes()),
                ("sources/model.h", header.encode("utf-8")),
                ("sources/model.c", template.read_bytes()),
                ("sources/ode_core.h", ODE_CORE.read_bytes()),
            ):
                info = zipfile.ZipInfo(member, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        partial.replace(path)
    return path


def _header(
    model_name: str,
    variables: Sequence[Variable],
    index: dict[str, int],
    derivs: Sequence[Variable],
    equations: str,
    max_substep: float,
) -> str:
    starts = ", ".join(repr(float(v.start)) if v.start is not None else "0.0" for v in variables)
    states = ", ".join(str(index[d.derivative_of or ""]) for d in derivs) or "0"
    ders = ", ".join(str(index[d.name]) for d in derivs) or "0"
    macros = "\n".join(f"#define {c_name(v.name)} (r[{i}])" for i, v in enumerate(variables))
    undefs = "\n".join(f"#undef {c_name(v.name)}" for v in variables)
    return f"""/* generated by twinflow_studio.twinstat.fmu_build for {model_name} */
#define MODEL_GUID "@GUID@"
#define N_REALS {len(variables)}
#define N_STATES {len(derivs)}
#define TIME_VR {len(variables)}
#define MAX_SUBSTEP {float(max_substep)!r}
static const double START[N_REALS] = {{{starts}}};
static const int STATE_VR[] = {{{states}}};
static const int DER_VR[] = {{{ders}}};
{macros}
static void model_update(double t, double *r) {{
    (void)t;
{equations}
}}
{undefs}
"""


def _variable_attrs(i: int, var: Variable, states: set[str | None]) -> list[str]:
    """The attributes FMI 2.0's ScalarVariable and 3.0's Float64 share."""
    attrs = [f"name={quoteattr(var.name)}", f'valueReference="{i}"']
    if var.description:
        attrs.append(f"description={quoteattr(var.description)}")
    attrs.append(f'causality="{var.causality}"')
    if var.causality == "parameter":
        attrs += ['variability="fixed"', 'initial="exact"']
    else:
        attrs.append('variability="continuous"')
        if var.name in states:
            attrs.append('initial="exact"')
        elif var.causality == "output":
            attrs.append('initial="calculated"')
    return attrs


def _has_start(var: Variable, states: set[str | None]) -> bool:
    return var.start is not None and (var.causality in ("parameter", "input") or var.name in states)


def _unit_definitions(variables: Sequence[Variable]) -> str:
    units = sorted({v.unit for v in variables if v.unit})
    if not units:
        return ""
    rows = "\n".join(f"    <Unit name={quoteattr(u)}/>" for u in units)
    return f"  <UnitDefinitions>\n{rows}\n  </UnitDefinitions>\n"


def _model_description(
    model_name: str,
    guid: str,
    variables: Sequence[Variable],
    index: dict[str, int],
    derivs: Sequence[Variable],
    description: str,
    experiment: tuple[float, float, float],
) -> str:
    states = {d.derivative_of for d in derivs}
    rows = []
    for i, var in enumerate(variables):
        attrs = _variable_attrs(i, var, states)
        real = []
        if var.unit:
            real.append(f"unit={quoteattr(var.unit)}")
        if var.derivative_of:
            real.append(f'derivative="{index[var.derivative_of] + 1}"')
        if _has_start(var, states):
            real.append(f'start="{float(var.start)!r}"')  # type: ignore[arg-type]
        rows.append(
            f"    <ScalarVariable {' '.join(attrs)}>\n      <Real {' '.join(real)}/>\n"
            "    </ScalarVariable>"
        )
    outputs = [i + 1 for i, v in enumerate(variables) if v.causality == "output"]
    der_rows = [index[d.name] + 1 for d in derivs]
    unit_defs = _unit_definitions(variables)
    start, stop, step = experiment
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName={quoteattr(model_name)} guid="{guid}"
  description={quoteattr(description)} generationTool="twinflow_studio.twinstat.fmu_build"
  numberOfEventIndicators="0">
  <ModelExchange modelIdentifier="{model_name}"/>
  <CoSimulation modelIdentifier="{model_name}" canHandleVariableCommunicationStepSize="true"/>
{unit_defs}  <DefaultExperiment startTime="{start!r}" stopTime="{stop!r}" stepSize="{step!r}"/>
  <ModelVariables>
{chr(10).join(rows)}
  </ModelVariables>
  <ModelStructure>
    <Outputs>
{chr(10).join(f'      <Unknown index="{i}"/>' for i in outputs)}
    </Outputs>
    <Derivatives>
{chr(10).join(f'      <Unknown index="{i}"/>' for i in der_rows)}
    </Derivatives>
  </ModelStructure>
</fmiModelDescription>
"""


def _model_description3(
    model_name: str,
    guid: str,
    variables: Sequence[Variable],
    index: dict[str, int],
    derivs: Sequence[Variable],
    description: str,
    experiment: tuple[float, float, float],
) -> str:
    """FMI 3.0: Float64 variables (value reference = position), time last."""
    states = {d.derivative_of for d in derivs}
    rows = []
    for i, var in enumerate(variables):
        attrs = _variable_attrs(i, var, states)
        if var.unit:
            attrs.append(f"unit={quoteattr(var.unit)}")
        if var.derivative_of:
            attrs.append(f'derivative="{index[var.derivative_of]}"')
        if _has_start(var, states):
            attrs.append(f'start="{float(var.start)!r}"')  # type: ignore[arg-type]
        rows.append(f"    <Float64 {' '.join(attrs)}/>")
    rows.append(
        f'    <Float64 name="time" valueReference="{len(variables)}" causality="independent" '
        'variability="continuous"/>'
    )
    structure = [
        f'    <Output valueReference="{i}"/>'
        for i, v in enumerate(variables)
        if v.causality == "output"
    ]
    structure += [
        f'    <ContinuousStateDerivative valueReference="{index[d.name]}"/>' for d in derivs
    ]
    structure += [f'    <InitialUnknown valueReference="{index[d.name]}"/>' for d in derivs]
    unit_defs = _unit_definitions(variables)
    start, stop, step = experiment
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName={quoteattr(model_name)}
  instantiationToken="{guid}" description={quoteattr(description)}
  generationTool="twinflow_studio.twinstat.fmu_build">
  <ModelExchange modelIdentifier="{model_name}"/>
  <CoSimulation modelIdentifier="{model_name}" canHandleVariableCommunicationStepSize="true"
    canReturnEarlyAfterIntermediateUpdate="false" providesIntermediateUpdate="false"/>
{unit_defs}  <DefaultExperiment startTime="{start!r}" stopTime="{stop!r}" stepSize="{step!r}"/>
  <ModelVariables>
{chr(10).join(rows)}
  </ModelVariables>
  <ModelStructure>
{chr(10).join(structure)}
  </ModelStructure>
</fmiModelDescription>
"""


def _fmi3_stubs(headers: Path, template: Path) -> str:
    """fmpy binds every FMI 3.0 function when it loads the library: the ones the wrapper does
    not offer (other types, clocks, FMU states) exist and return fmi3Error. Compiled apart
    from the FMI headers, so one signature serves them all (their arguments are unused)."""
    header = (headers / "fmi3Functions.h").read_text(encoding="utf-8")
    declared = re.findall(r"#define (fmi3\w+)\s+fmi3FullName\(", header)
    defined = set(re.findall(r"^\S.*?\b(fmi3\w+)\(", template.read_text(), re.MULTILINE))
    lines = ["/* FMI 3.0 functions this FMU does not offer: they fail (fmi3Error = 3). */"]
    lines += [
        f'__attribute__((visibility("default"))) int {name}(void) {{ return 3; }}'
        for name in declared
        if name not in defined
    ]
    return "\n".join(lines) + "\n"
